package org.phenosort.phenosort.imagej;

/**
 * Where an interactive session reports what it does: a status line (replaced at every change)
 * and log lines. The commands pass one that writes to ImageJ's status bar and Log window;
 * tests can pass their own.
 */
public interface StatusSink {
    /** Shows {@code message} as the current status (ImageJ's status bar). */
    void status(String message);

    /** Adds a line to the log. */
    void log(String line);

    /**
     * Replaces the last log line by {@code line} when the last line is {@code previous} (a running
     * count kept on one line), else adds it.
     */
    void replaceLog(String previous, String line);

    /** The status shown now, or null when this sink cannot tell (then nothing refreshes it). */
    default String current() {
        return null;
    }

    /** Reports nothing. */
    StatusSink NONE = new StatusSink() {
        @Override
        public void status(String message) {}

        @Override
        public void log(String line) {}

        @Override
        public void replaceLog(String previous, String line) {}
    };
}
