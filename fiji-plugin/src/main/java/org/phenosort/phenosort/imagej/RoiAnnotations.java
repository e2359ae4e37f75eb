package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.PointRoi;
import ij.gui.Roi;
import ij.process.FloatPolygon;
import ij.process.ImageProcessor;
import java.awt.Rectangle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * ImageJ ROIs as class annotations of the objects of a label image, and back: the same rules as
 * the Python package ({@code phenosort.annotations}), so a ROI zip means the same everywhere.
 *
 * <p>The class of a ROI: (1) its group when non-zero (class index = group); (2) its "class"
 * property, an index or a name; (3) its name, "&lt;class&gt;-&lt;digits&gt;" or the class name itself
 * (ImageJ's automatic "0012-0345" names carry no class). A point annotates the object under it
 * (each point of a multi-point ROI); an area ROI the object covering most of its pixels.
 *
 * <p>The ROI Manager is one list for every image, so the annotations PhenoSort makes carry the
 * title of their image (property "image") and of its label image ("label_image"): a ROI whose
 * "image" names another image is that image's, and is not read as an annotation of this one.
 * ROIs without it (drawn by hand, from older ROI zips) belong to whichever image reads them.
 */
public final class RoiAnnotations {
    /** ROI property: the title of the image an annotation belongs to. */
    public static final String IMAGE = "image";
    /** ROI property: the title of that image's label image. */
    public static final String LABEL_IMAGE = "label_image";

    private static final Pattern INT = Pattern.compile("[+-]?\\d+");
    private static final Pattern AUTO_NAME = Pattern.compile("[\\d-]+");
    private static final Pattern SUFFIXED = Pattern.compile("(.+)-\\d+");

    private RoiAnnotations() {}

    /** Annotations of one label image read from ROIs. */
    public static final class Result {
        /** Object ID -> class index (1-based), in the order the ROIs give them. */
        public final Map<Long, Integer> classes = new LinkedHashMap<>();
        /** Class names, index k-1 naming class k: the given names plus new ones in order of appearance. */
        public final List<String> classNames = new ArrayList<>();
        /** Why a ROI (or a point of one) annotated nothing, or changed an earlier annotation. */
        public final List<String> skipped = new ArrayList<>();
        /** ROIs left out because their "image" property names another image. */
        public int otherImages;

        /** Number of annotations per class, index k-1 for class k. */
        public int[] counts() {
            int[] n = new int[classNames.size()];
            for (int k : classes.values()) n[k - 1]++;
            return n;
        }
    }

    /**
     * Reads {@code rois} as annotations of {@code labels} (frame {@code frame}, 1-based).
     *
     * @param image the image the ROIs were drawn on, to turn a stack position into a slice; may be
     *     {@code labels} itself or null (then positions are read as slices of {@code labels})
     * @param classNames known class names (class k = index k-1); may be empty
     */
    public static Result read(Roi[] rois, ImagePlus labels, ImagePlus image, int frame, List<String> classNames) {
        Result r = new Result();
        r.classNames.addAll(classNames);
        for (int i = 0; i < rois.length; i++) {
            Roi roi = rois[i];
            if (image != null && !belongsTo(roi, image)) {
                r.otherImages++;
                continue;
            }
            String what = "ROI " + (i + 1) + (roi.getName() != null ? " '" + roi.getName() + "'" : "");
            int k = classOf(roi, r.classNames);
            if (k == 0) {
                r.skipped.add(what + ": no class (set its group, a 'class' property or a class name)");
                continue;
            }
            if (!inFrame(roi, image != null ? image : labels, frame)) continue;
            for (long label : hits(roi, labels, image, frame, what, r.skipped)) {
                Integer before = r.classes.put(label, k);
                if (before != null && before != k) {
                    r.skipped.add(what + ": object " + label + " was '" + r.classNames.get(before - 1)
                            + "', now '" + r.classNames.get(k - 1) + "' (the later ROI wins)");
                }
            }
        }
        return r;
    }

    /** Marks {@code roi} as an annotation of {@code image}, whose label image is {@code labels}. */
    public static void tag(Roi roi, ImagePlus image, ImagePlus labels) {
        roi.setProperty(IMAGE, image.getTitle());
        if (labels != null) roi.setProperty(LABEL_IMAGE, labels.getTitle());
    }

    /** The title of the image {@code roi} is tagged with, or null when it names none. */
    public static String imageOf(Roi roi) {
        String t = roi.getProperty(IMAGE);
        return t == null || t.trim().isEmpty() ? null : t.trim();
    }

    /** The title of the label image {@code roi} is tagged with, or null. */
    public static String labelImageOf(Roi roi) {
        String t = roi.getProperty(LABEL_IMAGE);
        return t == null || t.trim().isEmpty() ? null : t.trim();
    }

    /** True unless {@code roi} is tagged as an annotation of an image other than {@code image}. */
    public static boolean belongsTo(Roi roi, ImagePlus image) {
        String t = imageOf(roi);
        return t == null || t.equals(image.getTitle());
    }

    /** The ROIs of {@code rois} tagged as annotations of the image titled {@code title}. */
    public static Roi[] taggedFor(Roi[] rois, String title) {
        List<Roi> out = new ArrayList<>();
        for (Roi r : rois) if (title.equals(imageOf(r))) out.add(r);
        return out.toArray(new Roi[0]);
    }

    /** The class index (1-based) a ROI states, adding new class names to {@code names}; 0: none. */
    public static int classOf(Roi roi, List<String> names) {
        String prop = roi.getProperty("class");
        prop = prop == null ? null : prop.trim();
        int group = roi.getGroup();
        if (group > 0) {
            // the group is the class; a "class" property names it, else ImageJ's group name
            String named = prop != null && !prop.isEmpty() && !INT.matcher(prop).matches() ? prop : null;
            while (names.size() < group) {
                int k = names.size() + 1;
                String groupName = k == group && named != null ? named : Roi.getGroupName(k);
                names.add(groupName != null && !groupName.isEmpty() ? groupName : "class " + k);
            }
            if (named != null && names.get(group - 1).equals("class " + group)) names.set(group - 1, named);
            return group;
        }
        if (prop != null && !prop.isEmpty()) {
            if (INT.matcher(prop).matches()) {
                int k = Integer.parseInt(prop);
                return k >= 1 && k <= names.size() ? k : 0;
            }
            return indexOf(prop, names);
        }
        String name = roi.getName() == null ? "" : roi.getName().trim();
        if (name.isEmpty() || AUTO_NAME.matcher(name).matches() || isUuid(name)) return 0;
        java.util.regex.Matcher m = SUFFIXED.matcher(name);
        return indexOf(m.matches() ? m.group(1) : name, names);
    }

    private static int indexOf(String name, List<String> names) {
        int i = names.indexOf(name);
        if (i < 0) {
            names.add(name);
            i = names.size() - 1;
        }
        return i + 1;
    }

    private static boolean isUuid(String s) {
        return s.length() == 36 && s.matches("[0-9a-fA-F-]{36}");
    }

    private static boolean inFrame(Roi roi, ImagePlus image, int frame) {
        return !roi.hasHyperStackPosition() || roi.getTPosition() == 0 || roi.getTPosition() == frame
                || image.getNFrames() == 1;
    }

    /** The 0-based slice of labels a stack position of {@code image} (1-based, 0 = none) means; -1: all. */
    private static int sliceOf(int position, ImagePlus labels, ImagePlus image) {
        if (labels.getNSlices() == 1) return 0;
        if (position <= 0) return -1;
        if (image == null || image == labels) return labels.isHyperStack() || labels.getNFrames() > 1
                ? labels.convertIndexToPosition(position)[1] - 1 : position - 1;
        return image.convertIndexToPosition(position)[1] - 1;
    }

    private static int zOf(Roi roi, ImagePlus labels, ImagePlus image) {
        if (labels.getNSlices() == 1) return 0;
        if (roi.hasHyperStackPosition()) return roi.getZPosition() > 0 ? roi.getZPosition() - 1 : -1;
        return sliceOf(roi.getPosition(), labels, image);
    }

    private static List<Long> hits(Roi roi, ImagePlus labels, ImagePlus image, int frame, String what,
            List<String> skipped) {
        List<Long> out = new ArrayList<>();
        int roiZ = zOf(roi, labels, image);
        if (roi instanceof PointRoi) {
            PointRoi points = (PointRoi) roi;
            FloatPolygon p = points.getContainedFloatPoints();
            for (int i = 0; i < p.npoints; i++) {
                int z = roiZ;
                if (z < 0) z = sliceOf(points.getPointPosition(i), labels, image);
                String where = what + (p.npoints > 1 ? " point " + (i + 1) : "");
                if (z < 0) {
                    skipped.add(where + ": no slice position on a stack");
                    continue;
                }
                int x = (int) Math.floor(p.xpoints[i]), y = (int) Math.floor(p.ypoints[i]);
                long label = LabelImages.label(labels, x, y, z, frame);
                if (label == 0) {
                    skipped.add(where + ": no object at x=" + x + ", y=" + y + (labels.getNSlices() > 1 ? ", z=" + z : ""));
                } else {
                    out.add(label);
                }
            }
            return out;
        }
        if (!roi.isArea()) {
            skipped.add(what + ": " + roi.getTypeAsString().toLowerCase() + " ROIs do not mark objects");
            return out;
        }
        if (roiZ < 0) {
            skipped.add(what + ": no slice position on a stack");
            return out;
        }
        ImageProcessor ip = labels.getStack().getProcessor(labels.getStackIndex(1, roiZ + 1, frame));
        ImageProcessor mask = roi.getMask();
        Rectangle b = roi.getBounds();
        Map<Long, Integer> votes = new HashMap<>();
        for (int y = Math.max(0, b.y); y < Math.min(ip.getHeight(), b.y + b.height); y++) {
            for (int x = Math.max(0, b.x); x < Math.min(ip.getWidth(), b.x + b.width); x++) {
                if (mask != null && mask.get(x - b.x, y - b.y) == 0) continue;
                long label = LabelImages.label(ip, x, y);
                if (label != 0) votes.merge(label, 1, Integer::sum);
            }
        }
        long best = 0;
        int most = 0;
        for (Map.Entry<Long, Integer> e : votes.entrySet()) {
            if (e.getValue() > most || e.getValue() == most && e.getKey() < best) {
                best = e.getKey();
                most = e.getValue();
            }
        }
        if (best == 0) skipped.add(what + ": covers no object");
        else out.add(best);
        return out;
    }

    /**
     * The point ROI that records "object {@code label} is class k": group k (colour = Glasbey k),
     * name "&lt;class&gt;-&lt;label&gt;", properties "class" and "label", on slice z (0-based) of a stack.
     */
    public static PointRoi annotation(double x, double y, ImagePlus image, int z, int frame, long label, int k,
            String className) {
        PointRoi p = new PointRoi(x, y);
        style(p, label, k, className);
        ObjectOutlines.setPosition(p, image, z, frame);
        return p;
    }

    /** Names, groups and colours a ROI as object {@code label} of class k. */
    public static void style(Roi roi, long label, int k, String className) {
        Glasbey.provideToRoiGroups();
        if (k >= 1 && k <= 255) roi.setGroup(k);
        roi.setStrokeColor(Glasbey.color(k));
        roi.setName(className + "-" + label);
        roi.setProperty("class", className);
        roi.setProperty("label", String.valueOf(label));
    }

    /** The object ID a ROI written by {@link #style} records, or 0. */
    public static long labelOf(Roi roi) {
        String s = roi.getProperty("label");
        if (s == null) return 0;
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Makes ImageJ name ROI groups 1..K after the classes (global preference, as in Edit>Options>Roi Defaults). */
    public static void setGroupNames(List<String> classNames) {
        for (String n : classNames) {
            if (n.contains(",")) throw new IllegalArgumentException("class name '" + n + "' contains a comma");
        }
        if (!classNames.isEmpty()) Roi.setGroupNames(String.join(",", classNames));
    }
}
