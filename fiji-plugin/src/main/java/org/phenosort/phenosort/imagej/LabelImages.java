package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;

/** Reading object IDs from ImageJ label images (8-bit, 16-bit, or 32-bit float exact to 2^24). */
public final class LabelImages {
    private LabelImages() {}

    /** The object ID at (x, y), 0 for background. */
    public static long label(ImageProcessor ip, int x, int y) {
        if (ip instanceof FloatProcessor) {
            float v = ((float[]) ip.getPixels())[y * ip.getWidth() + x];
            return v > 0 ? (long) v : 0;
        }
        return ip.get(x, y);
    }

    /** The object ID at (x, y) of slice z (0-based) and frame t (1-based). */
    public static long label(ImagePlus labels, int x, int y, int z, int frame) {
        if (x < 0 || y < 0 || x >= labels.getWidth() || y >= labels.getHeight()) return 0;
        if (z < 0 || z >= labels.getNSlices()) return 0;
        return label(labels.getStack().getProcessor(labels.getStackIndex(1, z + 1, frame)), x, y);
    }

    /**
     * Fails with a message that names the problem when {@code labels} cannot be a label image of
     * {@code image}: colour, several channels, or a different size.
     */
    public static void checkPair(ImagePlus image, ImagePlus labels) {
        if (labels == null) throw new IllegalArgumentException("no label image: open the objects' label image");
        if (image == labels) {
            throw new IllegalArgumentException("the image and the label image are the same window ('"
                    + image.getTitle() + "'); choose the label image of the objects");
        }
        int type = labels.getType();
        if (type == ImagePlus.COLOR_RGB || type == ImagePlus.COLOR_256) {
            throw new IllegalArgumentException("label image '" + labels.getTitle()
                    + "' is a colour image; a label image is 8-, 16- or 32-bit with one ID per object");
        }
        if (labels.getNChannels() > 1) {
            throw new IllegalArgumentException("label image '" + labels.getTitle() + "' has "
                    + labels.getNChannels() + " channels; a label image has one");
        }
        if (image.getWidth() != labels.getWidth() || image.getHeight() != labels.getHeight()
                || image.getNSlices() != labels.getNSlices() || image.getNFrames() != labels.getNFrames()) {
            throw new IllegalArgumentException("shape mismatch: image '" + image.getTitle() + "' is " + describe(image)
                    + " but label image '" + labels.getTitle() + "' is " + describe(labels));
        }
    }

    static String describe(ImagePlus imp) {
        String s = imp.getWidth() + "x" + imp.getHeight();
        if (imp.getNSlices() > 1) s += ", " + imp.getNSlices() + " slices";
        if (imp.getNFrames() > 1) s += ", " + imp.getNFrames() + " frames";
        if (imp.getNChannels() > 1) s += ", " + imp.getNChannels() + " channels";
        return s;
    }
}
