package org.phenosort.phenosort.imagej;

import ij.IJ;
import ij.measure.ResultsTable;
import ij.plugin.filter.Analyzer;
import java.awt.GraphicsEnvironment;

/**
 * A ResultsTable whose rows are keyed by a column of its own (the user's label IDs), so it never
 * shows ImageJ's row numbers. ImageJ 1.53t's {@code Analyzer.getResultsTable()} switches row
 * numbers back on for the system "Results" table at every macro access ({@code getResult},
 * {@code String.getResultsHeadings}, {@code saveAs("Results")}), which put a blank leading
 * heading and an unlabelled number column before "label"; this table ignores that.
 */
public final class KeyedResultsTable extends ResultsTable {
    public KeyedResultsTable() {
        super.showRowNumbers(false);
    }

    /** Row numbers stay off, whoever asks. */
    @Override
    public void showRowNumbers(boolean show) {
        super.showRowNumbers(false);
    }

    @Override
    public void showRowIndexes(boolean show) {
        super.showRowNumbers(false);
    }

    /**
     * Empties ImageJ's "Results" table (and its window, when one is open) after a failed command
     * that would have filled it, so that a macro going on never reads an earlier image's rows.
     */
    public static void clearResults() {
        ResultsTable empty = new ResultsTable();
        Analyzer.setResultsTable(empty);
        if (!GraphicsEnvironment.isHeadless() && IJ.isResultsWindow()) empty.show("Results");
    }
}
