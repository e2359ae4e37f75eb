package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.Overlay;
import ij.gui.Roi;
import ij.plugin.frame.RoiManager;
import java.util.ArrayList;
import java.util.List;

/**
 * Where annotation ROIs live: the RoiManager when there is a display (so they save as a ROI zip),
 * the image's Overlay when headless (a RoiManager is a Frame and cannot exist there).
 */
public interface RoiList {
    /** Property that marks the session's own drawings (outlines), which are not annotations. */
    String DRAWING = "phenosort-drawing";

    Roi[] rois();

    void add(Roi roi);

    /** Puts {@code now} where {@code old} was (same index), so other ROIs keep their order. */
    void replace(Roi old, Roi now);

    void remove(Roi roi);

    /** The RoiManager's list. All calls must come from one thread (the EDT in a session). */
    final class Manager implements RoiList {
        private final RoiManager rm;

        public Manager(RoiManager rm) {
            this.rm = rm;
        }

        @Override
        public Roi[] rois() {
            return rm.getRoisAsArray();
        }

        @Override
        public void add(Roi roi) {
            rm.addRoi(roi);
            rm.rename(rm.getCount() - 1, roi.getName());  // addRoi may make the name unique
        }

        @Override
        public void replace(Roi old, Roi now) {
            int i = rm.getRoiIndex(old);
            if (i < 0) {
                add(now);
            } else {
                rm.setRoi(now, i);
                rm.rename(i, now.getName());
            }
        }

        @Override
        public void remove(Roi roi) {
            int i = rm.getRoiIndex(roi);
            if (i < 0) return;
            // "Delete" with nothing selected would ask to delete everything: select exactly this one
            rm.setSelectedIndexes(new int[] {i});
            if (rm.getSelectedIndex() == i) rm.runCommand("Delete");
        }
    }

    /** The image's Overlay, minus the session's drawings. */
    final class OnOverlay implements RoiList {
        private final ImagePlus image;

        public OnOverlay(ImagePlus image) {
            this.image = image;
        }

        private Overlay overlay() {
            Overlay o = image.getOverlay();
            if (o == null) {
                o = new Overlay();
                image.setOverlay(o);
            }
            return o;
        }

        @Override
        public Roi[] rois() {
            List<Roi> out = new ArrayList<>();
            Overlay o = image.getOverlay();
            if (o != null) for (Roi r : o.toArray()) if (r.getProperty(DRAWING) == null) out.add(r);
            return out.toArray(new Roi[0]);
        }

        @Override
        public void add(Roi roi) {
            overlay().add(roi);
        }

        @Override
        public void replace(Roi old, Roi now) {
            Overlay o = overlay();
            for (int i = 0; i < o.size(); i++) {
                if (o.get(i) == old) {
                    o.set(now, i);
                    return;
                }
            }
            o.add(now);
        }

        @Override
        public void remove(Roi roi) {
            overlay().remove(roi);
        }
    }
}
