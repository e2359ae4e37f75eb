package org.phenosort.phenosort.macro;

import ij.IJ;
import ij.ImagePlus;
import ij.Macro;
import ij.WindowManager;
import ij.gui.Roi;
import ij.io.FileSaver;
import ij.io.RoiDecoder;
import ij.measure.ResultsTable;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ClassifierException;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.ClassNames;
import org.phenosort.phenosort.imagej.KeyedResultsTable;
import org.phenosort.phenosort.proto.v1.JobState;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.proto.v1.ServerInfo;
import org.phenosort.phenosort.workflow.AnnotatedImage;
import org.phenosort.phenosort.workflow.Classification;
import org.phenosort.phenosort.workflow.LastError;
import org.phenosort.phenosort.workflow.MacroKeys;
import org.phenosort.phenosort.workflow.ModelFiles;
import org.phenosort.phenosort.workflow.Training;
import org.phenosort.phenosort.workflow.TrainingOptions;

/**
 * Static entry points for ImageJ macros that also work without a display (no {@code run()}), e.g.
 * <pre>
 * api = "org.phenosort.phenosort.macro.MacroApi";
 * r = call(api + ".connect", "127.0.0.1", "50051");
 * if (startsWith(r, "error")) exit(r);
 * r = call(api + ".train", "cells", "/data/img.tif", "/data/labels.tif", "rois=/data/rois.zip epochs=30");
 * r = call(api + ".classify", "/data/img.tif", "/data/labels.tif", "cells", "0", "save=/data/out");
 * </pre>
 * Images are window titles or file paths. Every method returns a string of "key=value" pairs;
 * failures return "error: CODE: message" instead of throwing.
 */
public final class MacroApi {
    private MacroApi() {}

    /** Stores the server address (as Connect to Server does) and checks it; returns the server info. */
    public static String connect(String host, String port) {
        return connect(host, port, "");
    }

    public static String connect(String host, String port, String token) {
        return outcome(connectNow(host, port, token));
    }

