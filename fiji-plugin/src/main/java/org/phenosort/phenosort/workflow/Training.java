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
     * training set, trains, and watches the job to its end.
     *
     * @param classNames the annotations' class names in class order (a new model gets them)
     * @param onProgress called with every epoch (on the calling thread)
     * @param cancelled polled at every event; true cancels the job on the server
     */
    public static Result train(ClassifierClient client, TrainingOptions options, List<String> classNames,
            List<AnnotatedImage> data, Consumer<TrainingProgress> onProgress, BooleanSupplier cancelled) {
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
        TrainingJob job = client.startTraining(options.model, options.settingsJson(), options.continueTraining);
        boolean[] cancelSent = {false};
        result.job = client.watchTraining(job.getJobId(), 0, p -> {
            result.history.add(p);
            if (onProgress != null) onProgress.accept(p);
            if (!cancelSent[0] && cancelled != null && cancelled.getAsBoolean()) {
                cancelSent[0] = true;
                client.cancelTraining(job.getJobId());
            }
        });
        return result;
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
