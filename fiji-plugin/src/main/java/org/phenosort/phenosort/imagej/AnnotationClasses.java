package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.Roi;
import java.util.ArrayList;
import java.util.List;

/**
 * The classes of an image's annotations, for macros (AnnotateApi): which are known, and making
 * new ones, which is always explicit. A class is never made up from a name or a key.
 */
public final class AnnotationClasses {
    private AnnotationClasses() {}

    /**
     * The classes annotations of {@code image} may use (class k = index k-1): those of its
     * Annotate Objects session; else ImageJ's ROI group names, extended by the classes its
     * annotation ROIs name. A new class is never made up from a name or a key: see
     * {@link #define}.
     */
    public static List<String> known(ImagePlus image, ImagePlus labels) {
        AnnotationSession session = AnnotationSession.of(image);
        if (session != null) {
            List<String> out = new ArrayList<>();
            AnnotationSession.onEdt(() -> out.addAll(session.editor().classNames()));
            return out;
        }
        int frame = image.getNFrames() > 1 ? image.getT() : 1;
        Roi[] rois = AnnotationSession.roiList(image).rois();
        return RoiAnnotations.read(rois, labels, image, frame, ClassNames.fromGroups()).classNames;
    }

    /**
     * Makes {@code classes} (class k = the k-th name) the classes of {@code image}'s
     * annotations, as a macro that names its classes does; returns them. With an Annotate
     * Objects session on the image, they must begin with the session's classes, in order (the
     * new ones are added to it); without one, every annotation ROI of the image must keep its
     * class (group k = the k-th name), and the names become ImageJ's ROI group names.
     *
     * @throws IllegalArgumentException naming the class that would change, or a repeated name
     */
    public static List<String> define(ImagePlus image, ImagePlus labels, List<String> classes) {
        LabelImages.checkPair(image, labels);
        if (classes.isEmpty()) throw new IllegalArgumentException("no classes given");
        for (int i = 0; i < classes.size(); i++) {
            if (classes.indexOf(classes.get(i)) != i) {
                throw new IllegalArgumentException("class '" + classes.get(i) + "' is given twice in " + classes);
            }
        }
        AnnotationSession session = AnnotationSession.of(image);
        if (session != null) {
            RuntimeException[] failed = new RuntimeException[1];
            AnnotationSession.onEdt(() -> {
                List<String> now = session.editor().classNames();
                if (classes.size() < now.size() || !classes.subList(0, now.size()).equals(now)) {
                    failed[0] = new IllegalArgumentException("the classes " + String.join(",", classes)
                            + " would change the classes of the Annotate Objects session on '" + image.getTitle()
                            + "' (" + String.join(",", now) + "): give these first, in this order, then new ones");
                    return;
                }
                for (String c : classes.subList(now.size(), classes.size())) now.add(c);
                RoiAnnotations.setGroupNames(now);
            });
            if (failed[0] != null) throw failed[0];
            return new ArrayList<>(classes);
        }
        for (Roi roi : AnnotationSession.roiList(image).rois()) {
            if (!RoiAnnotations.belongsTo(roi, image) || roi.getGroup() <= 0) continue;
            String named = roi.getProperty("class");
            named = named == null ? "" : named.trim();
            if (named.isEmpty() || named.matches("[+-]?\\d+")) continue;
            int g = roi.getGroup();
            if (g > classes.size() || !classes.get(g - 1).equals(named)) {
                throw new IllegalArgumentException("'" + image.getTitle() + "' has annotations of class '" + named
                        + "' (ROI group " + g + "), which the classes " + String.join(",", classes)
                        + " would rename: give '" + named + "' as class " + g);
            }
        }
        RoiAnnotations.setGroupNames(classes);
        return new ArrayList<>(classes);
    }
}
