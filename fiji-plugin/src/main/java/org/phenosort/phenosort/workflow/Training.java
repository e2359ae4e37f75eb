package org.phenosort.phenosort.workflow;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ClassifierException;
import org.phenosort.phenosort.proto.v1.ClassCount;
import org.phenosort.phenosort.proto.v1.JobState;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.proto.v1.TrainingJob;
import org.phenosort.phenosort.proto.v1.TrainingProgress;
import org.phenosort.phenosort.proto.v1.TrainingSetSummary;

/** Sends annotated images to the service and trains a model version, reporting each epoch. */
public final class Training {
    private Training() {}

    /** How a training run ended. */
    public static final class Result {
        public TrainingJob job;
        public final List<TrainingProgress> history = new ArrayList<>();
        public TrainingSetSummary trainingSet;
        public List<String> classNames = new ArrayList<>();
        /** The trained version's metadata (settings, training data), "" when unknown. */
        public String metadataJson = "";

        /**
         * The final validation report (n, accuracy, macro_f1, confusion_matrix, per_class), or
         * null when the run had no validation set or did not finish.
         */
        public JsonObject validation() {
            return metrics("validation");
        }

        /**
         * Without a validation set: the 2-fold estimate (method, confusion_matrix) that the
         * chance check used, or null.
         */
        public JsonObject estimate() {
            return metrics("estimate");
        }

        /** The symmetries (flips, turns) the model trained with and why; empty if unknown. */
        public String decisions() {
            TrainingProgress last = last();
            return last == null ? "" : last.getDecisions();
        }

        /** Why the model is not shown to beat chance (with what to try); empty when it is. */
        public String warning() {
            TrainingProgress last = last();
            return last == null ? "" : last.getWarning();
        }

        /**
         * The chance check: "better" (shown to beat chance), "uncertain" (too few labelled objects
         * to tell), "chance" (learnt nothing that shows), or "" from an older server.
         */
        public String verdict() {
            JsonObject a = metrics("assessment");
            return a != null && a.has("verdict") ? a.get("verdict").getAsString() : "";
        }

        /** True when the model learnt nothing that shows (not a lack of labels to tell). */
        public boolean atChance() {
            return "chance".equals(verdict());
        }

        /**
         * Why the run has no validation set, from the version's settings and label counts: the
         * validation fraction is 0, or the smallest class gives the hold-out fewer than
         * train_val_min_per_class objects (the service's rule); both causes when unknown.
         */
        public String noValidationReason() {
            return Training.noValidationReason(metadataJson);
        }

        private TrainingProgress last() {
            return history.isEmpty() ? null : history.get(history.size() - 1);
        }

        private JsonObject metrics(String key) {
            for (int i = history.size() - 1; i >= 0; i--) {
                String m = history.get(i).getMetricsJson();
                if (m.isEmpty()) continue;
                try {
                    JsonElement v = JsonParser.parseString(m).getAsJsonObject().get(key);
                    return v != null && v.isJsonObject() ? v.getAsJsonObject() : null;
                } catch (RuntimeException e) {
                    return null;  // not a report this client understands
                }
            }
            return null;
        }
    }

    /**
     * Creates the model when it does not exist, replaces these images' annotations in its
     * training set, and (unless {@link TrainingOptions#addOnly}) trains on the whole training
     * set and watches the job to its end.
     *
     * @param classNames the annotations' class names in class order (a new model gets them)
     * @param onProgress called with every epoch (on the calling thread)
     * @param cancelled polled at every event; true cancels the job on the server
     */
    public static Result train(ClassifierClient client, TrainingOptions options, List<String> classNames,
            List<AnnotatedImage> data, Consumer<TrainingProgress> onProgress, BooleanSupplier cancelled) {
        Result result = add(client, options, classNames, data);
        if (!options.addOnly) run(client, options, result, onProgress, cancelled);
        return result;
    }

    /**
     * Creates the model when it does not exist and replaces these images' annotations in its
     * training set; {@link Result#trainingSet} then describes the whole set.
     */
    public static Result add(ClassifierClient client, TrainingOptions options, List<String> classNames,
            List<AnnotatedImage> data) {
        if (data.isEmpty()) {
            throw new ClassifierException("no annotations: give objects a class first (Annotate Objects, or ROIs "
                    + "in the ROI Manager with groups or class names)");
        }
        Result result = new Result();
        ModelInfo model = modelFor(client, options, classNames);
        result.classNames.addAll(model.getClassNamesList());
        for (AnnotatedImage a : data) {
            Map<Long, Integer> byIndex = new LinkedHashMap<>();
            for (Map.Entry<Long, String> e : a.classes.entrySet()) {
                byIndex.put(e.getKey(), model.getClassNamesList().indexOf(e.getValue()) + 1);
            }
            result.trainingSet = client.addTrainingData(options.model, a.upload(client), byIndex, true);
        }
        return result;
    }

