package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.ImageCanvas;
import java.awt.Dimension;
import java.awt.Rectangle;

/** Brings an object into view: its slice, then the canvas centred (and zoomed in) on it. */
public final class ObjectView {
    private ObjectView() {}

    /** Shows slice {@code z} (0-based) and centres the view on the object, zooming so it fills ~1/4 of the view. */
    public static void show(ImagePlus image, ObjectGeometry g, int z) {
        if (image.getNSlices() > 1) image.setPosition(image.getC(), z + 1, image.getT());
        ImageCanvas ic = image.getCanvas();
        if (ic == null) return;
        Dimension view = ic.getSize();
        if (view.width <= 0 || view.height <= 0) return;
        double size = Math.max(g.maxX - g.minX + 1, g.maxY - g.minY + 1);
        // zoom in until the object is about a quarter of the view, never out, at most 8x
        double want = Math.min(view.width, view.height) / 4.0 / size;
        double mag = Math.min(8, Math.max(ic.getMagnification(), ImageCanvas.getLowerZoomLevel(want * 1.0001)));
        int w = Math.min(image.getWidth(), (int) Math.ceil(view.width / mag));
        int h = Math.min(image.getHeight(), (int) Math.ceil(view.height / mag));
        int x = (int) Math.round((g.minX + g.maxX + 1) / 2.0 - w / 2.0);
        int y = (int) Math.round((g.minY + g.maxY + 1) / 2.0 - h / 2.0);
        x = Math.max(0, Math.min(image.getWidth() - w, x));
        y = Math.max(0, Math.min(image.getHeight() - h, y));
        ic.setMagnification(mag);
        ic.setSourceRect(new Rectangle(x, y, w, h));
        ic.repaint();
    }
}
