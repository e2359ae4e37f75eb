package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.ImageStack;
import ij.process.ImageProcessor;
import java.util.TreeMap;
import java.util.Map;

/**
 * Bounding box, size and centroid of every object of a label image (one time point), found in
 * one pass. Coordinates are 0-based pixels; z is the 0-based slice (0 for 2D).
 */
public final class ObjectGeometry {
    public final long label;
    public int minX = Integer.MAX_VALUE, minY = Integer.MAX_VALUE, minZ = Integer.MAX_VALUE;
    public int maxX = -1, maxY = -1, maxZ = -1;
    public long voxels;
    private double sumX, sumY, sumZ;

    private ObjectGeometry(long label) {
        this.label = label;
    }

    public double centroidX() {
        return sumX / voxels;
    }

    public double centroidY() {
        return sumY / voxels;
    }

    public double centroidZ() {
        return sumZ / voxels;
    }

    /** Every object of {@code labels} (frame {@code frame}, 1-based), by increasing label. */
    public static Map<Long, ObjectGeometry> measure(ImagePlus labels, int frame) {
        Map<Long, ObjectGeometry> objects = new TreeMap<>();
        ImageStack stack = labels.getStack();
        int w = labels.getWidth(), h = labels.getHeight();
        ObjectGeometry last = null;
        for (int z = 0; z < labels.getNSlices(); z++) {
            ImageProcessor ip = stack.getProcessor(labels.getStackIndex(1, z + 1, frame));
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    long v = LabelImages.label(ip, x, y);
                    if (v == 0) continue;
                    if (last == null || last.label != v) {  // runs of one label are the common case
                        last = objects.get(v);
                        if (last == null) {
                            last = new ObjectGeometry(v);
                            objects.put(v, last);
                        }
                    }
                    last.add(x, y, z);
                }
            }
        }
        return objects;
    }

    private void add(int x, int y, int z) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
        if (z < minZ) minZ = z;
        if (z > maxZ) maxZ = z;
        voxels++;
        sumX += x;
        sumY += y;
        sumZ += z;
    }
}
