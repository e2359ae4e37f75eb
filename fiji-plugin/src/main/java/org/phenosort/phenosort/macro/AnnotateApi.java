package org.phenosort.phenosort.macro;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.Roi;
import java.util.List;
import org.phenosort.phenosort.imagej.AnnotationClasses;
import org.phenosort.phenosort.imagej.AnnotationSession;
import org.phenosort.phenosort.imagej.ClassNames;
import org.phenosort.phenosort.workflow.LastError;

/**
 * Annotation from macros, with or without a display, e.g.
 * <pre>
 * api = "org.phenosort.phenosort.macro.AnnotateApi.annotate";
 * r = call(api, "cells.tif", "labels.tif", "12", "mitotic", "interphase,mitotic");  // names the classes
 * r = call(api, "cells.tif", "labels.tif", "40", "interphase");                     // a known class
 * if (startsWith(r, "error")) exit(r);
 * </pre>
 * The annotation is a point ROI on the object (RoiManager with a display, the image's Overlay
 * headless), as the Annotate Objects command makes it. Returns "ok ..." or "error: ..."; an
 * error is also MacroApi.lastError and a "PhenoSort error:" Log line.
 *
 * <p>A class is never made up from a name: an unknown name (a typo such as "Mitotic") is an
 * error that lists the known classes. New classes are named in a classes list.
 */
public final class AnnotateApi {
    private AnnotateApi() {}

    /**
     * Marks object {@code label} of {@code labelsTitle} as {@code className}: the name of a
     * known class (the Annotate Objects session's on the image, else ImageJ's ROI group names
     * and the classes of the image's annotations) or a 1-based class index.
     */
    public static String annotate(String imageTitle, String labelsTitle, String label, String className) {
        return annotate(imageTitle, labelsTitle, label, className, "");
    }

    /**
     * {@link #annotate(String, String, String, String)} with the classes named:
     * {@code classes} ("interphase,mitotic") are the image's classes in order (class k = the
     * k-th name), new ones included; the classes already in use must keep their place.
     */
    public static String annotate(String imageTitle, String labelsTitle, String label, String className,
            String classes) {
        try {
            ImagePlus image = image(imageTitle);
            ImagePlus labels = image(labelsTitle);
            long id;
            try {
                id = Long.parseLong(label.trim().replaceAll("\\.0+$", ""));
            } catch (NumberFormatException e) {
                return failed("invalid label " + label);
            }
            String name = className == null ? "" : className.trim();
            if (name.isEmpty()) return failed("no class given");
            List<String> given = ClassNames.parse(classes);
            List<String> names = given.isEmpty() ? AnnotationClasses.known(image, labels)
                    : AnnotationClasses.define(image, labels, given);
            int k = !name.matches("\\d+") ? names.indexOf(name) + 1 : name.length() > 6 ? 0 : Integer.parseInt(name);
            if (k < 1 || k > names.size()) return failed(unknown(name, names, imageTitle, !given.isEmpty()));
            Roi roi = AnnotationSession.annotate(image, labels, id, k, names.get(k - 1));
            LastError.clear();
            return "ok " + roi.getName() + " group=" + roi.getGroup() + " label=" + id;
        } catch (RuntimeException e) {
            return failed(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /**
     * Why {@code name} is no class, and how to make a new one; {@code listed}: the macro gave
     * {@code names} as its classes.
     */
    static String unknown(String name, List<String> names, String imageTitle, boolean listed) {
        boolean index = name.matches("\\d+");
        String what = index ? "class index " + name : "unknown class '" + name + "'";
        String cased = index ? "" : " (names are case-sensitive)";
        if (listed) return what + ": the classes given are " + ClassNames.numbered(names) + cased;
        String known = names.isEmpty() ? "no classes are known yet for '" + imageTitle + "'"
                : "the known classes are " + ClassNames.numbered(names) + cased;
        String example = "\"" + String.join(",", names) + (names.isEmpty() ? "" : ",") + (index ? "..." : name) + "\"";
        return what + ": " + known + ". New classes are explicit: list the classes, e.g. call(\""
                + AnnotateApi.class.getName() + ".annotate\", image, labels, label, class, " + example + ")";
    }

    /** Records and logs an error (a call() never stops the macro); returns "error: ...". */
    private static String failed(String message) {
        LastError.set(message);
        IJ.log("PhenoSort error: " + message.replace('\n', ' '));
        return "error: " + message;
    }

    private static ImagePlus image(String title) {
        ImagePlus imp = WindowManager.getImage(title);
        if (imp == null) throw new IllegalArgumentException("no open image titled '" + title + "'");
        return imp;
    }
}
