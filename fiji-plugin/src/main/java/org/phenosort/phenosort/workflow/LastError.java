package org.phenosort.phenosort.workflow;

/**
 * The outcome of the last PhenoSort command or macro call, for macros to test: "" after a
 * success, else the error message. Every command clears it when it starts and sets it when it
 * fails; macros read it with {@code call("org.phenosort.phenosort.macro.MacroApi.lastError")}.
 * One value for the whole ImageJ (macros run one command at a time).
 */
public final class LastError {
    private static volatile String message = "";

    private LastError() {}

    /** A command starts: no error yet. */
    public static void clear() {
        message = "";
    }

    /** A command failed with {@code error} (one line). */
    public static void set(String error) {
        String m = error == null || error.trim().isEmpty() ? "failed" : error.trim();
        message = m.replace('\n', ' ');
    }

    /** "" after a success, else the message of the last failure. */
    public static String get() {
        return message;
    }
}
