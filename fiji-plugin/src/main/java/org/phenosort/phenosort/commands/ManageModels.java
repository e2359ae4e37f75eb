package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.gui.GenericDialog;
import ij.measure.ResultsTable;
import ij.plugin.PlugIn;
import java.io.File;
import java.io.IOException;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.proto.v1.ClassCount;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.workflow.MacroKeys;
import org.phenosort.phenosort.workflow.ModelFiles;

/**
 * Plugins &gt; PhenoSort &gt; Models: list the server's models, export a version to a file, import a
 * model file, delete a version or a whole model. Recordable, e.g.
 * {@code run("Models", "action=export model=cells version=0 file=/tmp/cells.phenosort");}
 */
public class ManageModels implements PlugIn {
    public static final String[] ACTIONS = {"list", "export", "import", "delete"};

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        String[] models = CommandSupport.modelNames();
        if (models == null) return;
        GenericDialog gd = new GenericDialog("PhenoSort: Models");
        gd.addChoice(MacroKeys.field(MacroKeys.ACTION, "Action"), ACTIONS, "list");
        gd.addStringField(MacroKeys.field(MacroKeys.MODEL, "Model"), ij.Prefs.get("phenosort.model", models[0]), 20);
        gd.addNumericField(MacroKeys.field(MacroKeys.VERSION, "Version (0 = latest; for delete: the whole model)"), 0, 0);
        gd.addFileField(MacroKeys.field(MacroKeys.FILE, "File (export to / import from)"), "");
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
                    ModelFiles.exportModel(client, model, version, new File(file), ManageModels::log);
                    break;
                case "import":
                    ModelFiles.importModel(client, model, new File(file), ManageModels::log);
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

    /** A Log line of the Models command. */
    static void log(String line) {
        IJ.log("PhenoSort: " + line);
    }
}
