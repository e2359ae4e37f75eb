package org.phenosort.phenosort.commands;

import ij.gui.GenericDialog;
import ij.measure.ResultsTable;
import ij.plugin.PlugIn;
import java.io.File;
import org.phenosort.phenosort.workflow.FolderRun;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Classify Folder: every image of {@code folder/Images} with its label image
 * of the same name in {@code folder/Masks}; writes {@code <stem>_classes.tif} (and
 * {@code <stem>_classes.zip} ROIs) per image, {@code objects.csv} and {@code summary.csv} (counts per
 * class per image) to the output folder, as {@code phenosort predict} does. A failed image is
 * reported in the summary and the others go on. Existing outputs are kept unless overwrite is set.
 * Recordable: {@code run("Classify Folder", "folder=/data output=/data/out model=cells version=0 rois");}
 * The command reads the dialog and shows the summary; the run is {@link FolderRun}'s.
 */
public class ClassifyFolder implements PlugIn {

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        String[] models = CommandSupport.modelNames();
        if (models == null) return;
        GenericDialog gd = new GenericDialog("PhenoSort: Classify Folder");
        gd.addDirectoryField(MacroKeys.field(MacroKeys.FOLDER, "Folder (with Images/ and Masks/)"), ij.Prefs.get("phenosort.folder", ""), 30);
        gd.addDirectoryField(MacroKeys.field(MacroKeys.OUTPUT, "Output folder"), ij.Prefs.get("phenosort.output", ""), 30);
        CommandSupport.addModelChoices(gd, models);
        gd.addCheckbox(MacroKeys.field(MacroKeys.ROIS, "ROIs by class (zip per image)"), false);
        gd.addCheckbox(MacroKeys.field(MacroKeys.OVERWRITE, "Overwrite existing outputs"), false);
        gd.showDialog();
        if (gd.wasCanceled()) return;
        File folder = new File(gd.getNextString());
        File output = new File(gd.getNextString());
        String model = gd.getNextChoice();
        int version = (int) gd.getNextNumber();
        boolean rois = gd.getNextBoolean(), overwrite = gd.getNextBoolean();
        ij.Prefs.set("phenosort.folder", folder.getPath());
        ij.Prefs.set("phenosort.output", output.getPath());
        ResultsTable summary = classifyFolder(folder, output, model, version, rois, overwrite);
        if (summary != null) summary.show("PhenoSort summary");
    }

    /**
     * Classifies the folder ({@link FolderRun}); returns the summary table, or null after
     * reporting why the run did not start (no image pairs, outputs that would be replaced).
     */
    public static ResultsTable classifyFolder(File folder, File output, String model, int version, boolean rois,
            boolean overwrite) {
        FolderRun run;
        try {
            run = FolderRun.prepare(folder, output, overwrite);
        } catch (IllegalArgumentException e) {
            CommandSupport.error("Classify Folder", e);
            return null;
        }
        return run.classify(model, version, rois);
    }
}
