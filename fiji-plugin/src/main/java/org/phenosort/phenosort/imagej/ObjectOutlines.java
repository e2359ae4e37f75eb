package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.Roi;
import ij.plugin.filter.ThresholdToSelection;
import ij.process.ByteProcessor;
import ij.process.ImageProcessor;
import java.awt.Rectangle;
import java.util.ArrayList;
import java.util.List;

/**
 * The outline of one object of a label image as area ROIs, one per slice it occupies. Only its
 * bounding box is scanned (from {@link ObjectGeometry}), so outlining is cheap per object.
 */
public final class ObjectOutlines {
    private ObjectOutlines() {}

    /**
     * Outlines of object {@code g.label} in frame {@code frame} (1-based): one ROI per slice, with
     * the stack position of that slice set when {@code image} (the displayed image) is a stack.
     */
    public static List<Roi> outline(ImagePlus labels, ImagePlus image, ObjectGeometry g, int frame) {
        List<Roi> out = new ArrayList<>();
        for (int z = g.minZ; z <= g.maxZ; z++) {
            Roi roi = onSlice(labels, g, z, frame);
            if (roi == null) continue;
            setPosition(roi, image, z, frame);
            out.add(roi);
        }
        return out;
    }

    /** The outline of object {@code g.label} on slice z (0-based), or null when it has no pixel there. */
    public static Roi onSlice(ImagePlus labels, ObjectGeometry g, int z, int frame) {
        ImageProcessor ip = labels.getStack().getProcessor(labels.getStackIndex(1, z + 1, frame));
        int w = g.maxX - g.minX + 1, h = g.maxY - g.minY + 1;
        ByteProcessor mask = new ByteProcessor(w, h);
        boolean any = false;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (LabelImages.label(ip, g.minX + x, g.minY + y) == g.label) {
                    mask.set(x, y, 255);
                    any = true;
                }
            }
        }
        if (!any) return null;
        mask.setThreshold(255, 255, ImageProcessor.NO_LUT_UPDATE);
        Roi roi = new ThresholdToSelection().convert(mask);
        if (roi == null) return null;
        Rectangle b = roi.getBounds();
        roi.setLocation(b.x + g.minX, b.y + g.minY);
        return roi;
    }

    /** Puts an overlay ROI on slice z (0-based) and frame of {@code image}; nothing for 2D images. */
    static void setPosition(Roi roi, ImagePlus image, int z, int frame) {
        if (image == null || image.getStackSize() == 1) return;
        if (image.isHyperStack() || image.getNChannels() > 1 || image.getNFrames() > 1) {
            roi.setPosition(0, image.getNSlices() > 1 ? z + 1 : 0, image.getNFrames() > 1 ? frame : 0);
        } else {
            roi.setPosition(z + 1);
        }
    }

    /**
     * The pixel of the object nearest its centroid, as {x, y, z}: a point that always lies on the
     * object, even for a ring or a crescent whose centroid is outside it.
     */
    public static int[] innerPoint(ImagePlus labels, ObjectGeometry g, int frame) {
        double cx = g.centroidX(), cy = g.centroidY(), cz = g.centroidZ();
        int[] best = null;
        double bestD = Double.MAX_VALUE;
        for (int z = g.minZ; z <= g.maxZ; z++) {
            ImageProcessor ip = labels.getStack().getProcessor(labels.getStackIndex(1, z + 1, frame));
            for (int y = g.minY; y <= g.maxY; y++) {
                for (int x = g.minX; x <= g.maxX; x++) {
                    if (LabelImages.label(ip, x, y) != g.label) continue;
                    double d = (x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz);
                    if (d < bestD) {
                        bestD = d;
                        best = new int[] {x, y, z};
                    }
                }
            }
        }
        return best;
    }
}
