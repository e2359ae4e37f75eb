package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.PointRoi;
import ij.gui.Roi;
import ij.plugin.filter.ThresholdToSelection;
import ij.process.ByteProcessor;
import ij.process.ImageProcessor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One outline ROI per object of a label image, named, grouped and coloured by its class, e.g. to
 * show classified objects in the RoiManager or save them for QuPath.
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
     * @param image the image the ROIs will be shown on (for hyperstack positions); may be labels
     */
    public static List<Roi> outlines(ImagePlus labels, ImagePlus image, int frame, Map<Long, ObjectGeometry> objects,
            ClassOf classes, List<String> classNames) {
        List<Roi> rois = new ArrayList<>();
        boolean hyper = image.getNChannels() > 1 || image.getNFrames() > 1;
        for (ObjectGeometry g : objects.values()) {
            int k = classes.classOf(g.label);
            if (k <= 0) continue;
            int z = labels.getNSlices() > 1 ? (int) Math.round(g.centroidZ()) : 0;
            Roi roi = outline(labels, g, z, frame);
            RoiAnnotations.style(roi, g.label, k, k <= classNames.size() ? classNames.get(k - 1) : "class " + k);
            if (hyper) {
                roi.setPosition(0, image.getNSlices() > 1 ? z + 1 : 0, image.getNFrames() > 1 ? frame : 0);
            } else if (image.getStackSize() > 1) {
                roi.setPosition(z + 1);
            }
            rois.add(roi);
        }
        return rois;
    }

    /** The outline of object {@code g} on slice z (0-based); a point ROI when it has no pixel there. */
    public static Roi outline(ImagePlus labels, ObjectGeometry g, int z, int frame) {
        ImageProcessor ip = labels.getStack().getProcessor(labels.getStackIndex(1, z + 1, frame));
        int w = g.maxX - g.minX + 1, h = g.maxY - g.minY + 1;
        ByteProcessor mask = new ByteProcessor(w, h);
        byte[] px = (byte[]) mask.getPixels();
        boolean any = false;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (LabelImages.label(ip, g.minX + x, g.minY + y) == g.label) {
                    px[y * w + x] = (byte) 255;
                    any = true;
                }
            }
        }
        if (!any) return new PointRoi(g.centroidX() + 0.5, g.centroidY() + 0.5);
        mask.setThreshold(255, 255, ImageProcessor.NO_LUT_UPDATE);
        Roi roi = new ThresholdToSelection().convert(mask);
        roi.setLocation(roi.getXBase() + g.minX, roi.getYBase() + g.minY);
        return roi;
    }
}
