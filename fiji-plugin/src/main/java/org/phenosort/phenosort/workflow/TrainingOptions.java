package org.phenosort.phenosort.workflow;

import com.google.gson.JsonObject;

/**
 * What a user chooses when training, turned into the service's settings JSON (the fields of
 * phenosort's ModelConfig). Zero, negative or "default" values leave the service's defaults:
 * a new model is created without them, and each run resets the per-run ones (epochs,
 * validation, augmentation) to the service's defaults, whatever the model was created with.
 * Network, patch size and normalization left at their defaults keep the model's own (they
 * made its weights).
 */
public final class TrainingOptions {
    public static final String[] NETWORKS = {"default", "light", "resnet18", "resnet34", "resnet50", "densenet121"};
    public static final String[] AUGMENTATIONS = {"default", "none", "flips", "flips+rotations", "all"};
    public static final String[] NORMALIZATIONS = {"default", "auto", "percentile", "fixed", "patch_minmax", "none"};

    public String model = "classifier";
    public String network = "default";
    /** Patch side in pixels; 0: estimated from the objects. */
    public int patchSize = 0;
    public int epochs = 0;
    public String augmentation = "default";
    public String normalization = "default";
    /** Fraction of the annotations held out for validation; negative: the default. */
    public double validation = -1;
    /** Start from the latest version's weights. */
    public boolean continueTraining = false;
    /** Train on the labels of every open annotated image, not only the chosen one's. */
    public boolean allImages = false;
    /** Upload the annotations into the model's training set, but do not train. */
    public boolean addOnly = false;

    /** The service's word for "its own default of this setting" (a StartTraining value). */
    static final String SERVICE_DEFAULT = "default";

    /**
     * The settings JSON for StartTraining: {@link #settingsJson()}, plus "default" for each
     * per-run setting left at its default, so that "0 = default" means the service's default
     * and not the value the model was created with.
     */
    public String runSettingsJson() {
        JsonObject s = settings();
        if (epochs <= 0) s.addProperty("train_epochs", SERVICE_DEFAULT);
        if (validation < 0) s.addProperty("train_val_fraction", SERVICE_DEFAULT);
        if (augmentation.isEmpty() || "default".equals(augmentation)) {
            for (String key : AUGMENTATION_KEYS) s.addProperty(key, SERVICE_DEFAULT);
        }
        return s.toString();
    }

    /** The settings an augmentation choice sets (see {@link #augment}). */
    private static final String[] AUGMENTATION_KEYS = {"aug_flip", "aug_rot90", "aug_intensity", "aug_gamma",
            "aug_rotate_degrees", "aug_scale"};

    /** The settings JSON for CreateModel: only what the user chose. */
    public String settingsJson() {
        return settings().toString();
    }

    private JsonObject settings() {
        JsonObject s = new JsonObject();
        if (!network.isEmpty() && !"default".equals(network)) s.addProperty("net_name", network);
        if (patchSize > 0) s.addProperty("patch_size", patchSize);
        if (epochs > 0) s.addProperty("train_epochs", epochs);
        if (validation >= 0) s.addProperty("train_val_fraction", validation);
        if (!normalization.isEmpty() && !"default".equals(normalization)) s.addProperty("norm_mode", normalization);
        switch (augmentation) {
            case "default":
            case "":
                break;
            case "none":
                augment(s, false, false, 0);
                break;
            case "flips":
                augment(s, true, false, 0);
                break;
            case "flips+rotations":
                augment(s, true, true, 0);
                break;
            case "all":
                augment(s, true, true, 0.2);
                break;
            default:
                throw new IllegalArgumentException("unknown augmentation '" + augmentation + "'; choose one of "
                        + String.join(", ", AUGMENTATIONS));
        }
        return s;
    }

    private static void augment(JsonObject s, boolean flip, boolean rot90, double intensity) {
        s.addProperty("aug_flip", flip);
        s.addProperty("aug_rot90", rot90);
        s.addProperty("aug_intensity", intensity);
        s.addProperty("aug_gamma", intensity);
        s.addProperty("aug_rotate_degrees", intensity > 0 ? 180.0 : 0.0);
        s.addProperty("aug_scale", intensity > 0 ? 0.1 : 0.0);
    }
}
