package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.PointRoi;
import ij.gui.Roi;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One outline ROI per object of a label image, named, grouped and coloured by its class, e.g. to
 * show classified objects in the RoiManager or save them for QuPath; tagged with the image's
 * title ({@link RoiAnnotations#tag}), so that corrected ones train as that image's annotations.
 */
public final class ObjectRois {
    private ObjectRois() {}

    /** A class assigned to an object. */
    public interface ClassOf {
        /** Class index (1-based) of object {@code label}, 0 to skip it. */
        int classOf(long label);
    }

    /**
     * Outlines of the objects of frame {@code frame} (1-based); a 3D object is outlined on its
     * middle slice with the ROI's position set there.
     *
     * @param image the image the ROIs will be shown on (for stack positions); may be labels
     */
    public static List<Roi> outlines(ImagePlus labels, ImagePlus image, int frame, Map<Long, ObjectGeometry> objects,
            ClassOf classes, List<String> classNames) {
        List<Roi> rois = new ArrayList<>();
        for (ObjectGeometry g : objects.values()) {
            int k = classes.classOf(g.label);
            if (k <= 0) continue;
            int z = labels.getNSlices() > 1 ? (int) Math.round(g.centroidZ()) : 0;
            Roi roi = ObjectOutlines.onSlice(labels, g, z, frame);
            if (roi == null) {  // a hollow 3D object: its pixel nearest the centroid
                int[] p = ObjectOutlines.innerPoint(labels, g, frame);
                z = p[2];
                roi = new PointRoi(p[0] + 0.5, p[1] + 0.5);
            }
            RoiAnnotations.style(roi, g.label, k, k <= classNames.size() ? classNames.get(k - 1) : "class " + k);
            if (image != labels) RoiAnnotations.tag(roi, image, labels);  // in the ROI Manager, they are this image's
            ObjectOutlines.setPosition(roi, image, z, frame);
            rois.add(roi);
        }
        return rois;
    }
}