    /** Trains a version on the model's training set ({@link #add} first) and watches it to its end. */
    public static void run(ClassifierClient client, TrainingOptions options, Result result,
            Consumer<TrainingProgress> onProgress, BooleanSupplier cancelled) {
        TrainingJob job = client.startTraining(options.model, options.runSettingsJson(), options.continueTraining);
        boolean[] cancelSent = {false};
        result.job = client.watchTraining(job.getJobId(), 0, p -> {
            result.history.add(p);
            if (onProgress != null) onProgress.accept(p);
            if (!cancelSent[0] && cancelled != null && cancelled.getAsBoolean()) {
                cancelSent[0] = true;
                client.cancelTraining(job.getJobId());
            }
        });
        if (result.job.getState() == JobState.JOB_STATE_SUCCEEDED && result.job.getVersion() > 0) {
            try {  // the version's settings and label counts (why there is no validation set)
                result.metadataJson = client.getModel(options.model, result.job.getVersion()).getMetadataJson();
            } catch (ClassifierException e) {
                result.metadataJson = "";  // the training stands; the message names both causes
            }
        }
    }

    /** The labelled objects a training set holds: total, images, per class. */
    public static long objects(TrainingSetSummary set) {
        long n = 0;
        for (ClassCount c : set.getCountsList()) n += c.getCount();
        return n;
    }

    /** "47 labelled objects of 3 images (interphase=20, mitotic=27)". */
    public static String describe(TrainingSetSummary set) {
        StringBuilder counts = new StringBuilder();
        for (ClassCount c : set.getCountsList()) {
            counts.append(counts.length() == 0 ? "" : ", ").append(c.getClassName()).append('=').append(c.getCount());
        }
        long n = objects(set);
        return n + " labelled object" + (n == 1 ? "" : "s") + " of " + set.getNImages() + " image"
                + (set.getNImages() == 1 ? "" : "s") + " (" + counts + ")";
    }

    /** Both causes, when the metadata does not tell which. */
    public static final String NO_VALIDATION = "no validation set (validation 0, or too few labels per class to "
            + "hold any out; every label trained)";

    /** See {@link Result#noValidationReason()}; {@code metadataJson} is a model version's metadata. */
    public static String noValidationReason(String metadataJson) {
        double fraction, least;
        Map<String, Long> counts = new LinkedHashMap<>();
        try {
            JsonObject meta = JsonParser.parseString(metadataJson).getAsJsonObject();
            JsonObject config = meta.getAsJsonObject("config");
            fraction = config.get("train_val_fraction").getAsDouble();
            least = config.get("train_val_min_per_class").getAsDouble();
            JsonElement data = meta.get("training_data");
            if (data != null && data.isJsonArray()) {
                for (JsonElement entry : data.getAsJsonArray()) {
                    JsonElement perClass = entry.getAsJsonObject().get("per_class");
                    if (perClass == null || !perClass.isJsonObject()) continue;
                    for (Map.Entry<String, JsonElement> c : perClass.getAsJsonObject().entrySet()) {
                        counts.merge(c.getKey(), c.getValue().getAsLong(), Long::sum);
                    }
                }
            }
        } catch (RuntimeException e) {  // "", not JSON, or without the settings
            return NO_VALIDATION;
        }
        String tail = "; every label trained)";
        if (fraction <= 0) return "no validation set (validation is " + number(fraction) + tail;
        String smallest = null;
        for (Map.Entry<String, Long> c : counts.entrySet()) {
            if (c.getValue() > 0 && (smallest == null || c.getValue() < counts.get(smallest))) smallest = c.getKey();
        }
        if (smallest != null && counts.get(smallest) * fraction < least) {
            long n = counts.get(smallest);
            return "no validation set (class '" + smallest + "' has " + n + " labels: validation " + number(fraction)
                    + " of them is " + number(n * fraction) + ", fewer than the " + number(least)
                    + " per class a hold-out needs (train_val_min_per_class)" + tail;
        }
        return NO_VALIDATION;
    }

    private static String number(double v) {
        if (v == Math.rint(v)) return String.valueOf((long) v);
        return String.format(java.util.Locale.ROOT, "%.3g", v).replaceAll("0+$", "");
    }

    /** The model to train: created with {@code classNames}, or an existing one that has them all. */
    static ModelInfo modelFor(ClassifierClient client, TrainingOptions options, List<String> classNames) {
        ModelInfo model;
        try {
            model = client.getModel(options.model, 0);
        } catch (ClassifierException e) {
            if (e.getCode() != Status.Code.NOT_FOUND) throw e;
            return client.createModel(options.model, classNames, options.settingsJson());
        }
        List<String> missing = new ArrayList<>();
        for (String name : classNames) {
            if (!model.getClassNamesList().contains(name)) missing.add(name);
        }
        if (!missing.isEmpty()) {
            throw new ClassifierException(Status.Code.FAILED_PRECONDITION, "model '" + options.model + "' has the classes "
                    + model.getClassNamesList() + " but the annotations also use " + missing
                    + "; choose a new model name or rename the classes", null);
        }
        return model;
    }
}
