package org.phenosort.phenosort.workflow;

import ij.ImagePlus;
import ij.ImageStack;

/** Time points of ImageJ hyperstacks: the service classifies one (Z)(C)YX volume at a time. */
final class Frames {
    private Frames() {}

    /**
     * Time point {@code frame} (1-based) of {@code imp}, whole; {@code imp} itself when it has one.
     * Its planes are taken as they are, not through ImageJ's Duplicator, which crops to the
     * image's selection.
     */
    static ImagePlus of(ImagePlus imp, int frame) {
        if (imp.getNFrames() == 1) return imp;
        ImageStack all = imp.getStack();
        ImageStack one = new ImageStack(imp.getWidth(), imp.getHeight());
        for (int z = 1; z <= imp.getNSlices(); z++) {
            for (int c = 1; c <= imp.getNChannels(); c++) {  // ImageJ's order: channels vary fastest
                int i = imp.getStackIndex(c, z, frame);
                one.addSlice(all.getSliceLabel(i), all.getProcessor(i));
            }
        }
        ImagePlus out = new ImagePlus(imp.getTitle(), one);
        out.setDimensions(imp.getNChannels(), imp.getNSlices(), 1);
        out.setCalibration(imp.getCalibration());
        return out;
    }
}
