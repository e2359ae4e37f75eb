package org.phenosort.phenosort.workflow;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import ij.io.RoiEncoder;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.imagej.ObjectGeometry;
import org.phenosort.phenosort.imagej.ObjectRois;
import org.phenosort.phenosort.imagej.RoiAnnotations;

/**
 * One image of a folder run ({@link FolderRun}): opens the image and its label image, classifies
 * its objects and writes its files ({@link FolderOutputs#classMap}, with {@code rois} also
 * {@link FolderOutputs#rois}). A failure is thrown; the run records it and goes on.
 */
final class FolderImageJob {
    private FolderImageJob() {}

    static Classification run(ClassifierClient client, FolderPairs.Pair p, File output, String model, int version,
            boolean rois) throws IOException {
        ImagePlus image = open(p.image), labels = open(p.mask);
        Classification c = Classification.run(client, model, version, image, labels, new Classification.Outputs());
        File classMap = FolderOutputs.classMap(output, p.stem);
        if (!new FileSaver(c.classMap).saveAsTiff(classMap.getPath())) {
            throw new IOException("cannot write " + classMap);
        }
        if (rois) writeRois(FolderOutputs.rois(output, p.stem), c, image, labels);
        return c;
    }

    private static ImagePlus open(File f) {
        ImagePlus imp = IJ.openImage(f.getPath());
        if (imp == null) throw new IllegalArgumentException(f + ": ImageJ cannot open this file");
        return imp;
    }

    /** The outlines of the classified objects, named and grouped by class, as an ImageJ ROI zip. */
    private static void writeRois(File zip, Classification c, ImagePlus image, ImagePlus labels) throws IOException {
        try (ZipOutputStream out = new ZipOutputStream(new BufferedOutputStream(new FileOutputStream(zip)))) {
            DataOutputStream data = new DataOutputStream(out);
            RoiEncoder encoder = new RoiEncoder(data);
            Map<Long, Integer> classes = c.classesOf(1);
            int n = 0;
            for (ij.gui.Roi roi : ObjectRois.outlines(labels, image, 1, ObjectGeometry.measure(labels, 1),
                    label -> classes.getOrDefault(label, 0), c.classNames)) {
                out.putNextEntry(new ZipEntry(String.format("%05d-%s.roi", ++n, roi.getName())));
                encoder.write(roi);
                data.flush();
            }
        }
        RoiAnnotations.setGroupNames(c.classNames);
    }
}
