package org.phenosort.phenosort.workflow;

import ij.Macro;

/**
 * The option names of the PhenoSort commands and macro calls: the {@code key} of
 * {@code run("Command", "key=value ...")} (GenericDialog takes the first word of a field's label,
 * lower-cased) and of the options of {@code call("...MacroApi.train", ..., "key=value ...")}. A
 * macro written against one is a public interface: change none without a reason.
 */
public final class MacroKeys {
    private MacroKeys() {}

    // images and models (most commands)
    public static final String IMAGE = "image";
    public static final String LABELS = "labels";
    public static final String MODEL = "model";
    public static final String VERSION = "version";
    public static final String CLASSES = "classes";
    /** Annotate Objects: live mode (a check box). */
    public static final String LIVE = "live";

    // Connect to Server, Start Server
    public static final String HOST = "host";
    public static final String PORT = "port";
    public static final String TOKEN = "token";
    public static final String TLS = "tls";
    public static final String CERTIFICATE = "certificate";
    public static final String COMMAND = "command";
    public static final String STORE = "store";
    public static final String TIMEOUT = "timeout";

    // Train Classifier, MacroApi.train
    public static final String NETWORK = "network";
    public static final String PATCH = "patch";
    public static final String EPOCHS = "epochs";
    public static final String AUGMENTATION = "augmentation";
    public static final String NORMALIZATION = "normalization";
    public static final String VALIDATION = "validation";
    public static final String CONTINUE = "continue";
    /** Train Classifier (a check box), MacroApi.train: the annotations of every open annotated image too. */
    public static final String ALL_IMAGES = "all_images";
    /** Train Classifier (a check box), MacroApi.train: add the annotations to the training set, do not train. */
    public static final String ADD_ONLY = "add_only";
    /** MacroApi.train: a ROI zip with the annotations. */
    public static final String ROIS = "rois";

    // Classify Objects (check boxes), MacroApi.classify
    public static final String CLASS_MAP = "class";
    public static final String RESULTS = "results";
    public static final String CLASS_MASKS = "per-class";
    public static final String CONFIDENCE = "confidence";
    /** Classify Objects, MacroApi.classify: only the objects whose centre is inside the image's selection. */
    public static final String SELECTION = "selection";
    /** MacroApi.classify: the folder to write the class map and the objects' CSV to. */
    public static final String SAVE = "save";
    /** MacroApi.classify: show the class map and set the Results table. */
    public static final String SHOW = "show";

    // Explain Object
    public static final String LABEL = "label";
    public static final String CLASS = "class";

    // Classify Folder
    public static final String FOLDER = "folder";
    public static final String OUTPUT = "output";
    public static final String OVERWRITE = "overwrite";

    // Models
    public static final String ACTION = "action";
    public static final String FILE = "file";

    // Class Gallery
    public static final String PER_CLASS = "per_class";
    public static final String LEAST_CERTAIN = "least_certain";
    public static final String TILE_SIZE = "tile_size";
    public static final String COLUMNS = "columns";

    /**
     * {@code label} for a dialog field whose macro key must be {@code key}; throws when
     * ImageJ would derive another key from it (a reworded label must not rename a macro key).
     */
    public static String field(String key, String label) {
        String derived = Macro.trimKey(label);
        if (!derived.equals(key)) {
            throw new IllegalStateException("dialog label '" + label + "' gives the macro key '" + derived
                    + "', not '" + key + "'");
        }
        return label;
    }

    /** True when the macro options hold the flag {@code key} (a check box that is on). */
    public static boolean flag(String options, String key) {
        return (" " + (options == null ? "" : options) + " ").contains(" " + key + " ");
    }
}
