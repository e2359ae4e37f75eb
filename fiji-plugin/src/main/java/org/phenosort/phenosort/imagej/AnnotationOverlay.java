package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.Overlay;
import ij.gui.Roi;
import java.awt.BasicStroke;
import java.awt.Color;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What an {@link AnnotationSession} draws on its image's Overlay: the outline of each annotated
 * object in its class colour and the current object's in white (outlines are cached per frame
 * and object). Other drawings stay, the live layer ({@link LiveOverlay}) too.
 */
final class AnnotationOverlay {
    private static final Color CURRENT = Color.WHITE;

    private final ImagePlus image;
    private final ImagePlus labels;
    private final Map<String, List<Roi>> outlines = new HashMap<>();

    AnnotationOverlay(ImagePlus image, ImagePlus labels) {
        this.image = image;
        this.labels = labels;
    }

    /**
     * Redraws the outlines of the annotations {@code r} of frame {@code frame} and of object
     * {@code current} (0: none); {@code liveOn}: wider outlines over the live model's fills.
     */
    void draw(RoiAnnotations.Result r, int frame, Map<Long, ObjectGeometry> objs, long current, boolean liveOn) {
        Overlay o = image.getOverlay();
        if (o == null) o = new Overlay();
        removeDrawings(o, false);
        for (Map.Entry<Long, Integer> a : r.classes.entrySet()) {
            for (Roi roi : outline(a.getKey(), frame, objs)) {
                roi.setStrokeColor(Glasbey.color(a.getValue()));
                roi.setStrokeWidth(liveOn ? 2 : 1);  // a label stands out over the live model's fills
                o.add(roi);
            }
        }
        if (current != 0 && objs.containsKey(current)) {
            for (Roi roi : outline(current, frame, objs)) {
                Roi c = (Roi) roi.clone();
                c.setStroke(new BasicStroke(2));
                c.setStrokeColor(CURRENT);
                o.add(c);
            }
        }
        image.setOverlay(o);
    }

    /** Takes every drawing of the session off the image, the live layer too (the session ends). */
    void removeAll() {
        Overlay o = image.getOverlay();
        if (o != null) {
            removeDrawings(o, true);
            image.setOverlay(o.size() > 0 ? o : null);
        }
    }

    private List<Roi> outline(long label, int frame, Map<Long, ObjectGeometry> objs) {
        String key = frame + ":" + label;
        List<Roi> out = outlines.get(key);
        if (out == null) {
            ObjectGeometry g = objs.get(label);
            out = g == null ? new ArrayList<>() : ObjectOutlines.outline(labels, image, g, frame);
            for (Roi roi : out) roi.setProperty(RoiList.DRAWING, "outline");
            outlines.put(key, out);
        }
        return out;
    }

    /** Takes the session's drawings off {@code o}: the outlines, and the live layer too when {@code all}. */
    private static void removeDrawings(Overlay o, boolean all) {
        for (int i = o.size() - 1; i >= 0; i--) {
            String drawing = o.get(i).getProperty(RoiList.DRAWING);
            if (drawing != null && (all || !LiveOverlay.LAYER.equals(drawing))) o.remove(i);
        }
    }
}
