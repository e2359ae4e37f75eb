package org.phenosort.phenosort.workflow;

import ij.measure.ResultsTable;
import java.io.File;

/**
 * The two tables of a folder run ({@link FolderRun}), in the order of the images:
 * {@code objects.csv} (each object's row of {@link Classification#table}, after its image's
 * stem) and {@code summary.csv} (per image the number of objects and the counts per class, or
 * the error of an image that failed).
 */
final class FolderTables {
    private final ResultsTable objects = new ResultsTable();
    private final ResultsTable summary = new ResultsTable();

    FolderTables() {
        objects.showRowNumbers(false);
        summary.showRowNumbers(false);
    }

    /** Image {@code stem} was classified as {@code c}: its objects' rows and its summary row. */
    void add(String stem, Classification c) {
        ResultsTable t = c.table();
        for (int row = 0; row < t.size(); row++) {
            objects.incrementCounter();
            objects.addValue("image", stem);
            for (String column : t.getHeadings()) {
                double v = t.getValue(column, row);
                if (Double.isNaN(v)) objects.addValue(column, t.getStringValue(column, row));
                else objects.addValue(column, v);
            }
        }
        summary.incrementCounter();
        summary.addValue("image", stem);
        int[] counts = c.counts();
        int total = 0;
        for (int n : counts) total += n;
        summary.addValue("n_objects", total);
        for (int k = 0; k < counts.length; k++) summary.addValue(c.classNames.get(k), counts[k]);
    }

    /** Image {@code stem} failed with {@code error}: its summary row says so. */
    void failed(String stem, String error) {
        summary.incrementCounter();
        summary.addValue("image", stem);
        summary.addValue("error", error);
    }

    /** Writes both tables into {@code output}, replacing old ones (the run checked that it may). */
    void save(File output) {
        objects.save(new File(output, FolderOutputs.OBJECTS_CSV).getPath());
        summary.save(new File(output, FolderOutputs.SUMMARY_CSV).getPath());
    }

    ResultsTable summary() {
        return summary;
    }
}
