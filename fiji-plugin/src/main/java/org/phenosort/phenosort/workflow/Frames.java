package org.phenosort.phenosort.workflow;

import ij.ImagePlus;
import ij.plugin.Duplicator;

/** Time points of ImageJ hyperstacks: the service classifies one (Z)(C)YX volume at a time. */
final class Frames {
    private Frames() {}

    /** Time point {@code frame} (1-based) of {@code imp}; {@code imp} itself when it has one. */
    static ImagePlus of(ImagePlus imp, int frame) {
        if (imp.getNFrames() == 1) return imp;
        ImagePlus one = new Duplicator().run(imp, 1, imp.getNChannels(), 1, imp.getNSlices(), frame, frame);
        one.setCalibration(imp.getCalibration());
        return one;
    }
}
