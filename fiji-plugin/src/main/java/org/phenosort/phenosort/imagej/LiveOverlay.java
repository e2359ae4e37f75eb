package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.Overlay;
import ij.gui.Roi;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The live layer of an image's overlay: one outline ROI per object and slice, made once, then
 * restyled in place by each live update ({@link LiveStyles}) and redrawn in one repaint, so
 * nothing flickers. The layer lies under the annotation outlines; {@code l} hides it. Its ROIs
 * carry {@link RoiList#DRAWING} = "live", so nothing reads them as annotations.
 * Everything but {@link #outlines} runs on the event dispatch thread.
 */
final class LiveOverlay {
    static final String LAYER = "live";
    private final ImagePlus image;
    private final Map<Long, List<Roi>> rois;
    private boolean shown = true;
    private boolean styled;

    LiveOverlay(ImagePlus image, Map<Long, List<Roi>> rois) {
        this.image = image;
        this.rois = rois;
    }

    /**
     * The outlines of every object of time point {@code frame} (1-based), positioned for
     * {@code image}; slow for many objects, so call it off the event dispatch thread.
     */
    static Map<Long, List<Roi>> outlines(ImagePlus labels, ImagePlus image, int frame) {
        Map<Long, List<Roi>> out = new LinkedHashMap<>();
        for (ObjectGeometry g : ObjectGeometry.measure(labels, frame).values()) {
            List<Roi> slices = ObjectOutlines.outline(labels, image, g, frame);
            for (Roi r : slices) {
                r.setProperty(RoiList.DRAWING, LAYER);
                LiveStyles.apply(r, null, 0);
            }
            out.put(g.label, Collections.unmodifiableList(slices));
        }
        return out;
    }

    /** Restyles every object for {@code results} (class k coloured as annotation class colourClasses[k-1]) and redraws. */
    void show(LiveResults results, int[] colourClasses) {
        for (Map.Entry<Long, List<Roi>> e : rois.entrySet()) {
            LiveResults.Prediction p = results.get(e.getKey());
            int colour = p == null ? 0 : colourClasses[p.classIndex - 1];
            for (Roi r : e.getValue()) LiveStyles.apply(r, p, colour);
        }
        styled = true;
        if (shown) install();
        image.draw();
    }

    boolean isShown() {
        return shown;
    }

    /** Shows or hides the layer; returns whether it is shown now. */
    boolean toggle() {
        shown = !shown;
        if (shown && styled) install();
        else if (!shown) uninstall();
        image.draw();
        return shown;
    }

    /** Takes the layer off the overlay for good. */
    void remove() {
        shown = false;
        uninstall();
        image.draw();
    }

    /** Puts the layer at the bottom of the image's overlay unless it is there (someone may have cleared the overlay). */
    private void install() {
        Roi first = firstRoi();
        Overlay o = image.getOverlay();
        if (first == null || inOverlay(o).contains(first)) return;
        Overlay out = new Overlay();
        for (List<Roi> slices : rois.values()) for (Roi r : slices) out.add(r);
        if (o != null) {
            for (Roi r : o.toArray()) if (!LAYER.equals(r.getProperty(RoiList.DRAWING))) out.add(r);
            out.drawLabels(o.getDrawLabels());
            out.drawNames(o.getDrawNames());
        }
        image.setOverlay(out);
    }

    private void uninstall() {
        Overlay o = image.getOverlay();
        if (o == null) return;
        for (int i = o.size() - 1; i >= 0; i--) if (LAYER.equals(o.get(i).getProperty(RoiList.DRAWING))) o.remove(i);
        image.setOverlay(o.size() > 0 ? o : null);
    }

    /**
     * The ROIs of {@code o} by identity: Overlay.contains compares ROIs by type, bounds and
     * length, so an annotation's outline would pass for the live ROI of its object.
     */
    private static Set<Roi> inOverlay(Overlay o) {
        Set<Roi> out = Collections.newSetFromMap(new IdentityHashMap<>());
        if (o != null) Collections.addAll(out, o.toArray());
        return out;
    }

    private Roi firstRoi() {
        for (List<Roi> slices : rois.values()) if (!slices.isEmpty()) return slices.get(0);
        return null;
    }

    /**
     * What the overlay shows now, one entry per object in label order, as macros read it:
     * "label|class|kind|margin" joined by ";" (kind: sure, unsure); "" while hidden or before
     * the first update.
     */
    String describe() {
        Set<Roi> drawn = inOverlay(image.getOverlay());
        if (!shown || !styled) return "";
        List<String> out = new ArrayList<>();
        for (Map.Entry<Long, List<Roi>> e : rois.entrySet()) {
            if (e.getValue().isEmpty() || !drawn.contains(e.getValue().get(0))) continue;
            String shownAs = e.getValue().get(0).getProperty(LiveStyles.SHOWN);
            if (shownAs != null) out.add(e.getKey() + "|" + shownAs);
        }
        return String.join(";", out);
    }
}
