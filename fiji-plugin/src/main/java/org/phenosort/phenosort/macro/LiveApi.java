package org.phenosort.phenosort.macro;

import ij.ImagePlus;
import ij.WindowManager;
import org.phenosort.phenosort.imagej.AnnotationSession;
import org.phenosort.phenosort.imagej.LiveMode;

/**
 * The live mode of Annotate Objects from macros, e.g.
 * <pre>
 * run("Annotate Objects", "image=cells.tif labels=cells-labels.tif classes=[a,b] model=cells live");
 * s = call("org.phenosort.phenosort.macro.LiveApi.state", "cells.tif");    // "ok live=on overlay=shown labels=4 ..."
 * o = call("org.phenosort.phenosort.macro.LiveApi.overlay", "cells.tif");  // "ok 12|a|sure|0.8123;13|b|unsure|0.0412;..."
 * v = call("org.phenosort.phenosort.macro.LiveApi.commit", "cells.tif");   // "ok version=3 labels=4"
 * </pre>
 * Returns "ok ..." or "error: ...".
 */
public final class LiveApi {
    /** How long {@link #commit} waits (the server first lets the live model catch up with the labels). */
    static final long COMMIT_WAIT_MS = 310_000;

    private LiveApi() {}

    /**
     * The live mode of the session on the image: "ok live=on overlay=shown|hidden labels=N
     * labels_version=L updated_version=U sequence=S quick=false settled=true sending=0 objects=O
     * model=M current=C" (U = L: the overlay reflects every label sent; settled: the live model is
     * the server's full training on these labels; C: the clicked or proposed object), or
     * "ok live=off model=M reason=[...] current=C".
     */
    public static String state(String imageTitle) {
        try {
            AnnotationSession s = session(imageTitle);
            return "ok " + live(s).state() + " current=" + s.currentObject();
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
    }

    /**
     * What the live overlay shows, one entry per object in label order: "ok label|class|kind|margin;..."
     * (kind: sure = filled, unsure = dashed outline); "ok " alone while it is hidden or has no update yet.
     */
    public static String overlay(String imageTitle) {
        try {
            return "ok " + live(session(imageTitle)).overlay();
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
    }

    /** Saves the live model as the model's next version (key c): "ok version=V labels=N". */
    public static String commit(String imageTitle) {
        try {
            return live(session(imageTitle)).commitAndWait(COMMIT_WAIT_MS);
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
    }

    private static AnnotationSession session(String title) {
        ImagePlus imp = WindowManager.getImage(title);
        if (imp == null) throw new IllegalArgumentException("no open image titled '" + title + "'");
        AnnotationSession s = AnnotationSession.of(imp);
        if (s == null) throw new IllegalArgumentException("Annotate Objects is not running on '" + title + "'");
        return s;
    }

    private static LiveMode live(AnnotationSession s) {
        if (s.live() == null) throw new IllegalArgumentException("Annotate Objects runs without live mode on this image");
        return s.live();
    }
}
