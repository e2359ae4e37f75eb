package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.gui.Overlay;
import ij.gui.Roi;
import ij.plugin.PlugIn;
import ij.plugin.frame.RoiManager;
import java.util.List;
import java.util.Map;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.KeyedResultsTable;
import org.phenosort.phenosort.imagej.ObjectGeometry;
import org.phenosort.phenosort.imagej.ObjectRois;
import org.phenosort.phenosort.imagej.RoiAnnotations;
import org.phenosort.phenosort.workflow.Classification;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Classify Objects: the class of every object of the image (with
 * "selection": of those whose centre is inside the image's selection) with a model version; shows
 * the class map (Glasbey LUT, class k = ROI group k), the table of objects (as "Results"), and
 * optionally ROIs by class, per-class label images and a confidence map.
 * Recordable, e.g. {@code run("Classify Objects", "image=blobs.tif labels=labels.tif model=cells
 * version=0 results rois");}
 */
public class ClassifyObjects implements PlugIn {

    /** What to show. */
    public static final class Show {
        public boolean classMap = true;
        public boolean results = true;
        public boolean rois;
        public boolean classMasks;
        public boolean confidenceMap;
        /** Only the objects whose centre lies inside the image's selection. */
        public boolean selection;
    }

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        String[] titles = CommandSupport.imageTitles(2);
        String[] models = titles == null ? null : CommandSupport.modelNames();
        if (models == null) {
            // failed before classifying: the Results must not be an earlier image's (batch macros go on)
            KeyedResultsTable.clearResults();
            return;
        }
        Show show = new Show();
        GenericDialog gd = new GenericDialog("PhenoSort: Classify Objects");
        CommandSupport.addImageChoices(gd, titles);
        CommandSupport.addModelChoices(gd, models);
        gd.addCheckbox(MacroKeys.field(MacroKeys.CLASS_MAP, "Class map"), true);
        gd.addCheckbox(MacroKeys.field(MacroKeys.RESULTS, "Results table"), true);
        gd.addCheckbox(MacroKeys.field(MacroKeys.ROIS, "ROIs by class (ROI Manager)"), false);
        gd.addCheckbox(MacroKeys.field(MacroKeys.CLASS_MASKS, "Per-class label images"), false);
        gd.addCheckbox(MacroKeys.field(MacroKeys.CONFIDENCE, "Confidence map"), false);
        gd.addCheckbox(MacroKeys.field(MacroKeys.SELECTION, "Selection only (objects whose centre is inside)"),
                false);
        gd.showDialog();
        if (gd.wasCanceled()) return;
        ImagePlus image = WindowManager.getImage(gd.getNextChoice());
        ImagePlus labels = WindowManager.getImage(gd.getNextChoice());
        String model = gd.getNextChoice();
        int version = (int) gd.getNextNumber();
        show.classMap = gd.getNextBoolean();
        show.results = gd.getNextBoolean();
        show.rois = gd.getNextBoolean();
        show.classMasks = gd.getNextBoolean();
        show.confidenceMap = gd.getNextBoolean();
        show.selection = gd.getNextBoolean();
        ij.Prefs.set("phenosort.model", model);
        classify(image, labels, model, version, show);
    }

    /** Classifies and shows the results; returns them, or null after reporting an error. */
    public static Classification classify(ImagePlus image, ImagePlus labels, String model, int version, Show show) {
        IJ.showStatus("PhenoSort: classifying the objects of " + image.getTitle() + "...");
        Classification c;
        Classification.Outputs outputs = new Classification.Outputs();
        outputs.confidenceMap = show.confidenceMap;
        outputs.classMasks = show.classMasks;
        try (ClassifierClient client = ServerSettings.newClient()) {
            if (show.selection) outputs.inside = Classification.selectionOf(image, labels);
            c = Classification.run(client, model, version, image, labels, outputs);
        } catch (RuntimeException e) {
            CommandSupport.error("Classification", e);
            // no earlier classification left behind as if it were this one's (nResults, getResult)
            if (show.results) KeyedResultsTable.clearResults();
            return null;
        }
        RoiAnnotations.setGroupNames(c.classNames);
        if (show.classMap) c.classMap.show();
        if (show.results) CommandSupport.showAsResults(c.table());
        if (show.rois) addRois(c, image, labels);
        if (c.confidenceMap != null) c.confidenceMap.show();
        for (ImagePlus m : c.classMasks.values()) m.show();
        int[] counts = c.counts();
        StringBuilder s = new StringBuilder("PhenoSort: classified ");
        int total = 0;
        for (int n : counts) total += n;
        s.append(total).append(" objects of ").append(image.getTitle()).append(" with '").append(model).append("':");
        for (int k = 0; k < counts.length; k++) s.append(' ').append(c.classNames.get(k)).append('=').append(counts[k]);
        IJ.log(s.toString());
        IJ.showStatus(s.toString());
        return c;
    }

    /** Outlines of the objects in their class colour: to the ROI Manager, or the class map's overlay without one. */
    static void addRois(Classification c, ImagePlus image, ImagePlus labels) {
        RoiManager rm = CommandSupport.roiManagerForOutput();
        Overlay overlay = new Overlay();
        for (int t = 1; t <= c.objects.size(); t++) {
            Map<Long, ObjectGeometry> objects = ObjectGeometry.measure(labels, t);
            Map<Long, Integer> classes = c.classesOf(t);
            List<Roi> rois = ObjectRois.outlines(labels, image, t, objects,
                    label -> classes.getOrDefault(label, 0), c.classNames);
            for (Roi roi : rois) {
                if (rm != null) rm.add(image, roi, -1);
                else overlay.add(roi);
            }
        }
        if (rm == null) c.classMap.setOverlay(overlay);
    }
}
