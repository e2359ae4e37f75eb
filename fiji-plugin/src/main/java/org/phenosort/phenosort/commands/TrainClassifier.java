package org.phenosort.phenosort.commands;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.gui.Plot;
import ij.gui.PlotWindow;
import ij.gui.Roi;
import ij.measure.ResultsTable;
import ij.plugin.PlugIn;
import java.awt.Color;
import java.util.ArrayList;
import java.util.List;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.ClassNames;
import org.phenosort.phenosort.imagej.RoiAnnotations;
import org.phenosort.phenosort.proto.v1.JobState;
import org.phenosort.phenosort.proto.v1.ProbeProgress;
import org.phenosort.phenosort.proto.v1.TrainingProgress;
import org.phenosort.phenosort.workflow.AnnotatedImage;
import org.phenosort.phenosort.workflow.MacroKeys;
import org.phenosort.phenosort.workflow.Training;
import org.phenosort.phenosort.workflow.TrainingOptions;

/**
 * Plugins &gt; PhenoSort &gt; Train Classifier: sends the image, its label image and the annotations
 * (ROI Manager, else the image's overlay) to the model's training set on the server and trains a
 * model version on the whole set, with progress in the status bar, the Log and a live plot; Esc
 * cancels. {@code all_images} also sends the annotations of every other open annotated image;
 * {@code add_only} sends them without training. Recordable, e.g.
 * {@code run("Train Classifier", "model=cells image=blobs.tif labels=labels.tif network=light patch=0
 * epochs=0 augmentation=default normalization=percentile validation=-1 classes=[] all_images");}
 */
