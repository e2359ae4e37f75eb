package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.ImageStack;
import ij.WindowManager;
import ij.gui.ImageCanvas;
import ij.gui.ImageWindow;
import ij.gui.Roi;
import ij.process.ColorProcessor;
import java.awt.EventQueue;
import java.awt.event.KeyAdapter;
import java.awt.event.KeyEvent;
import java.awt.event.MouseAdapter;
import java.awt.event.MouseEvent;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.phenosort.phenosort.proto.v1.GalleryMontage;

/**
 * A class gallery as an ImageJ RGB stack (slice k = montage k, padded white to one size), and
 * what a click on a tile does: it selects that object in the source image (an outline
 * selection, or the current object of a running Annotate Objects session, so 1-9 set its class)
 * and brings the source image to the front.
 */
public final class GalleryWindow {
    /** Property of the gallery ImagePlus holding its {@link GalleryWindow}. */
    public static final String PROPERTY = "PhenoSort.gallery";

    public final ImagePlus gallery;
    public final GalleryTiles tiles;
    private final ImagePlus image;
    private final ImagePlus labels;
    private final int frame;
    private final Map<Long, ObjectGeometry> geometry = new HashMap<>();

    private GalleryWindow(ImagePlus gallery, GalleryTiles tiles, ImagePlus image, ImagePlus labels, int frame) {
        this.gallery = gallery;
        this.tiles = tiles;
        this.image = image;
        this.labels = labels;
        this.frame = frame;
    }

    /** The gallery stack of {@code montages} of frame {@code frame} (1-based) of {@code image}; not shown yet. */
    public static GalleryWindow of(List<GalleryMontage> montages, ImagePlus image, ImagePlus labels, int frame,
            String title) {
        int w = 1, h = 1;
        ColorProcessor[] slices = new ColorProcessor[montages.size()];
        for (int i = 0; i < slices.length; i++) {
            slices[i] = decode(montages.get(i).getPng().toByteArray());
            w = Math.max(w, slices[i].getWidth());
            h = Math.max(h, slices[i].getHeight());
        }
        ImageStack stack = new ImageStack(w, h);
        for (int i = 0; i < slices.length; i++) {
            ColorProcessor page = new ColorProcessor(w, h);
            page.setColor(java.awt.Color.WHITE);
            page.fill();
            page.insert(slices[i], 0, 0);  // boxes stay in the montage's own pixels
            GalleryMontage m = montages.get(i);
            stack.addSlice(m.getTitle().isEmpty() ? m.getName() : m.getTitle(), page);
        }
        if (slices.length == 0) stack.addSlice("no montages", new ColorProcessor(w, h));
        ImagePlus imp = new ImagePlus(title, stack);
        GalleryWindow g = new GalleryWindow(imp, GalleryTiles.of(montages), image, labels, frame);
        imp.setProperty(PROPERTY, g);
        return g;
    }

    /** The gallery of an ImagePlus made by {@link #of}, or null. */
    public static GalleryWindow of(ImagePlus gallery) {
        Object g = gallery == null ? null : gallery.getProperty(PROPERTY);
        return g instanceof GalleryWindow ? (GalleryWindow) g : null;
    }

