package org.phenosort.phenosort.workflow;

import ij.ImagePlus;
import ij.gui.Roi;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.TensorCodec;
import org.phenosort.phenosort.imagej.AnnotationSession;
import org.phenosort.phenosort.imagej.LabelImages;
import org.phenosort.phenosort.imagej.RoiAnnotations;
import org.phenosort.phenosort.imagej.RoiList;
import org.phenosort.phenosort.proto.v1.ImageInput;

/** One time point of an image, its label image, and the class names of its annotated objects. */
public final class AnnotatedImage {
    public final ImagePlus image;
    public final ImagePlus labels;
    /** 1-based time point. */
    public final int frame;
    /** Object ID -> class name. */
    public final Map<Long, String> classes;

    public AnnotatedImage(ImagePlus image, ImagePlus labels, int frame, Map<Long, String> classes) {
        this.image = image;
        this.labels = labels;
        this.frame = frame;
        this.classes = Collections.unmodifiableMap(new LinkedHashMap<>(classes));
    }

    /** "title" or "title (frame t)": how the server's training summaries name this image. */
    public String name() {
        return image.getNFrames() > 1 ? image.getTitle() + " (frame " + frame + ")" : image.getTitle();
    }

    /** Uploads this time point's pixels and labels. */
    public ImageInput upload(ClassifierClient client) {
        return upload(client, image, labels, frame, name());
    }

    /** Uploads time point {@code frame} (1-based) of an image and its label image. */
    public static ImageInput upload(ClassifierClient client, ImagePlus image, ImagePlus labels, int frame,
            String name) {
        return client.uploads().imageInput(TensorCodec.toTensor(Frames.of(image, frame)),
                TensorCodec.labelsToTensor(Frames.of(labels, frame)), TensorCodec.voxelSize(image), name);
    }

    /** The annotations the ROIs give, per time point, and why some ROIs gave none. */
    public static final class Collected {
        public final List<AnnotatedImage> images = new ArrayList<>();
        public final List<String> classNames = new ArrayList<>();
        public final List<String> skipped = new ArrayList<>();
        /** ROIs left out of the first image's because they are tagged as another image's. */
        public int otherImages;

        public int count() {
            int n = 0;
            for (AnnotatedImage a : images) n += a.classes.size();
            return n;
        }

        /** "15 annotated objects of a.tif" or "47 annotated objects of 3 images (a.tif 15, b.tif 16, c.tif 16)". */
        public String describe() {
            String objects = count() + " annotated object" + (count() == 1 ? "" : "s") + " of ";
            if (images.size() == 1) return objects + images.get(0).name();
            StringBuilder each = new StringBuilder();
            for (AnnotatedImage a : images) {
                each.append(each.length() == 0 ? "" : ", ").append(a.name()).append(' ').append(a.classes.size());
            }
            return objects + images.size() + " images (" + each + ")";
        }
    }

    /**
     * The annotations of {@code image} ({@link #collect}) and of every other open image that has
     * annotations tagged with its title (made by Annotate Objects or AnnotateApi, see
     * {@link RoiAnnotations}): those in {@code shared} (the ROI Manager's), else those on the
     * image's overlay. Another image's label image is its Annotate Objects session's, else the
     * open image its annotations name (label_image); an image with annotations but no label
     * image is named in {@code skipped}. Class names are shared by all images (by name).
     *
     * @param rois the annotation ROIs of {@code image}, as for {@link #collect}
     * @param shared the ROIs every image may have some of (the ROI Manager's); may be empty
     * @param open the open images (label images among them are not annotated images)
     */
    public static Collected collectAll(ImagePlus image, ImagePlus labels, Roi[] rois, Roi[] shared,
            List<ImagePlus> open, List<String> classNames) {
        Collected out = collect(image, labels, rois, classNames);
        out.otherImages = 0;  // read below, as their own images' annotations
        Set<ImagePlus> labelImages = new HashSet<>();
        labelImages.add(labels);
        for (ImagePlus x : open) {
            AnnotationSession s = AnnotationSession.of(x);
            if (s != null) labelImages.add(s.labels());
        }
        for (ImagePlus x : open) {
            if (x == image || labelImages.contains(x)) continue;
            Roi[] own = RoiAnnotations.taggedFor(shared, x.getTitle());
            if (own.length == 0) own = RoiAnnotations.taggedFor(new RoiList.OnOverlay(x).rois(), x.getTitle());
            if (own.length == 0) continue;
            ImagePlus lab = labelsOf(x, own, open);
            if (lab == null) {
                out.skipped.add("image '" + x.getTitle() + "': " + own.length + " annotation ROIs, but its label image ('"
                        + RoiAnnotations.labelImageOf(own[0]) + "') is not open");
                continue;
            }
            Collected more = collect(x, lab, own, out.classNames);
            out.classNames.clear();
            out.classNames.addAll(more.classNames);
            out.images.addAll(more.images);
            for (String why : more.skipped) out.skipped.add(x.getTitle() + ": " + why);
        }
        Set<String> titles = new HashSet<>(), closed = new java.util.TreeSet<>();
        for (ImagePlus x : open) titles.add(x.getTitle());
        for (Roi r : shared) {
            String t = RoiAnnotations.imageOf(r);
            if (t != null && !titles.contains(t)) closed.add(t);
        }
        if (!closed.isEmpty()) out.skipped.add("annotations of images that are not open are left out: " + closed);
        return out;
    }

    /** The label image of {@code image}: its session's, else the open image its annotations name; or null. */
    private static ImagePlus labelsOf(ImagePlus image, Roi[] rois, List<ImagePlus> open) {
        AnnotationSession s = AnnotationSession.of(image);
        if (s != null) return s.labels();
        for (Roi r : rois) {
            String title = RoiAnnotations.labelImageOf(r);
            if (title == null) continue;
            for (ImagePlus x : open) if (x != image && x.getTitle().equals(title)) return x;
        }
        return null;
    }

    /**
     * Reads {@code rois} (drawn on {@code image}) as annotations of {@code labels}'s objects.
     *
     * @param classNames known class names (class k = index k-1), extended by new names found
     */
    public static Collected collect(ImagePlus image, ImagePlus labels, Roi[] rois, List<String> classNames) {
        LabelImages.checkPair(image, labels);
        Collected out = new Collected();
        out.classNames.addAll(classNames);
        for (int t = 1; t <= image.getNFrames(); t++) {
            RoiAnnotations.Result r = RoiAnnotations.read(rois, labels, image, t, out.classNames);
            out.classNames.clear();
            out.classNames.addAll(r.classNames);
            if (t == 1) out.skipped.addAll(r.skipped);
            if (t == 1) out.otherImages = r.otherImages;
            if (r.classes.isEmpty()) continue;
            Map<Long, String> named = new LinkedHashMap<>();
            for (Map.Entry<Long, Integer> e : r.classes.entrySet()) {
                named.put(e.getKey(), r.classNames.get(e.getValue() - 1));
            }
            out.images.add(new AnnotatedImage(image, labels, t, named));
        }
        return out;
    }
}
