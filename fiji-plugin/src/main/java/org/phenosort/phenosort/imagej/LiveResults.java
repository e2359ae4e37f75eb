package org.phenosort.phenosort.imagej;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.phenosort.phenosort.proto.v1.LiveImagePrediction;
import org.phenosort.phenosort.proto.v1.LiveSessionInfo;
import org.phenosort.phenosort.proto.v1.LiveState;
import org.phenosort.phenosort.proto.v1.LiveUpdate;

/**
 * What one live update says about the objects of one watched image: per object (the mask's own
 * label ID) its class, confidence, margin and whether it carries a label in the session.
 * Immutable, made on any thread; no ImageJ.
 */
public final class LiveResults {
    /** The live model's result for one object. */
    public static final class Prediction {
        public final long label;
        /** 1..K in the session's classes. */
        public final int classIndex;
        public final String className;
        public final float confidence;
        /** Top minus second probability: small means unsure. */
        public final float margin;
        /** The object carries a label in the live session. */
        public final boolean labelled;

        Prediction(long label, int classIndex, String className, float confidence, float margin, boolean labelled) {
            this.label = label;
            this.classIndex = classIndex;
            this.className = className;
            this.confidence = confidence;
            this.margin = margin;
            this.labelled = labelled;
        }
    }

    public final long sequence;
    /** Labels version the predictions reflect. */
    public final long updatedVersion;
    /** Only the last layer was refitted (a full update follows). */
    public final boolean quick;
    /** The live model is a full training on these labels (settled), not a preview of a few steps. */
    public final boolean settled;
    /** A settled model's quality estimate, e.g. "2-fold estimate 0.86", or "" without one. */
    public final String estimate;
    /** The session's classes, class k = index k-1. */
    public final List<String> classNames;
    /** When the update arrived (System.nanoTime). */
    public final long receivedNanos;
    private final Map<Long, Prediction> objects;

    private LiveResults(LiveUpdate update, List<String> classNames, Map<Long, Prediction> objects, long receivedNanos) {
        this.sequence = update.getSequence();
        this.updatedVersion = update.getSession().getUpdatedVersion();
        this.quick = update.getQuick();
        this.settled = update.getSettled();
        this.estimate = estimateOf(update);
        this.classNames = classNames;
        this.objects = objects;
        this.receivedNanos = receivedNanos;
    }

    /**
     * The results for image {@code imageId} in {@code update}, or null when it carries none (a
     * state-only message, or an image the update does not watch).
     *
     * @throws IllegalArgumentException when the update's arrays do not fit together
     */
    public static LiveResults of(LiveUpdate update, String imageId, long receivedNanos) {
        if (update.getSequence() == 0) return null;
        List<String> names = Collections.unmodifiableList(update.getSession().getClassNamesList());
        for (LiveImagePrediction p : update.getImagesList()) {
            if (!p.getImageId().equals(imageId)) continue;
            int n = p.getLabelIdsCount();
            if (p.getClassIndexCount() != n || p.getMarginCount() != n || p.getConfidenceCount() != n
                    || p.getLabelledCount() != n) {
                throw new IllegalArgumentException("live update " + update.getSequence() + " has " + n
                        + " objects but " + p.getClassIndexCount() + " classes, " + p.getMarginCount() + " margins");
            }
            Map<Long, Prediction> objects = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                int k = p.getClassIndex(i);
                if (k < 1 || k > names.size()) {
                    throw new IllegalArgumentException("live update " + update.getSequence() + ": object "
                            + p.getLabelIds(i) + " has class " + k + " of " + names.size());
                }
                objects.put(p.getLabelIds(i), new Prediction(p.getLabelIds(i), k, names.get(k - 1),
                        p.getConfidence(i), p.getMargin(i), p.getLabelled(i)));
            }
            return new LiveResults(update, names, Collections.unmodifiableMap(objects), receivedNanos);
        }
        return null;
    }

    /** Every object of the image, in label ID order. */
    public Map<Long, Prediction> objects() {
        return objects;
    }

    /** The result of object {@code label}, or null. */
    public Prediction get(long label) {
        return objects.get(label);
    }

    /**
     * The object the live model is least sure of (smallest margin, then lowest label ID) among
     * those neither labelled in the session nor in {@code exclude}; 0 when none is left.
     */
    public long leastCertain(Set<Long> exclude) {
        Prediction best = null;
        for (Prediction p : objects.values()) {
            if (p.labelled || exclude.contains(p.label)) continue;
            if (best == null || p.margin < best.margin) best = p;
        }
        return best == null ? 0 : best.label;
    }

    /**
     * The status line: "live model: 12 labels, updated 1.3 s ago", ", updating" while labels
     * sent are not reflected yet, or what the session waits for.
     *
     * @param info        the session's latest state (null: not open yet)
     * @param last        the latest results for this image (null: none yet)
     * @param sentVersion labels version of the last change this image sent (0: none)
     */
    public static String status(LiveSessionInfo info, LiveResults last, long sentVersion, long nowNanos) {
        if (info == null) return "live model: opening the live session...";
        String labels = info.getNLabels() + (info.getNLabels() == 1 ? " label" : " labels");
        if (info.getState() == LiveState.LIVE_STATE_WAITING) {
            return "live model: " + labels + ", " + (info.getMessage().isEmpty() ? "waiting" : info.getMessage());
        }
        if (last == null) {
            return "live model: " + labels + (info.getUpdatedVersion() > 0
                    ? ", predicting this image..."
                    : ", training the first model...");
        }
        double ago = Math.max(0, nowNanos - last.receivedNanos) / 1e9;
        boolean behind = last.quick || last.updatedVersion < Math.max(sentVersion, info.getLabelsVersion());
        return String.format(Locale.ROOT, "live model: %s, updated %.1f s ago%s", labels, ago,
                behind ? ", updating..." : last.settled
                        ? (last.estimate.isEmpty() ? "" : ", " + last.estimate)
                        : ", preview (a full training follows)");
    }

    private static String estimateOf(LiveUpdate update) {
        if (!update.getSettled() || update.getEstimateSource().isEmpty()) return "";
        String verdict = update.getEstimateVerdict();
        return String.format(Locale.ROOT, "%s %.2f%s", update.getEstimateSource(),
                update.getEstimateBalancedAccuracy(), "chance".equals(verdict) ? " (not better than chance)"
                        : "uncertain".equals(verdict) ? " (label more to know)" : "");
    }
}
