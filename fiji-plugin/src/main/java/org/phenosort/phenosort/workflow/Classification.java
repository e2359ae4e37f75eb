package org.phenosort.phenosort.workflow;

import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.Roi;
import ij.measure.ResultsTable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.TensorCodec;
import org.phenosort.phenosort.imagej.Glasbey;
import org.phenosort.phenosort.imagej.KeyedResultsTable;
import org.phenosort.phenosort.imagej.LabelImages;
import org.phenosort.phenosort.imagej.ObjectGeometry;
import org.phenosort.phenosort.proto.v1.ObjectResult;
import org.phenosort.phenosort.proto.v1.Tensor;

/**
 * Classifies every object of an image (each time point), or those inside a selection, with a model
 * version and assembles the service's answers as ImageJ images and a table keyed by the user's
 * label IDs.
 */
public final class Classification {
    /** Class names of the model, class k = index k-1. */
    public final List<String> classNames = new ArrayList<>();
    /** Per-object results of each time point (index t-1). */
    public final List<List<ObjectResult>> objects = new ArrayList<>();
    /** 8-bit class map (0 background, k = class k) with the Glasbey LUT; one per pixel of labels. */
    public ImagePlus classMap;
    /** 32-bit confidence of each object's class, painted on its pixels; null unless asked. */
    public ImagePlus confidenceMap;
    /** Label image of each class holding that class's objects with their own IDs; empty unless asked. */
    public final Map<String, ImagePlus> classMasks = new LinkedHashMap<>();

    private Classification() {}

    /** What to compute besides the per-object results and the class map. */
    public static final class Outputs {
        public boolean confidenceMap;
        public boolean classMasks;
        /**
         * Only the objects whose centre lies inside this selection (in XY, on every slice and time
         * point); the maps show only them. Null: every object.
         */
        public Roi inside;
    }

