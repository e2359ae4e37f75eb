package org.phenosort.phenosort.macro;

import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.Roi;
import java.util.List;
import org.phenosort.phenosort.imagej.AnnotationSession;
import org.phenosort.phenosort.imagej.ClassNames;
import org.phenosort.phenosort.imagej.RoiAnnotations;

/**
 * Annotation from macros, with or without a display, e.g.
 * <pre>
 * r = call("org.phenosort.phenosort.macro.AnnotateApi.annotate", "cells.tif", "labels.tif", "12", "mitotic");
 * if (startsWith(r, "error")) exit(r);
 * </pre>
 * The annotation is a point ROI on the object (RoiManager with a display, the image's Overlay
 * headless), as the Annotate Objects command makes it. Returns "ok ..." or "error: ...".
 */
public final class AnnotateApi {
    private AnnotateApi() {}

    /**
     * Marks object {@code label} of {@code labelsTitle} as {@code className}: a class name (new
     * names are added to the ROI group names) or a 1-based class index.
     */
    public static String annotate(String imageTitle, String labelsTitle, String label, String className) {
        try {
            ImagePlus image = image(imageTitle);
            ImagePlus labels = image(labelsTitle);
            long id = Long.parseLong(label.trim().replaceAll("\\.0+$", ""));
            String name = className == null ? "" : className.trim();
            if (name.isEmpty()) return "error: no class given";
            List<String> names = ClassNames.fromGroups();
            int k;
            String given = null;
            if (name.matches("\\d+")) {
                k = Integer.parseInt(name);
                if (k < 1) return "error: class index must be 1 or more";
            } else {
                k = names.indexOf(name) + 1;
                if (k == 0) {
                    names.add(name);
                    RoiAnnotations.setGroupNames(names);
                    k = names.size();
                }
                given = name;
            }
            Roi roi = AnnotationSession.annotate(image, labels, id, k, given);
            return "ok " + roi.getName() + " group=" + roi.getGroup() + " label=" + id;
        } catch (NumberFormatException e) {
            return "error: invalid label " + label;
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
    }

    private static ImagePlus image(String title) {
        ImagePlus imp = WindowManager.getImage(title);
        if (imp == null) throw new IllegalArgumentException("no open image titled '" + title + "'");
        return imp;
    }
}
