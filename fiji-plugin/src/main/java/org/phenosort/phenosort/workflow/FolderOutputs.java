package org.phenosort.phenosort.workflow;

import java.io.File;
import java.util.List;

/**
 * The files a folder run ({@link FolderRun}) writes, and what it never does: write into the data
 * folder, or replace an output without overwrite. Both are checked before any image is classified.
 */
final class FolderOutputs {
    /** One row per object of every image. */
    static final String OBJECTS_CSV = "objects.csv";
    /** One row per image: counts per class, or the error of a failed image. */
    static final String SUMMARY_CSV = "summary.csv";

    private FolderOutputs() {}

    /** The class map of image {@code stem}. */
    static File classMap(File output, String stem) {
        return new File(output, stem + "_classes.tif");
    }

    /** The ROIs (outlines by class) of image {@code stem}. */
    static File rois(File output, String stem) {
        return new File(output, stem + "_classes.zip");
    }

    /**
     * Creates {@code output} where it does not exist yet; throws when it is the data folder, or
     * (unless {@code overwrite}) when a table or an image's class map is there already.
     *
     * @throws IllegalArgumentException saying which and what to do
     */
    static void check(File folder, File output, List<FolderPairs.Pair> pairs, boolean overwrite) {
        if (output.getAbsoluteFile().equals(folder.getAbsoluteFile())) {
            throw new IllegalArgumentException("the output folder is the data folder; choose another one");
        }
        if (!output.isDirectory() && !output.mkdirs()) throw new IllegalArgumentException("cannot create " + output);
        if (overwrite) return;
        for (String name : new String[] {OBJECTS_CSV, SUMMARY_CSV}) {
            if (new File(output, name).exists()) {
                throw new IllegalArgumentException(new File(output, name) + " exists; choose an empty output folder "
                        + "or set overwrite");
            }
        }
        for (FolderPairs.Pair p : pairs) {
            File f = classMap(output, p.stem);
            if (f.exists()) throw new IllegalArgumentException(f + " exists; choose an empty output folder or set overwrite");
        }
    }
}