public class TrainClassifier implements PlugIn {
    static final String PLOT_TITLE = "PhenoSort training";
    /** The hold-out's confusion matrix table. */
    static final String MATRIX_TITLE = "PhenoSort confusion matrix";
    /** Without a hold-out: the 2-fold estimate's confusion matrix table. */
    static final String ESTIMATE_TITLE = "PhenoSort confusion matrix (2-fold estimate)";

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        String[] titles = CommandSupport.imageTitles(2);
        if (titles == null) return;
        TrainingOptions o = new TrainingOptions();
        o.model = ij.Prefs.get("phenosort.model", o.model);
        GenericDialog gd = new GenericDialog("PhenoSort: Train Classifier");
        gd.addStringField(MacroKeys.field(MacroKeys.MODEL, "Model name"), o.model, 20);
        CommandSupport.addImageChoices(gd, titles);
        gd.addStringField(MacroKeys.field(MacroKeys.CLASSES, "Classes (optional, comma-separated)"), "", 30);
        gd.addChoice(MacroKeys.field(MacroKeys.NETWORK, "Network"), TrainingOptions.NETWORKS, o.network);
        gd.addNumericField(MacroKeys.field(MacroKeys.PATCH, "Patch size (pixels, 0 = estimate from objects)"), 0, 0);
        gd.addNumericField(MacroKeys.field(MacroKeys.EPOCHS, "Epochs (0 = default)"), 0, 0);
        gd.addChoice(MacroKeys.field(MacroKeys.AUGMENTATION, "Augmentation"), TrainingOptions.AUGMENTATIONS, o.augmentation);
        gd.addChoice(MacroKeys.field(MacroKeys.NORMALIZATION, "Normalization"), TrainingOptions.NORMALIZATIONS, o.normalization);
        gd.addNumericField(MacroKeys.field(MacroKeys.VALIDATION, "Validation fraction (-1 = default)"), -1, 2);
        gd.addCheckbox(MacroKeys.field(MacroKeys.CONTINUE, "Continue from the latest version"), false);
        gd.addCheckbox(MacroKeys.field(MacroKeys.ALL_IMAGES, "All_images: use the labels of all annotated images"),
                false);
        gd.addCheckbox(MacroKeys.field(MacroKeys.ADD_ONLY, "Add_only: add to the training set only (no training)"),
                false);
        gd.addMessage("Annotations: ROIs in the ROI Manager (or the image overlay) with a group\n"
                + "or a class name. Training uses the model's whole training set: every image\n"
                + "added so far. Press Esc to cancel training.");
        gd.showDialog();
        if (gd.wasCanceled()) return;
        o.model = gd.getNextString().trim();
        ImagePlus image = WindowManager.getImage(gd.getNextChoice());
        ImagePlus labels = WindowManager.getImage(gd.getNextChoice());
        List<String> classes = ClassNames.parse(gd.getNextString());
        o.network = gd.getNextChoice();
        o.patchSize = (int) gd.getNextNumber();
        o.epochs = (int) gd.getNextNumber();
        o.augmentation = gd.getNextChoice();
        o.normalization = gd.getNextChoice();
        o.validation = gd.getNextNumber();
        o.continueTraining = gd.getNextBoolean();
        o.allImages = gd.getNextBoolean();
        o.addOnly = gd.getNextBoolean();
        ij.Prefs.set("phenosort.model", o.model);
        train(image, labels, o, classes);
    }

    /**
     * Adds the annotations of {@code image} (and with {@link TrainingOptions#allImages} of every
     * open annotated image) to the model's training set, and trains on the whole set unless
     * {@link TrainingOptions#addOnly}; reports progress and errors. Returns the version, or 0.
     */
    public static int train(ImagePlus image, ImagePlus labels, TrainingOptions o, List<String> classes) {
        try {
            Roi[] rois = CommandSupport.annotationRois(image);
            AnnotatedImage.Collected data = o.allImages
                    ? AnnotatedImage.collectAll(image, labels, rois, CommandSupport.managerRois(),
                            CommandSupport.openImages(), classes)
                    : AnnotatedImage.collect(image, labels, rois, classes);
            for (String s : data.skipped) IJ.log("PhenoSort: " + s);
            if (data.otherImages > 0) {
                IJ.log("PhenoSort: " + data.otherImages + " ROIs are annotations of other images (their 'image' "
                        + "property): left out (all_images uses them)");
            }
            RoiAnnotations.setGroupNames(data.classNames);
            Training.Result r;
            try (ClassifierClient client = ServerSettings.newClient()) {
                if (!data.images.isEmpty()) {  // else Training.add says there are no annotations
                    IJ.log("PhenoSort: adding " + data.describe() + " to the training set of model '" + o.model + "'");
                }
                r = Training.add(client, o, data.classNames, data.images);
                String set = Training.describe(r.trainingSet);
                if (o.addOnly) {
                    String done = "PhenoSort: the training set of model '" + o.model + "' holds " + set
                            + "; not trained (add to the training set only)";
                    IJ.log(done);
                    IJ.showStatus(done);
                    return 0;
                }
                IJ.log("PhenoSort: training model '" + o.model + "' on " + set + ", classes " + r.classNames);
                IJ.resetEscape();
                LivePlot plot = new LivePlot(o.model);
                Training.run(client, o, r, p -> report(p, plot), IJ::escapePressed);
            }
            IJ.showProgress(1.0);
            return finish(o.model, r);
        } catch (RuntimeException e) {
            IJ.showProgress(1.0);
            CommandSupport.error("Training", e);
            return 0;
        }
    }

    private static void report(TrainingProgress p, LivePlot plot) {
        if (p.getJob().getState() != JobState.JOB_STATE_RUNNING) return;
        if (p.hasProbe()) {
            reportProbe(p.getProbe());
            return;
        }
        // only finished epochs: the job's first events and its final state carry no losses
        if (p.getEpoch() <= 0) return;
        String line = String.format("epoch %d/%d  loss %.4f  accuracy %.3f", p.getEpoch(), p.getNEpochs(),
                p.getTrainLoss(), p.getTrainAccuracy());
        if (p.getHasValidation()) {
            line += String.format("  validation loss %.4f  accuracy %.3f  macro-F1 %.3f", p.getValLoss(),
                    p.getValAccuracy(), p.getValMacroF1());
        }
        IJ.log("PhenoSort: " + line);
        IJ.showStatus("PhenoSort " + line + " (Esc cancels)");
        IJ.showProgress(p.getEpoch(), Math.max(p.getNEpochs(), 1));
        plot.add(p);
    }

    /** Before training: the symmetry probes' epochs move the status and progress bars. */
    private static void reportProbe(ProbeProgress q) {
        if (q.getRun() == 1 && q.getEpoch() == 1) {
            IJ.log("PhenoSort: testing which flips and turns keep the classes (short probe runs, each on half "
                    + "of the labels)");
        }
        IJ.showStatus(String.format("PhenoSort: symmetry probe %d/%d, epoch %d/%d (Esc cancels)", q.getRun(),
                q.getNRuns(), q.getEpoch(), q.getNEpochs()));
        int total = Math.max(q.getNRuns() * q.getNEpochs(), 1);
        IJ.showProgress((q.getRun() - 1) * q.getNEpochs() + q.getEpoch(), total);
    }

    private static int finish(String model, Training.Result r) {
        JobState state = r.job.getState();
        if (state == JobState.JOB_STATE_CANCELLED) {
            IJ.log("PhenoSort: training of '" + model + "' was cancelled; no version was written");
            IJ.showStatus("PhenoSort: training cancelled");
            return 0;
        }
        if (state != JobState.JOB_STATE_SUCCEEDED) {
            CommandSupport.error("Training of '" + model + "' failed:\n" + r.job.getMessage());
            return 0;
        }
        String summary = "PhenoSort: trained model '" + model + "' version " + r.job.getVersion();
        JsonObject v = r.validation();
        if (v != null) {
            summary += String.format(": validation accuracy %.3f, macro-F1 %.3f on %d objects",
                    v.get("accuracy").getAsDouble(), v.get("macro_f1").getAsDouble(), v.get("n").getAsInt());
            showMatrix(confusionMatrix(v, r.classNames), MATRIX_TITLE, "validation confusion matrix");
        } else {
            // validation 0, or a class too small to give the hold-out train_val_min_per_class objects: which
            summary += ": " + r.noValidationReason();
            JsonObject estimate = r.estimate();
            if (estimate != null) {
                // no hold-out: the 2-fold estimate's matrix (each object predicted by a probe that never saw it)
                IJ.log("PhenoSort: estimated by " + estimate.get("method").getAsString());
                showMatrix(confusionMatrix(estimate, r.classNames), ESTIMATE_TITLE,
                        "2-fold estimate's confusion matrix (no hold-out)");
            } else {
                closeTable(MATRIX_TITLE);  // an earlier training's matrix must not pass for this one's
                closeTable(ESTIMATE_TITLE);
            }
        }
        IJ.log(summary);
        if (!r.decisions().isEmpty()) IJ.log("PhenoSort: " + r.decisions());
        IJ.showStatus(summary);
        String warning = r.warning();
        if (!warning.isEmpty()) {
            if (r.atChance()) {
                // error level: the Log line (batch macros), and a dialog when interactive
                CommandSupport.error("Model '" + model + "' version " + r.job.getVersion() + ": " + warning);
                if (CommandSupport.quiet()) return r.job.getVersion();
                IJ.log("PhenoSort error: " + warning);
            } else {
                IJ.log("PhenoSort warning: " + warning);
            }
        }
        return r.job.getVersion();
    }

    /**
     * Shows a confusion matrix as the table {@code title}, closing the other kind's table (only
     * this training's matrix stays on screen); in batch macros, Log lines instead.
     */
    private static void showMatrix(ResultsTable matrix, String title, String what) {
        if (CommandSupport.quiet()) {
            // a table window would become the macro's active table (saveAs("Results") etc.)
            IJ.log("PhenoSort: " + what + " (rows: true class, columns: predicted)");
            for (int i = 0; i < matrix.size(); i++) IJ.log("  " + matrix.getRowAsString(i));
            return;
        }
        closeTable(MATRIX_TITLE.equals(title) ? ESTIMATE_TITLE : MATRIX_TITLE);
        matrix.show(title);
    }

    private static void closeTable(String title) {
        if (CommandSupport.quiet()) return;
        java.awt.Window w = WindowManager.getWindow(title);
        if (w instanceof ij.text.TextWindow) ((ij.text.TextWindow) w).close(false);
    }

    /** Rows: true class, columns: predicted class (validation objects). */
    static ResultsTable confusionMatrix(JsonObject validation, List<String> classNames) {
        ResultsTable rt = new ResultsTable();
        rt.showRowNumbers(false);
        JsonArray rows = validation.getAsJsonArray("confusion_matrix");
        for (int i = 0; rows != null && i < rows.size(); i++) {
            rt.incrementCounter();
            rt.addValue("true class", i < classNames.size() ? classNames.get(i) : "class " + (i + 1));
            JsonArray row = rows.get(i).getAsJsonArray();
            for (int j = 0; j < row.size(); j++) {
                rt.addValue(j < classNames.size() ? classNames.get(j) : "class " + (j + 1), row.get(j).getAsDouble());
            }
        }
        return rt;
    }

    /**
     * Loss and validation accuracy per epoch, redrawn as epochs arrive, in the model's plot
     * window (one per model: a new training redraws the window an earlier one left open).
     */
    static final class LivePlot {
        private final String title;
        private final List<Double> epochs = new ArrayList<>(), loss = new ArrayList<>(), valLoss = new ArrayList<>(),
                valAccuracy = new ArrayList<>();
        private boolean validation;
        private PlotWindow window;

        LivePlot(String model) {
            this.title = PLOT_TITLE + ": " + model;
        }

        void add(TrainingProgress p) {
            epochs.add((double) p.getEpoch());
            loss.add(p.getTrainLoss());
            validation |= p.getHasValidation();
            valLoss.add(p.getHasValidation() ? p.getValLoss() : Double.NaN);
            valAccuracy.add(p.getHasValidation() ? p.getValAccuracy() : Double.NaN);
            if (CommandSupport.quiet()) return;  // no window to draw in
            Plot plot = plot();
            if (window == null || window.isClosed()) window = openWindow(title);
            if (window == null) {
                window = plot.show();
            } else {
                window.drawPlot(plot);
            }
        }

        /** The curves so far; validation curves (and their legend entries) only with a validation set. */
        Plot plot() {
            Plot plot = new Plot(title, "epoch", validation ? "loss / accuracy" : "loss");
            plot.setColor(Color.BLUE);
            plot.add("line", array(epochs), array(loss));
            if (validation) {
                plot.setColor(Color.ORANGE);
                plot.add("line", array(epochs), array(valLoss));
                plot.setColor(new Color(0, 150, 0));
                plot.add("line", array(epochs), array(valAccuracy));
            }
            plot.setColor(Color.BLACK);
            plot.setLegend(validation ? "training loss\tvalidation loss\tvalidation accuracy" : "training loss",
                    Plot.AUTO_POSITION);
            plot.setLimitsToFit(false);
            return plot;
        }

        /** The plot window titled {@code title} an earlier training left open, or null. */
        private static PlotWindow openWindow(String title) {
            int[] ids = WindowManager.getIDList();
            if (ids == null) return null;
            for (int id : ids) {
                ImagePlus imp = WindowManager.getImage(id);
                if (imp != null && title.equals(imp.getTitle()) && imp.getWindow() instanceof PlotWindow
                        && !((PlotWindow) imp.getWindow()).isClosed()) {
                    return (PlotWindow) imp.getWindow();
                }
            }
            return null;
        }

        private static double[] array(List<Double> values) {
            double[] a = new double[values.size()];
            for (int i = 0; i < a.length; i++) a[i] = values.get(i);
            return a;
        }
    }
}
