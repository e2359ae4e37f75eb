package org.phenosort.phenosort.workflow;

import ij.IJ;
import ij.measure.ResultsTable;
import java.io.File;
import java.io.IOException;
import java.util.List;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;

/**
 * A folder run, start to end (Classify Folder; {@code phenosort predict} in Python): every image
 * of {@code folder/Images} with its label image in {@code folder/Masks} is classified on the
 * connected server ({@link FolderImageJob}); an image that fails is reported in the summary and
 * the others go on; then the tables ({@link FolderTables}), one Log line, and
 * {@link LastError} set when an image failed. {@link #prepare} refuses to start where it would
 * overwrite outputs ({@link FolderOutputs}).
 */
public final class FolderRun {
    private final File folder;
    private final File output;
    private final List<FolderPairs.Pair> pairs;

    private FolderRun(File folder, File output, List<FolderPairs.Pair> pairs) {
        this.folder = folder;
        this.output = output;
        this.pairs = pairs;
    }

    /**
     * Pairs the folder's images and checks the output folder (creating it) before any image is
     * classified.
     *
     * @throws IllegalArgumentException when the folder has no pairs, or outputs would be replaced
     *     without {@code overwrite}
     */
    public static FolderRun prepare(File folder, File output, boolean overwrite) {
        List<FolderPairs.Pair> pairs = FolderPairs.find(folder);
        FolderOutputs.check(folder, output, pairs, overwrite);
        return new FolderRun(folder, output, pairs);
    }

    /** Classifies every image with model {@code model} (version 0: latest); returns the summary table. */
    public ResultsTable classify(String model, int version, boolean rois) {
        FolderTables tables = new FolderTables();
        int failed = 0;
        try (ClassifierClient client = ServerSettings.newClient()) {
            for (int i = 0; i < pairs.size(); i++) {
                FolderPairs.Pair p = pairs.get(i);
                IJ.showStatus("PhenoSort: " + (i + 1) + "/" + pairs.size() + " " + p.stem);
                IJ.showProgress(i, pairs.size());
                try {
                    tables.add(p.stem, FolderImageJob.run(client, p, output, model, version, rois));
                } catch (RuntimeException | IOException e) {
                    failed++;
                    tables.failed(p.stem, e.getMessage() == null ? e.toString() : e.getMessage());
                    IJ.log("PhenoSort: " + p.stem + " failed: " + e.getMessage());
                }
            }
        }
        IJ.showProgress(1.0);
        tables.save(output);
        reportOutcome(failed);
        return tables.summary();
    }

    /** The Log line; when an image failed, also the last error a macro can test. */
    private void reportOutcome(int failed) {
        IJ.log("PhenoSort: classified " + (pairs.size() - failed) + " of " + pairs.size() + " images of " + folder
                + " into " + output + (failed > 0 ? " (" + failed + " failed, see summary.csv)" : ""));
        // the others went on, but a macro testing MacroApi.lastError learns that not all succeeded
        if (failed > 0) LastError.set(failed + " of " + pairs.size() + " images failed; see " + output + "/summary.csv");
    }
}
