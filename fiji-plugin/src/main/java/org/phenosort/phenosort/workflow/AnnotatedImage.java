package org.phenosort.phenosort.workflow;

import ij.ImagePlus;
import ij.gui.Roi;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.TensorCodec;
import org.phenosort.phenosort.imagej.LabelImages;
import org.phenosort.phenosort.imagej.RoiAnnotations;
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
        return client.imageInput(TensorCodec.toTensor(Frames.of(image, frame)),
                TensorCodec.labelsToTensor(Frames.of(labels, frame)), TensorCodec.voxelSize(image), name);
    }

    /** The annotations the ROIs give, per time point, and why some ROIs gave none. */
    public static final class Collected {
        public final List<AnnotatedImage> images = new ArrayList<>();
        public final List<String> classNames = new ArrayList<>();
        public final List<String> skipped = new ArrayList<>();

        public int count() {
            int n = 0;
            for (AnnotatedImage a : images) n += a.classes.size();
            return n;
        }
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
