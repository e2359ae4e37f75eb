package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.gui.GenericDialog;
import ij.measure.ResultsTable;
import ij.plugin.PlugIn;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.proto.v1.ClassCount;
import org.phenosort.phenosort.proto.v1.ModelInfo;

/**
 * Plugins &gt; PhenoSort &gt; Models: list the server's models, export a version to a file, import a
 * model file, delete a version or a whole model. Recordable, e.g.
 * {@code run("Models", "action=export model=cells version=0 file=/tmp/cells.phenosort");}
 */
public class ManageModels implements PlugIn {
    public static final String[] ACTIONS = {"list", "export", "import", "delete"};

    @Override
    public void run(String arg) {
        String[] models = CommandSupport.modelNames();
        if (models == null) return;
        GenericDialog gd = new GenericDialog("PhenoSort: Models");
        gd.addChoice("Action", ACTIONS, "list");
        gd.addStringField("Model", ij.Prefs.get("phenosort.model", models[0]), 20);
        gd.addNumericField("Version (0 = latest; for delete: the whole model)", 0, 0);
        gd.addFileField("File (export to / import from)", "");
        gd.addMessage("Models: " + String.join(", ", models));
        gd.showDialog();
        if (gd.wasCanceled()) return;
        String action = gd.getNextChoice(), model = gd.getNextString().trim();
        int version = (int) gd.getNextNumber();
        String file = gd.getNextString().trim();
        try (ClassifierClient client = ServerSettings.newClient()) {
            switch (action) {
                case "list":
                    list(client).show("PhenoSort models");
                    break;
                case "export":
                    exportModel(client, model, version, new File(file));
                    break;
                case "import":
                    importModel(client, model, new File(file));
                    break;
                default:
                    if (!CommandSupport.quiet() && !IJ.isMacro() && !IJ.showMessageWithCancel("PhenoSort",
                            "Delete " + (version == 0 ? "model '" + model + "' with all its versions and training set"
                                    : "version " + version + " of '" + model + "'") + "?")) {
                        return;
                    }
                    client.deleteModel(model, version);
                    IJ.log("PhenoSort: deleted " + (version == 0 ? "model '" + model + "'" : "version " + version
                            + " of '" + model + "'"));
            }
        } catch (RuntimeException e) {
            CommandSupport.error("Models: " + action, e);
        } catch (IOException e) {
            CommandSupport.error("Models: " + action + " failed:\n" + e.getMessage());
        }
    }

    /** One row per model: name, classes, versions, annotated images and objects per class. */
    public static ResultsTable list(ClassifierClient client) {
        ResultsTable rt = new ResultsTable();
        rt.showRowNumbers(false);
        for (ModelInfo m : client.listModels()) {
            rt.incrementCounter();
            rt.addValue("model", m.getName());
            rt.addValue("classes", String.join(",", m.getClassNamesList()));
            StringBuilder versions = new StringBuilder();
            for (int v : m.getVersionsList()) versions.append(versions.length() > 0 ? "," : "").append(v);
            rt.addValue("versions", versions.toString());
            rt.addValue("images", m.getTrainingSet().getNImages());
            for (ClassCount c : m.getTrainingSet().getCountsList()) rt.addValue("n_" + c.getClassName(), c.getCount());
        }
        return rt;
    }

    /** Writes a version to {@code file} (never over an existing file); returns the bytes written. */
    public static long exportModel(ClassifierClient client, String model, int version, File file) throws IOException {
        if (file.getPath().isEmpty()) throw new IOException("no file given to export to");
        if (file.exists()) throw new IOException(file + " exists; choose another file name");
        File part = new File(file.getPath() + ".part");
        long n;
        try (OutputStream out = new FileOutputStream(part)) {
            n = client.exportModel(model, version, out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(part.toPath());
            throw e;
        }
        Files.move(part.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE);
        IJ.log("PhenoSort: exported '" + model + "' " + (version == 0 ? "latest version" : "version " + version)
                + " to " + file + " (" + n + " bytes)");
        exportReport(client, model, version, file);
        return n;
    }

    /** The training report beside an exported model file: m.phenosort -> m.report.html (never over a file). */
    static File exportReport(ClassifierClient client, String model, int version, File modelFile) {
        String name = modelFile.getName();
        int dot = name.lastIndexOf('.');
        File page = new File(modelFile.getAbsoluteFile().getParentFile(),
                (dot > 0 ? name.substring(0, dot) : name) + ".report.html");
        if (page.exists()) {
            IJ.log("PhenoSort: " + page + " exists; the training report was not written");
            return null;
        }
        try {
            Files.write(page.toPath(), client.trainingReport(model, version));
            IJ.log("PhenoSort: its training report is " + page);
            return page;
        } catch (IOException | RuntimeException e) {  // the model file is written: only say so
            IJ.log("PhenoSort: the training report could not be written: " + e.getMessage());
            return null;
        }
    }

    public static ModelInfo importModel(ClassifierClient client, String model, File file) throws IOException {
        if (!file.isFile()) throw new IOException(file + ": file not found");
        try (InputStream in = new FileInputStream(file)) {
            ModelInfo info = client.importModel(model, in);
            IJ.log("PhenoSort: imported " + file + " as model '" + info.getName() + "' version "
                    + info.getVersions(info.getVersionsCount() - 1));
            return info;
        }
    }
}