    public static Classification run(ClassifierClient client, String model, int version, ImagePlus image,
            ImagePlus labels, Outputs outputs) {
        LabelImages.checkPair(image, labels);
        Classification c = new Classification();
        int nt = image.getNFrames();
        List<List<Long>> chosen = chosenObjects(image, labels, outputs.inside);
        List<Map<String, ImagePlus>> frames = new ArrayList<>();  // each time point's images; null: none chosen
        for (int t = 1; t <= nt; t++) {
            List<Long> ids = chosen.get(t - 1);
            if (ids != null && ids.isEmpty()) {  // no object of this time point inside the selection
                c.objects.add(new ArrayList<>());
                frames.add(null);
                continue;
            }
            String name = nt > 1 ? image.getTitle() + " (frame " + t + ")" : image.getTitle();
            ClassifierClient.Prediction p = client.predict(model, version,
                    AnnotatedImage.upload(client, image, labels, t, name),
                    ids == null ? Collections.emptyList() : ids, true, outputs.confidenceMap, outputs.classMasks, 0);
            if (c.classNames.isEmpty()) c.classNames.addAll(p.classNames);
            c.objects.add(p.objects);
            Map<String, ImagePlus> images = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : p.outputs.entrySet()) {
                images.put(e.getKey(), TensorCodec.toImagePlus(e.getValue(), e.getKey()));
            }
            frames.add(images);
        }
        List<ImagePlus> maps = new ArrayList<>(), confidences = new ArrayList<>();
        Map<String, List<ImagePlus>> masks = new LinkedHashMap<>();
        for (Map.Entry<String, List<ImagePlus>> e : byOutput(frames).entrySet()) {
            if (e.getKey().equals("class_map")) {
                maps = e.getValue();
            } else if (e.getKey().equals("confidence_map")) {
                confidences = e.getValue();
            } else if (e.getKey().startsWith("mask:")) {
                masks.put(e.getKey().substring(5), e.getValue());
            }
        }
        String base = baseName(image.getTitle());
        c.classMap = join(maps, base + "-classes", image);
        c.classMap.setLut(Glasbey.lut());
        c.classMap.setDisplayRange(0, 255);
        StringBuilder info = new StringBuilder("PhenoSort class map of ").append(image.getTitle())
                .append(" (model ").append(model).append(")\n0 = background\n");
        for (int k = 0; k < c.classNames.size(); k++) info.append(k + 1).append(" = ").append(c.classNames.get(k)).append('\n');
        c.classMap.setProperty("Info", info.toString());
        c.classMap.setProp("class_names", String.join(",", c.classNames));
        if (!confidences.isEmpty()) {
            c.confidenceMap = join(confidences, base + "-confidence", image);
            c.confidenceMap.setDisplayRange(0, 1);
        }
        for (Map.Entry<String, List<ImagePlus>> e : masks.entrySet()) {
            ImagePlus m = join(e.getValue(), base + "-" + e.getKey(), image);
            m.resetDisplayRange();
            c.classMasks.put(e.getKey(), m);
        }
        return c;
    }

    /**
     * The selection for "selection only": the image's, else the label image's (the same pixels);
     * an error names both when neither has an area selection.
     */
    public static Roi selectionOf(ImagePlus image, ImagePlus labels) {
        Roi roi = image.getRoi();
        if (roi != null && roi.isArea()) return roi;
        Roi drawn = labels.getRoi();  // drawn on the label image instead: the same pixels
        if (drawn != null && drawn.isArea()) return drawn;
        throw new IllegalArgumentException("'selection' classifies the objects inside the selection of "
                + image.getTitle() + ", which has " + (roi == null ? "none" : "no area (a " + roi.getTypeAsString()
                + ")") + ", nor has " + labels.getTitle() + ": draw a rectangle, oval or polygon around them first");
    }

    /**
     * Per time point, the label IDs of the objects whose centre lies inside {@code inside} (null
     * for every time point when {@code inside} is null: every object).
     *
     * @throws IllegalArgumentException when no object of any time point has its centre inside
     */
    static List<List<Long>> chosenObjects(ImagePlus image, ImagePlus labels, Roi inside) {
        if (inside == null) return Collections.nCopies(image.getNFrames(), null);
        List<List<Long>> chosen = new ArrayList<>();
        boolean any = false;
        for (int t = 1; t <= image.getNFrames(); t++) {
            List<Long> ids = new ArrayList<>();
            for (ObjectGeometry g : ObjectGeometry.measure(labels, t).values()) {
                // the pixel the centre falls in, as ImageJ tests pixels (Roi.containsPoint is always
                // false for a subpixel rectangle, which makeRectangle gives, in ImageJ 1.53t)
                int x = (int) Math.floor(g.centroidX() + 0.5), y = (int) Math.floor(g.centroidY() + 0.5);
                if (inside.contains(x, y)) ids.add(g.label);
            }
            any |= !ids.isEmpty();
            chosen.add(ids);
        }
        if (!any) {
            java.awt.Rectangle b = inside.getBounds();
            throw new IllegalArgumentException("no object of " + labels.getTitle() + " has its centre inside the "
                    + "selection of " + image.getTitle() + " (" + inside.getTypeAsString() + " at x=" + b.x + ", y="
                    + b.y + ", " + b.width + "x" + b.height + "): draw one around the objects to classify, or "
                    + "classify every object (no 'selection')");
        }
        return chosen;
    }

    /**
     * Each output's images, one per time point: a time point without a prediction gets an empty
     * (zero) image shaped like the others, so the stacks stay aligned with the frames.
     */
    private static Map<String, List<ImagePlus>> byOutput(List<Map<String, ImagePlus>> frames) {
        Map<String, ImagePlus> like = new LinkedHashMap<>();
        for (Map<String, ImagePlus> f : frames) {
            if (f != null) f.forEach(like::putIfAbsent);
        }
        Map<String, List<ImagePlus>> out = new LinkedHashMap<>();
        for (Map.Entry<String, ImagePlus> e : like.entrySet()) {
            List<ImagePlus> list = new ArrayList<>();
            for (Map<String, ImagePlus> f : frames) list.add(f != null ? f.get(e.getKey()) : zerosLike(e.getValue()));
            out.put(e.getKey(), list);
        }
        return out;
    }

    private static ImagePlus zerosLike(ImagePlus like) {
        ImageStack stack = new ImageStack(like.getWidth(), like.getHeight());
        for (int z = 1; z <= like.getStackSize(); z++) {
            stack.addSlice(like.getStack().getProcessor(z).createProcessor(like.getWidth(), like.getHeight()));
        }
        return new ImagePlus(like.getTitle(), stack);
    }

    /** One row per object: label, [frame,] class, class_name, p_&lt;class&gt;..., confidence, in_training_set. */
    public ResultsTable table() {
        ResultsTable rt = new KeyedResultsTable();  // no row numbers, even as ImageJ's "Results"
        boolean frames = objects.size() > 1;
        for (int t = 0; t < objects.size(); t++) {
            for (ObjectResult o : objects.get(t)) {
                rt.incrementCounter();
                rt.addValue("label", o.getLabel());
                if (frames) rt.addValue("frame", t + 1);
                rt.addValue("class", o.getClassIndex());
                rt.addValue("class_name", o.getClassName());
                for (int k = 0; k < classNames.size(); k++) {
                    rt.addValue("p_" + classNames.get(k), o.getProbabilities(k));
                }
                rt.addValue("confidence", o.getConfidence());
                rt.addValue("in_training_set", o.getInTrainingSet() ? 1 : 0);
            }
        }
        return rt;
    }

    /** Number of objects per class (index k-1), all time points. */
    public int[] counts() {
        int[] n = new int[classNames.size()];
        for (List<ObjectResult> frame : objects) for (ObjectResult o : frame) n[o.getClassIndex() - 1]++;
        return n;
    }

    /** Class of each object of time point t (1-based). */
    public Map<Long, Integer> classesOf(int frame) {
        Map<Long, Integer> m = new LinkedHashMap<>();
        for (ObjectResult o : objects.get(frame - 1)) m.put(o.getLabel(), o.getClassIndex());
        return m;
    }

    /** Stacks per-time-point images into one with the layout and calibration of {@code like}. */
    private static ImagePlus join(List<ImagePlus> frames, String title, ImagePlus like) {
        ImagePlus first = frames.get(0);
        if (frames.size() == 1) {
            first.setTitle(title);
            first.setCalibration(like.getCalibration().copy());
            return first;
        }
        ImageStack stack = new ImageStack(first.getWidth(), first.getHeight());
        for (ImagePlus f : frames) {
            for (int z = 1; z <= f.getStackSize(); z++) stack.addSlice(f.getStack().getProcessor(z));
        }
        ImagePlus out = new ImagePlus(title, stack);
        out.setDimensions(1, first.getStackSize(), frames.size());
        out.setOpenAsHyperStack(true);
        out.setCalibration(like.getCalibration().copy());
        return out;
    }

    /** An image title without its file extension, to name derived images. */
    public static String baseName(String title) {
        int dot = title.lastIndexOf('.');
        return dot > 0 && title.length() - dot <= 5 ? title.substring(0, dot) : title;
    }
}
