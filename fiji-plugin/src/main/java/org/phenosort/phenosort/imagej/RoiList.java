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

    /** Adds {@code roi}; returns the instance the list holds (the RoiManager may keep a copy). */
    Roi add(Roi roi);

    /** Puts {@code now} where {@code old} was (same index), so other ROIs keep their order; returns the held instance. */
    Roi replace(Roi old, Roi now);

    void remove(Roi roi);

    /**
     * The RoiManager's list, looked up on every call so a manager the user closed and reopened
     * is still the one used. All calls must come from one thread (the EDT in a session).
     */
    final class Manager implements RoiList {
        private RoiManager rm;

        private RoiManager rm() {
            RoiManager now = RoiManager.getInstance();
            if (now == null) now = RoiManager.getRoiManager();
            rm = now;
            return rm;
        }

        @Override
        public Roi[] rois() {
            return rm().getRoisAsArray();
        }

        @Override
        public Roi add(Roi roi) {
            rm().addRoi(roi);
            int i = rm.getCount() - 1;
            rm.rename(i, roi.getName());  // addRoi may make the name unique
            return rm.getRoi(i);
        }

        @Override
        public Roi replace(Roi old, Roi now) {
            rm();
            int i = indexOf(old);
            if (i < 0) return add(now);
            rm.setRoi(now, i);
            rm.rename(i, now.getName());
            return rm.getRoi(i);
        }

        private int indexOf(Roi roi) {
            return RoiList.indexOf(rm().getRoisAsArray(), roi);
        }

        @Override
        public void remove(Roi roi) {
            int i = indexOf(roi);
            if (i < 0) return;
            // "Delete" with nothing selected would ask to delete everything: select exactly this one
            rm.setSelectedIndexes(new int[] {i});
            if (rm.getSelectedIndex() == i) rm.runCommand("Delete");
        }
    }

    /**
     * Index of {@code roi} in the manager: itself, else a copy of it (same name, place and
     * position), since the manager stores copies of what it is given. -1: not there.
     */
    static int indexOf(Roi[] list, Roi roi) {
        for (int i = 0; i < list.length; i++) if (list[i] == roi) return i;
        for (int i = 0; i < list.length; i++) if (sameRoi(list[i], roi)) return i;
        return -1;
    }

    static boolean sameRoi(Roi a, Roi b) {
        return java.util.Objects.equals(a.getName(), b.getName()) && a.getType() == b.getType()
                && a.getBounds().equals(b.getBounds()) && a.getPosition() == b.getPosition()
                && a.getZPosition() == b.getZPosition() && a.getTPosition() == b.getTPosition()
                && java.util.Objects.equals(a.getProperty("label"), b.getProperty("label"))
                && java.util.Objects.equals(a.getProperty(RoiAnnotations.IMAGE), b.getProperty(RoiAnnotations.IMAGE));
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
        public Roi add(Roi roi) {
            overlay().add(roi);
            return roi;
        }

        @Override
        public Roi replace(Roi old, Roi now) {
            Overlay o = overlay();
            for (int i = 0; i < o.size(); i++) {
                if (o.get(i) == old) {
                    o.set(now, i);
                    return now;
                }
            }
            o.add(now);
            return now;
        }

        @Override
        public void remove(Roi roi) {
            overlay().remove(roi);
        }
    }
}
