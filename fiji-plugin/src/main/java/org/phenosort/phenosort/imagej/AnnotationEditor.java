package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.PointRoi;
import ij.gui.Roi;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;

/**
 * Sets and undoes class annotations of the objects of one image, kept as ROIs in a {@link RoiList}:
 * one annotation per object (re-annotating replaces the object's ROI), with an undo history.
 * No GUI: the interactive session and the headless API share it.
 */
public final class AnnotationEditor {
    private final ImagePlus image;
    private final ImagePlus labels;
    private final RoiList rois;
    private final List<String> classNames;
    private final Deque<Change> history = new ArrayDeque<>();

    /** One annotation step: what it added and the ROIs it took away (to put back on undo). */
    private static final class Change {
        final long label;
        final Roi added;
        final List<Roi> removed;
        final int replacedAt;  // index in removed of the ROI {@code added} took the place of; -1: none

        Change(long label, Roi added, List<Roi> removed, int replacedAt) {
            this.label = label;
            this.added = added;
            this.removed = removed;
            this.replacedAt = replacedAt;
        }
    }

    /** @param classNames class k = index k-1; the list is shared and grows when a digit names a new class */
    public AnnotationEditor(ImagePlus image, ImagePlus labels, RoiList rois, List<String> classNames) {
        LabelImages.checkPair(image, labels);
        this.image = image;
        this.labels = labels;
        this.rois = rois;
        this.classNames = classNames;
    }

    public List<String> classNames() {
        return classNames;
    }

    /** Name of class k, inventing "class k" for classes the names do not cover yet. */
    public String className(int k) {
        while (classNames.size() < k) classNames.add("class " + (classNames.size() + 1));
        return classNames.get(k - 1);
    }

    /**
     * Marks object {@code label} as class k with a point ROI at (x, y) on slice z (0-based) of
     * frame (1-based), replacing the ROIs that annotated the object alone before.
     */
    public Roi annotate(long label, int k, double x, double y, int z, int frame) {
        if (k < 1) throw new IllegalArgumentException("class index must be 1 or more, not " + k);
        if (label <= 0) throw new IllegalArgumentException("no object (label " + label + ")");
        PointRoi made = RoiAnnotations.annotation(x, y, image, z, frame, label, k, className(k));
        RoiAnnotations.tag(made, image, labels);  // the ROI Manager holds other images' annotations too
        List<Roi> old = roisOf(label, frame);
        Roi held;
        if (old.isEmpty()) {
            held = rois.add(made);
        } else {
            held = rois.replace(old.get(0), made);
            for (Roi r : old.subList(1, old.size())) rois.remove(r);
        }
        history.push(new Change(label, held, old, old.isEmpty() ? -1 : 0));
        return held;
    }

    /** Undoes the last {@link #annotate}; returns the object it concerned, 0 when there is nothing to undo. */
    public long undo() {
        Change c = history.poll();
        if (c == null) return 0;
        // the list may hold copies: later steps' "removed" ROIs are what rois() returned, so they match
        if (c.replacedAt >= 0) {
            rois.replace(c.added, c.removed.get(c.replacedAt));
        } else {
            rois.remove(c.added);
        }
        for (int i = 0; i < c.removed.size(); i++) if (i != c.replacedAt) rois.add(c.removed.get(i));
        return c.label;
    }

    /**
     * The ROIs that annotate object {@code label} and nothing else (single points, area ROIs).
     * Multi-point ROIs naming several objects are left alone: a later ROI wins over them anyway.
     */
    public List<Roi> roisOf(long label, int frame) {
        List<Roi> out = new ArrayList<>();
        for (Roi r : rois.rois()) {
            if (r instanceof PointRoi && ((PointRoi) r).size() > 1) continue;
            RoiAnnotations.Result one = RoiAnnotations.read(new Roi[] {r}, labels, image, frame, copy());
            if (one.classes.size() == 1 && one.classes.containsKey(label)) out.add(r);
        }
        return out;
    }

    /** All annotations of frame {@code frame} as the rest of phenosort reads them. */
    public RoiAnnotations.Result read(int frame) {
        RoiAnnotations.Result r = RoiAnnotations.read(rois.rois(), labels, image, frame, copy());
        // ROIs may bring classes (groups, names) the session did not know yet
        for (int i = classNames.size(); i < r.classNames.size(); i++) classNames.add(r.classNames.get(i));
        return r;
    }

    private List<String> copy() {
        return new ArrayList<>(Collections.unmodifiableList(classNames));
    }
}
