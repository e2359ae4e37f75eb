package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.gui.Overlay;
import ij.gui.Roi;
import ij.macro.Interpreter;
import ij.measure.ResultsTable;
import ij.plugin.filter.Analyzer;
import ij.plugin.frame.RoiManager;
import java.awt.GraphicsEnvironment;
import java.util.ArrayList;
import java.util.List;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ClassifierException;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.Glasbey;
import org.phenosort.phenosort.imagej.RoiList;
import org.phenosort.phenosort.imagej.StatusSink;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.workflow.LastError;
import org.phenosort.phenosort.workflow.MacroKeys;

/** What the PhenoSort commands share: image choices, ROI sources, model names, error reporting. */
final class CommandSupport {
    static {
        Glasbey.provideToRoiGroups();  // before any command reads or makes grouped ROIs
    }

    private CommandSupport() {}

    /** ImageJ's status bar and Log window, for the interactive sessions the commands start. */
    static final StatusSink IMAGEJ_SINK = new StatusSink() {
        @Override
        public void status(String message) {
            IJ.showStatus(message);
        }

        @Override
        public void log(String line) {
            IJ.log(line);
        }

        @Override
        public String current() {
            return ij.ImageJ.getStatusBarText();
        }

        @Override
        public void replaceLog(String previous, String line) {
            String log = IJ.getLog();
            boolean last = previous != null && log != null && log.trim().endsWith(previous);
            IJ.log(last ? "\\Update:" + line : line);
        }
    };

    /** True where a modal dialog would block: no display, a batch macro, or no ImageJ window. */
    static boolean quiet() {
        return GraphicsEnvironment.isHeadless() || IJ.getInstance() == null || Interpreter.isBatchMode();
    }

    /**
     * A command starts: the last error is cleared (macros test it with MacroApi.lastError).
     * Every command's run() calls this first.
     */
    static void begin() {
        LastError.clear();
    }

    /**
     * Shows an error message, or logs it where a dialog would block, and records it as the last
     * error (under -batch, where getInfo("log") is empty, MacroApi.lastError is how a macro sees it).
     */
    static void error(String message) {
        LastError.set(message);
        if (quiet()) {
            IJ.log("PhenoSort error: " + message.replace('\n', ' '));
        } else {
            IJ.error("PhenoSort", message);
        }
    }

    /** Reports a failure of a command, with the server's explanation when it came from the server. */
    static void error(String what, RuntimeException e) {
        String message = e instanceof ClassifierException ? e.getMessage() : e.getMessage() == null ? e.toString()
                : e.getMessage();
        if (e instanceof ClassifierException
                && ((ClassifierException) e).getCode() == io.grpc.Status.Code.UNAVAILABLE) {
            message += "\nIs the server running? Plugins>PhenoSort>Connect to Server (now "
                    + ServerSettings.host() + ":" + ServerSettings.port() + ")";
        }
        error(what + " failed:\n" + message);
    }

    /** Titles of the open images, or null (with an error shown) when fewer than {@code min} are open. */
    static String[] imageTitles(int min) {
        int[] ids = WindowManager.getIDList();
        if (ids == null || ids.length < min) {
            error(min > 1 ? "Open an image and its label image first." : "Open an image first.");
            return null;
        }
        String[] titles = new String[ids.length];
        for (int i = 0; i < ids.length; i++) titles[i] = WindowManager.getImage(ids[i]).getTitle();
        return titles;
    }

    /** The open image most likely to be the label image of {@code image}. */
    static String guessLabels(ImagePlus image, String[] titles) {
        String fallback = null;
        for (String t : titles) {
            ImagePlus imp = WindowManager.getImage(t);
            if (imp == null || imp == image || imp.getWidth() != image.getWidth()
                    || imp.getHeight() != image.getHeight() || imp.getBitDepth() == 24) continue;
            String lower = t.toLowerCase();
            if (lower.contains("label") || lower.contains("mask") || lower.contains("seg")) return t;
            if (fallback == null) fallback = t;
        }
        return fallback != null ? fallback : titles[titles.length > 1 && titles[0].equals(image.getTitle()) ? 1 : 0];
    }

    /** Adds "Image" and "Labels" choices (macro keys image= and labels=). */
    static void addImageChoices(GenericDialog gd, String[] titles) {
        ImagePlus current = WindowManager.getCurrentImage();
        String image = current != null ? current.getTitle() : titles[0];
        gd.addChoice(MacroKeys.field(MacroKeys.IMAGE, "Image"), titles, image);
        gd.addChoice(MacroKeys.field(MacroKeys.LABELS, "Labels"), titles, guessLabels(WindowManager.getImage(image), titles));
    }

    /** Adds the "Model" choice (the last one used first) and "Version (0 = latest)" (macro keys model= and version=). */
    static void addModelChoices(GenericDialog gd, String[] models) {
        gd.addChoice(MacroKeys.field(MacroKeys.MODEL, "Model"), models, ij.Prefs.get("phenosort.model", models[0]));
        gd.addNumericField(MacroKeys.field(MacroKeys.VERSION, "Version (0 = latest)"), 0, 0);
    }

    /** The annotation ROIs of {@code image}: the ROI Manager's, else the image's overlay. */
    static Roi[] annotationRois(ImagePlus image) {
        RoiManager rm = GraphicsEnvironment.isHeadless() ? null : RoiManager.getInstance2();
        if (rm != null && rm.getCount() > 0) return rm.getRoisAsArray();
        Overlay overlay = image.getOverlay();
        List<Roi> out = new ArrayList<>();
        // the drawings of Annotate Objects (outlines, the live layer) annotate nothing
        if (overlay != null) for (Roi r : overlay.toArray()) if (r.getProperty(RoiList.DRAWING) == null) out.add(r);
        return out.toArray(new Roi[0]);
    }

    /** The ROIs of the ROI Manager (the batch macro's in batch mode); empty without one. */
    static Roi[] managerRois() {
        RoiManager rm = GraphicsEnvironment.isHeadless() ? null : RoiManager.getInstance2();
        return rm == null ? new Roi[0] : rm.getRoisAsArray();
    }

    /** The open images (batch-mode images too). */
    static List<ImagePlus> openImages() {
        List<ImagePlus> out = new ArrayList<>();
        int[] ids = WindowManager.getIDList();
        if (ids != null) {
            for (int id : ids) {
                ImagePlus imp = WindowManager.getImage(id);
                if (imp != null) out.add(imp);
            }
        }
        return out;
    }

    /** The ROI Manager to add results to (a hidden one in batch macros), or null without a display. */
    static RoiManager roiManagerForOutput() {
        if (GraphicsEnvironment.isHeadless()) return null;
        if (Interpreter.isBatchMode() && IJ.isMacro()) return Interpreter.getBatchModeRoiManager();
        return RoiManager.getRoiManager();
    }

    /**
     * Makes {@code rt} ImageJ's "Results" table, so macros read it with nResults / getResult and
     * batch macros (where no window opens) see it too.
     */
    static void showAsResults(ResultsTable rt) {
        Analyzer.setResultsTable(rt);
        rt.show("Results");
    }

    /** Names of the server's models ({"classifier"} when it has none), or null after reporting an error. */
    static String[] modelNames() {
        List<String> names = new ArrayList<>();
        try (ClassifierClient client = ServerSettings.newClient()) {
            for (ModelInfo m : client.listModels()) names.add(m.getName());
        } catch (RuntimeException e) {
            error("Listing the models", e);
            return null;
        }
        if (names.isEmpty()) names.add("classifier");
        return names.toArray(new String[0]);
    }
}
