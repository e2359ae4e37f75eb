package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.ImagePlus;
import ij.gui.GenericDialog;
import ij.io.FileSaver;
import ij.io.RoiEncoder;
import ij.measure.ResultsTable;
import ij.plugin.PlugIn;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.ObjectGeometry;
import org.phenosort.phenosort.imagej.ObjectRois;
import org.phenosort.phenosort.imagej.RoiAnnotations;
import org.phenosort.phenosort.workflow.Classification;
import org.phenosort.phenosort.workflow.FolderPairs;
import org.phenosort.phenosort.workflow.LastError;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Classify Folder: every image of {@code folder/Images} with its label image
 * of the same name in {@code folder/Masks}; writes {@code <stem>_classes.tif} (and
 * {@code <stem>_classes.zip} ROIs) per image, {@code objects.csv} and {@code summary.csv} (counts per
 * class per image) to the output folder, as {@code phenosort predict} does. A failed image is
 * reported in the summary and the others go on. Existing outputs are kept unless overwrite is set.
 * Recordable: {@code run("Classify Folder", "folder=/data output=/data/out model=cells version=0 rois");}
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

    /** Classifies the folder; returns the summary table, or null after reporting an error. */
    public static ResultsTable classifyFolder(File folder, File output, String model, int version, boolean rois,
            boolean overwrite) {
        List<FolderPairs.Pair> pairs;
        try {
            pairs = FolderPairs.find(folder);
            checkOutput(folder, output, pairs, overwrite);
        } catch (IllegalArgumentException e) {
            CommandSupport.error("Classify Folder", e);
            return null;
        }
        ResultsTable objects = new ResultsTable(), summary = new ResultsTable();
        objects.showRowNumbers(false);
        summary.showRowNumbers(false);
        int failed = 0;
        try (ClassifierClient client = ServerSettings.newClient()) {
            for (int i = 0; i < pairs.size(); i++) {
                FolderPairs.Pair p = pairs.get(i);
                IJ.showStatus("PhenoSort: " + (i + 1) + "/" + pairs.size() + " " + p.stem);
                IJ.showProgress(i, pairs.size());
                try {
                    classifyOne(client, p, output, model, version, rois, objects, summary);
                } catch (RuntimeException | IOException e) {
                    failed++;
                    summary.incrementCounter();
                    summary.addValue("image", p.stem);
                    summary.addValue("error", e.getMessage() == null ? e.toString() : e.getMessage());
                    IJ.log("PhenoSort: " + p.stem + " failed: " + e.getMessage());
                }
            }
        }
        IJ.showProgress(1.0);
        objects.save(new File(output, "objects.csv").getPath());
        summary.save(new File(output, "summary.csv").getPath());
        IJ.log("PhenoSort: classified " + (pairs.size() - failed) + " of " + pairs.size() + " images of " + folder
                + " into " + output + (failed > 0 ? " (" + failed + " failed, see summary.csv)" : ""));
        // the others went on, but a macro testing MacroApi.lastError learns that not all succeeded
        if (failed > 0) LastError.set(failed + " of " + pairs.size() + " images failed; see " + output + "/summary.csv");
        return summary;
    }

    private static void classifyOne(ClassifierClient client, FolderPairs.Pair p, File output, String model,
            int version, boolean rois, ResultsTable objects, ResultsTable summary) throws IOException {
        ImagePlus image = open(p.image), labels = open(p.mask);
        Classification c = Classification.run(client, model, version, image, labels, new Classification.Outputs());
        if (!new FileSaver(c.classMap).saveAsTiff(new File(output, p.stem + "_classes.tif").getPath())) {
            throw new IOException("cannot write " + new File(output, p.stem + "_classes.tif"));
        }
        if (rois) writeRois(new File(output, p.stem + "_classes.zip"), c, image, labels);
        ResultsTable t = c.table();
        for (int row = 0; row < t.size(); row++) {
            objects.incrementCounter();
            objects.addValue("image", p.stem);
            for (String column : t.getHeadings()) {
                double v = t.getValue(column, row);
                if (Double.isNaN(v)) objects.addValue(column, t.getStringValue(column, row));
                else objects.addValue(column, v);
            }
        }
        summary.incrementCounter();
        summary.addValue("image", p.stem);
        int[] counts = c.counts();
        int total = 0;
        for (int n : counts) total += n;
        summary.addValue("n_objects", total);
        for (int k = 0; k < counts.length; k++) summary.addValue(c.classNames.get(k), counts[k]);
    }

    private static ImagePlus open(File f) {
        ImagePlus imp = IJ.openImage(f.getPath());
        if (imp == null) throw new IllegalArgumentException(f + ": ImageJ cannot open this file");
        return imp;
    }

    private static void writeRois(File zip, Classification c, ImagePlus image, ImagePlus labels) throws IOException {
        try (ZipOutputStream out = new ZipOutputStream(new BufferedOutputStream(new FileOutputStream(zip)))) {
            DataOutputStream data = new DataOutputStream(out);
            RoiEncoder encoder = new RoiEncoder(data);
            Map<Long, Integer> classes = c.classesOf(1);
            int n = 0;
            for (ij.gui.Roi roi : ObjectRois.outlines(labels, image, 1, ObjectGeometry.measure(labels, 1),
                    label -> classes.getOrDefault(label, 0), c.classNames)) {
                out.putNextEntry(new ZipEntry(String.format("%05d-%s.roi", ++n, roi.getName())));
                encoder.write(roi);
                data.flush();
            }
        }
        RoiAnnotations.setGroupNames(c.classNames);
    }

    private static void checkOutput(File folder, File output, List<FolderPairs.Pair> pairs, boolean overwrite) {
        if (output.getAbsoluteFile().equals(folder.getAbsoluteFile())) {
            throw new IllegalArgumentException("the output folder is the data folder; choose another one");
        }
        if (!output.isDirectory() && !output.mkdirs()) throw new IllegalArgumentException("cannot create " + output);
        if (overwrite) return;
        for (String name : new String[] {"objects.csv", "summary.csv"}) {
            if (new File(output, name).exists()) {
                throw new IllegalArgumentException(new File(output, name) + " exists; choose an empty output folder "
                        + "or set overwrite");
            }
        }
        for (FolderPairs.Pair p : pairs) {
            File f = new File(output, p.stem + "_classes.tif");
            if (f.exists()) throw new IllegalArgumentException(f + " exists; choose an empty output folder or set overwrite");
        }
    }
}