    private static String connectNow(String host, String port, String token) {
        try {
            int p = Integer.parseInt(port.trim().replaceAll("\\.0+$", ""));
            ServerSettings.set(host, p, token, ServerSettings.tls());
            return describe(ServerSettings.check());
        } catch (NumberFormatException e) {
            return "error: invalid port " + port;
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    /** The info of the stored server as "key=value" pairs separated by spaces. */
    public static String serverInfo() {
        return outcome(serverInfoNow());
    }

    private static String serverInfoNow() {
        try {
            return describe(ServerSettings.check());
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    /**
     * Adds the annotations of an image to {@code model}'s training set and trains on the whole
     * set: ROIs from {@code rois=<zip>} in the options, else the ROI Manager or the image's
     * overlay. Options (all optional): rois, classes (comma-separated), network, patch, epochs,
     * augmentation, normalization, validation, continue, all_images (also the annotations of
     * every open annotated image: ROIs tagged with its title, in the zip or ROI Manager, else on
     * its overlay), add_only (do not train). Returns "version=N objects=N set_objects=S
     * set_images=I [accuracy=A macro_f1=F] verdict=V" (objects: those added now; S, I: the
     * training set trained on), "added=N set_objects=S set_images=I" with add_only, or
     * "state=cancelled"; V is the chance check: better, uncertain (too few labels to tell) or
     * chance (learnt nothing that shows).
     */
    public static String train(String model, String image, String labels, String options) {
        return outcome(trainNow(model, image, labels, options));
    }

    private static String trainNow(String model, String image, String labels, String options) {
        try {
            ImagePlus imp = resolve(image), lab = resolve(labels);
            String o = options == null ? "" : options + " ";
            TrainingOptions t = new TrainingOptions();
            t.model = model;
            t.network = Macro.getValue(o, MacroKeys.NETWORK, t.network);
            t.patchSize = (int) number(Macro.getValue(o, MacroKeys.PATCH, "0"));
            t.epochs = (int) number(Macro.getValue(o, MacroKeys.EPOCHS, "0"));
            t.augmentation = Macro.getValue(o, MacroKeys.AUGMENTATION, t.augmentation);
            t.normalization = Macro.getValue(o, MacroKeys.NORMALIZATION, t.normalization);
            t.validation = number(Macro.getValue(o, MacroKeys.VALIDATION, "-1"));
            t.continueTraining = MacroKeys.flag(o, MacroKeys.CONTINUE);
            t.allImages = MacroKeys.flag(o, MacroKeys.ALL_IMAGES);
            t.addOnly = MacroKeys.flag(o, MacroKeys.ADD_ONLY);
            List<String> classes = ClassNames.parse(Macro.getValue(o, MacroKeys.CLASSES, ""));
            String zip = Macro.getValue(o, MacroKeys.ROIS, "");
            Roi[] shared = zip.isEmpty() ? managerRois() : readRoiZip(new File(zip));
            Roi[] rois = zip.isEmpty() ? roisOf(imp) : shared;
            AnnotatedImage.Collected data = t.allImages
                    ? AnnotatedImage.collectAll(imp, lab, rois, shared, openImages(), classes)
                    : AnnotatedImage.collect(imp, lab, rois, classes);
            for (String s : data.skipped) IJ.log("PhenoSort: " + s);
            Training.Result r;
            try (ClassifierClient client = ServerSettings.newClient()) {
                r = Training.train(client, t, data.classNames, data.images, null, null);
            }
            String set = " set_objects=" + Training.objects(r.trainingSet) + " set_images=" + r.trainingSet.getNImages();
            if (t.addOnly) return "added=" + data.count() + set;
            if (r.job.getState() == JobState.JOB_STATE_CANCELLED) return "state=cancelled";
            if (r.job.getState() != JobState.JOB_STATE_SUCCEEDED) return "error: training failed: " + r.job.getMessage();
            String out = "version=" + r.job.getVersion() + " objects=" + data.count() + set;
            com.google.gson.JsonObject v = r.validation();
            if (v != null) {
                out += String.format(Locale.ROOT, " accuracy=%.4f macro_f1=%.4f", v.get("accuracy").getAsDouble(),
                        v.get("macro_f1").getAsDouble());
            } else {
                log(r.noValidationReason());  // which cause: validation 0, or too few labels of a class
            }
            if (!r.decisions().isEmpty()) IJ.log("PhenoSort: " + r.decisions());
            if (!r.warning().isEmpty()) IJ.log("PhenoSort " + (r.atChance() ? "error: " : "warning: ") + r.warning());
            if (!r.verdict().isEmpty()) out += " verdict=" + r.verdict();
            return out;
        } catch (RuntimeException | IOException e) {
            return error(e);
        }
    }

    /**
     * Classifies every object of an image. Options: save=&lt;folder&gt; writes &lt;name&gt;_classes.tif and
     * &lt;name&gt;_objects.csv there; show displays the class map and sets the Results table.
     * Returns "objects=N &lt;class&gt;=count ...".
     */
    public static String classify(String image, String labels, String model, String version, String options) {
        String o = options == null ? "" : options + " ";
        boolean show = MacroKeys.flag(o, MacroKeys.SHOW);
        String result = outcome(classifyNow(image, labels, model, version, o, show));
        // the Results must not be an earlier classification's: the macro goes on after an error
        if (show && result.startsWith("error")) KeyedResultsTable.clearResults();
        return result;
    }

    private static String classifyNow(String image, String labels, String model, String version, String o,
            boolean show) {
        try {
            ImagePlus imp = resolve(image), lab = resolve(labels);
            Classification.Outputs outputs = new Classification.Outputs();
            if (MacroKeys.flag(o, MacroKeys.SELECTION)) outputs.inside = Classification.selectionOf(imp, lab);
            Classification c;
            try (ClassifierClient client = ServerSettings.newClient()) {
                c = Classification.run(client, model, (int) number(version), imp, lab, outputs);
            }
            ResultsTable table = c.table();
            String save = Macro.getValue(o, MacroKeys.SAVE, "");
            if (!save.isEmpty()) {
                File dir = new File(save);
                if (!dir.isDirectory() && !dir.mkdirs()) return "error: cannot create " + dir;
                String base = Classification.baseName(imp.getTitle());
                File map = new File(dir, base + "_classes.tif"), csv = new File(dir, base + "_objects.csv");
                if (map.exists() || csv.exists()) return "error: " + map + " or " + csv + " exists; not overwritten";
                if (!new FileSaver(c.classMap).saveAsTiff(map.getPath())) return "error: cannot write " + map;
                table.save(csv.getPath());
            }
            if (show) {
                c.classMap.show();
                ij.plugin.filter.Analyzer.setResultsTable(table);
                table.show("Results");
            }
            int[] counts = c.counts();
            int total = 0;
            StringBuilder s = new StringBuilder();
            for (int k = 0; k < counts.length; k++) {
                total += counts[k];
                s.append(' ').append(c.classNames.get(k).replace(' ', '_')).append('=').append(counts[k]);
            }
            return "objects=" + total + s;
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    /** The server's model names, comma-separated. */
    public static String listModels() {
        return outcome(listModelsNow());
    }

    private static String listModelsNow() {
        try (ClassifierClient client = ServerSettings.newClient()) {
            List<String> names = new ArrayList<>();
            for (ModelInfo m : client.listModels()) names.add(m.getName());
            return String.join(",", names);
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    public static String exportModel(String model, String version, String file) {
        return outcome(exportModelNow(model, version, file));
    }

    private static String exportModelNow(String model, String version, String file) {
        try (ClassifierClient client = ServerSettings.newClient()) {
            return "bytes=" + ModelFiles.exportModel(client, model, (int) number(version), new File(file), MacroApi::log);
        } catch (RuntimeException | IOException e) {
            return error(e);
        }
    }

    public static String importModel(String model, String file) {
        return outcome(importModelNow(model, file));
    }

    private static String importModelNow(String model, String file) {
        try (ClassifierClient client = ServerSettings.newClient()) {
            ModelInfo m = ModelFiles.importModel(client, model, new File(file), MacroApi::log);
            return "model=" + m.getName() + " version=" + m.getVersions(m.getVersionsCount() - 1);
        } catch (RuntimeException | IOException e) {
            return error(e);
        }
    }

    /** Deletes a version, or with version 0 the whole model. */
    public static String deleteModel(String model, String version) {
        return outcome(deleteModelNow(model, version));
    }

    private static String deleteModelNow(String model, String version) {
        try (ClassifierClient client = ServerSettings.newClient()) {
            client.deleteModel(model, (int) number(version));
            return "deleted=" + model;
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    /**
     * "" when the last PhenoSort command (run()) or MacroApi call succeeded, else its error
     * message. Batch macros go on after a failed run() (its error is only a Log line, and under
     * -batch getInfo("log") is empty): test this after each command, e.g.
     * {@code if (call(api + ".lastError") != "") exit(call(api + ".lastError"));}
     */
    public static String lastError() {
        return LastError.get();
    }

    // ------------------------------------------------------------------ helpers

    /** Records the result of a call as the last error ("error: ..." results) or a success. */
    private static String outcome(String result) {
        if (result != null && result.startsWith("error")) {
            LastError.set(result.replaceFirst("^error:?\\s*", ""));
        } else {
            LastError.clear();
        }
        return result;
    }

    private static void log(String line) {
        IJ.log("PhenoSort: " + line);
    }

    /** An open image by title, or an image file by path. */
    static ImagePlus resolve(String titleOrPath) {
        ImagePlus imp = WindowManager.getImage(titleOrPath);
        if (imp != null) return imp;
        File f = new File(titleOrPath);
        if (!f.isFile()) throw new IllegalArgumentException("no open image titled '" + titleOrPath + "' and no such file");
        imp = IJ.openImage(f.getPath());
        if (imp == null) throw new IllegalArgumentException(f + ": ImageJ cannot open this file");
        return imp;
    }

    private static Roi[] managerRois() {
        ij.plugin.frame.RoiManager rm =
                java.awt.GraphicsEnvironment.isHeadless() ? null : ij.plugin.frame.RoiManager.getInstance2();
        return rm == null ? new Roi[0] : rm.getRoisAsArray();
    }

    private static List<ImagePlus> openImages() {
        List<ImagePlus> out = new ArrayList<>();
        int[] ids = WindowManager.getIDList();
        if (ids != null) for (int id : ids) if (WindowManager.getImage(id) != null) out.add(WindowManager.getImage(id));
        return out;
    }

    private static Roi[] roisOf(ImagePlus imp) {
        ij.plugin.frame.RoiManager rm =
                java.awt.GraphicsEnvironment.isHeadless() ? null : ij.plugin.frame.RoiManager.getInstance2();
        if (rm != null && rm.getCount() > 0) return rm.getRoisAsArray();
        return imp.getOverlay() == null ? new Roi[0] : imp.getOverlay().toArray();
    }

    /** The ROIs of an ImageJ ROI zip (RoiManager's "Save..." format), in file order. */
    static Roi[] readRoiZip(File zip) throws IOException {
        if (!zip.isFile()) throw new IOException(zip + ": file not found");
        List<Roi> rois = new ArrayList<>();
        try (ZipFile z = new ZipFile(zip)) {
            for (java.util.Enumeration<? extends ZipEntry> e = z.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                if (!entry.getName().endsWith(".roi")) continue;
                byte[] bytes = readAll(z.getInputStream(entry));
                Roi roi = new RoiDecoder(bytes, entry.getName()).getRoi();
                if (roi != null) rois.add(roi);
            }
        }
        return rois.toArray(new Roi[0]);
    }

    private static byte[] readAll(java.io.InputStream in) throws IOException {
        try (java.io.InputStream input = in) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = input.read(buf)) > 0; ) out.write(buf, 0, n);
            return out.toByteArray();
        }
    }

    private static double number(String s) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: '" + s + "'");
        }
    }

    private static String error(Exception e) {
        if (e instanceof ClassifierException) return "error: " + e.getMessage();
        return "error: " + (e.getMessage() == null ? e.toString() : e.getMessage()).replace('\n', ' ');
    }

    private static String describe(ServerInfo info) {
        return "phenosort=" + info.getPhenosortVersion() + " api=" + info.getApiVersion() + " torch="
                + info.getTorchVersion() + " device=" + info.getDevice() + " networks="
                + String.join(",", info.getNetworksList()) + " host=" + ServerSettings.host() + " port="
                + ServerSettings.port();
    }
}