    /** Shows the stack and makes a click on a tile select its object. */
    public void show() {
        gallery.show();
        ImageWindow win = gallery.getWindow();
        if (win == null) return;  // batch mode: select(...) still works
        ImageCanvas canvas = win.getCanvas();
        canvas.addMouseListener(new MouseAdapter() {
            @Override
            public void mouseClicked(MouseEvent e) {
                if (e.getButton() != MouseEvent.BUTTON1) return;
                try {
                    select(gallery.getCurrentSlice(), canvas.offScreenXD(e.getX()), canvas.offScreenYD(e.getY()));
                } catch (RuntimeException ex) {  // a listener must not die: report and go on
                    ij.IJ.log("PhenoSort gallery: " + ex.getMessage());
                }
            }
        });
        // with Annotate Objects on the source image, 1-9 pressed on the gallery set the class of
        // the object of the last clicked tile, as on the image itself
        KeyAdapter keys = new KeyAdapter() {
            @Override
            public void keyPressed(KeyEvent e) {
                char c = e.getKeyChar();
                if (c < '1' || c > '9' || e.isControlDown() || e.isMetaDown() || e.isAltDown()) return;
                AnnotationSession session = AnnotationSession.of(image);
                if (session != null && session.currentObject() != 0) session.keys().keyPressed(e);
            }
        };
        for (java.awt.Component c : new java.awt.Component[] {canvas, win}) {
            // ImageJ's listener (digits run shortcuts) moves behind ours; it ignores consumed keys
            java.util.List<java.awt.event.KeyListener> imagej = new java.util.ArrayList<>();
            for (java.awt.event.KeyListener k : c.getKeyListeners()) {
                if (k instanceof ij.ImageJ) {
                    c.removeKeyListener(k);
                    imagej.add(k);
                }
            }
            c.addKeyListener(keys);
            for (java.awt.event.KeyListener k : imagej) c.addKeyListener(k);
        }
    }

    /**
     * The object selected in the source image: the current object of its Annotate Objects
     * session, else the label of its selection made by a tile; 0 when none.
     */
    public long selectedObject() {
        AnnotationSession session = AnnotationSession.of(image);
        if (session != null) return session.currentObject();
        Roi roi = image.getRoi();
        String label = roi == null ? null : roi.getProperty("label");
        return label == null || label.isEmpty() ? 0 : Long.parseLong(label);
    }

    /**
     * Selects the object of the tile under pixel (x, y) of slice {@code slice} in the source image
     * and brings that image to the front; returns the tile, or null where there is none.
     */
    public GalleryTiles.Tile select(int slice, double x, double y) {
        GalleryTiles.Tile t = tiles.at(slice, x, y);
        if (t != null) selectObject(t.label);
        return t;
    }

    /** Object {@code label} of the source image becomes its selection (or the annotation session's current object). */
    public void selectObject(long label) {
        AnnotationSession session = AnnotationSession.of(image);
        if (session != null && session.select(label)) {
            toFront();
            return;
        }
        ObjectGeometry g = geometry().get(label);
        if (g == null) throw new IllegalArgumentException(
                "label image '" + labels.getTitle() + "' has no object " + label + " (changed since the gallery?)");
        int[] p = ObjectOutlines.innerPoint(labels, g, frame);
        Roi roi = ObjectOutlines.onSlice(labels, g, p[2], frame);
        if (roi == null) roi = new ij.gui.PointRoi(p[0] + 0.5, p[1] + 0.5);
        roi.setName("object " + label);
        roi.setProperty("label", Long.toString(label));
        if (image.getNSlices() > 1) image.setPosition(image.getC(), p[2] + 1, frame);
        else if (image.getNFrames() > 1) image.setPosition(image.getC(), 1, frame);
        image.setRoi(roi);
        ObjectView.show(image, g, p[2]);
        toFront();
    }

    /** The source image whose objects the tiles show. */
    public ImagePlus source() {
        return image;
    }

    private Map<Long, ObjectGeometry> geometry() {
        if (geometry.isEmpty()) geometry.putAll(ObjectGeometry.measure(labels, frame));
        return geometry;
    }

    private void toFront() {
        ImageWindow win = image.getWindow();
        if (win == null) return;
        Runnable r = () -> {
            win.toFront();
            WindowManager.setCurrentWindow(win);
        };
        if (EventQueue.isDispatchThread()) r.run();
        else EventQueue.invokeLater(r);
    }

    private static ColorProcessor decode(byte[] png) {
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            if (img == null) throw new IllegalArgumentException("the server sent a montage that is not a PNG");
            return new ColorProcessor(img);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read a montage PNG: " + e.getMessage(), e);
        }
    }
}
