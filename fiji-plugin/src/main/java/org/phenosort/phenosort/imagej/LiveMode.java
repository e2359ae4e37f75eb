package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.Roi;
import java.awt.EventQueue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.swing.Timer;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.TensorCodec;
import org.phenosort.phenosort.proto.v1.ImageInput;
import org.phenosort.phenosort.proto.v1.LabelChange;
import org.phenosort.phenosort.proto.v1.LiveSessionInfo;
import org.phenosort.phenosort.proto.v1.LiveUpdate;
import org.phenosort.phenosort.proto.v1.Tensor;

/**
 * Live mode of one Annotate Objects session: the image (one time point) is uploaded once into
 * its model's live session ({@link LiveLink}); every change of its annotations goes to the
 * server as label changes ({@link LiveLabelChanges}); each update the server streams restyles the live overlay
 * ({@link LiveOverlay}) and the status line ("live model: 12 labels, updated 1.3 s ago").
 * A server error turns live mode off with one Log line; annotating goes on.
 *
 * <p>State lives on the event dispatch thread; the network threads hand their results to it.
 */
public final class LiveMode {
    final String model;
    private final ImagePlus image;
    private final ImagePlus labels;
    private final int frame;
    private final AnnotationEditor editor;
    private final StatusSink sink;
    private final List<String> openingClasses;
    private final Tensor pixels;
    private final Tensor mask;
    private final double[] voxelSize;
    private final String name;
    private final AtomicInteger sending = new AtomicInteger();
    private volatile ImageInput input;
    private volatile String imageId;
    private volatile long sentVersion;

    // the event dispatch thread's
    private LiveLink link;
    private boolean on;
    private boolean shown = true;
    private String offReason = "not started";
    private LiveSessionInfo info;
    private LiveResults results;
    private LiveOverlay overlay;
    private final LiveLabelChanges labelChanges;
    private final Set<Long> proposed = new HashSet<>();
    private Timer clock;
    private String lastStatus;

    /**
     * Live mode for the current time point of {@code image}; copies its pixels and labels now
     * (so later edits cannot race the upload). Call {@link #start} on the EDT.
     *
     * @throws IllegalArgumentException when the label image cannot be sent (e.g. fractional IDs)
     */
    LiveMode(ImagePlus image, ImagePlus labels, String model, AnnotationEditor editor, StatusSink sink) {
        this.image = image;
        this.labels = labels;
        this.model = model;
        this.editor = editor;
        this.sink = sink;
        this.labelChanges = new LiveLabelChanges(model, sink);
        this.frame = image.getNFrames() > 1 ? image.getT() : 1;
        this.openingClasses = new ArrayList<>(editor.classNames());
        this.pixels = TensorCodec.toTensor(image.getNFrames() > 1 ? SuggestionFetcher.frameOf(image, frame) : image);
        this.mask = TensorCodec.labelsToTensor(labels.getNFrames() > 1 ? SuggestionFetcher.frameOf(labels, frame)
                : labels);
        this.voxelSize = TensorCodec.voxelSize(image);
        this.name = image.getNFrames() > 1 ? image.getTitle() + " (frame " + frame + ")" : image.getTitle();
    }

    /** Opens (or joins) the model's live session and starts outlining every object; on the EDT. */
    void start() {
        on = true;
        offReason = "";
        link = LiveLink.join(this);
        clock = new Timer(1000, e -> tick());
        clock.start();
        Thread outlines = new Thread(() -> {
            Map<Long, List<Roi>> rois = LiveOverlay.outlines(labels, image, frame);
            EventQueue.invokeLater(() -> {
                if (!on) return;
                overlay = new LiveOverlay(image, rois);
                if (!shown) overlay.toggle();
                draw();
            });
        }, "PhenoSort live outlines");
        outlines.setDaemon(true);
        outlines.start();
        showStatus();
    }

    /** Ends live mode for this image (the session closes when no other image uses it); on the EDT. */
    void stop() {
        if (link != null) link.leave(this);
        off("closed");
    }

    public boolean isOn() {
        return on;
    }

    /** The time point (1-based) live mode follows. */
    int frame() {
        return frame;
    }

    // ------------------------------------------------------------------ the user's actions (EDT)

    /** The annotations may have changed: sends what differs from what the session has. */
    void labelsChanged() {
        if (!on || imageId == null || info == null) return;
        send(labelChanges.since(imageId, editor.read(frame), info.getClassNamesList()));
    }

    /** Key l: shows or hides the live overlay; returns the status message. */
    String toggle() {
        shown = !shown;
        if (overlay != null && overlay.isShown() != shown) overlay.toggle();
        return shown ? "live overlay shown (l hides it)" : "live overlay hidden (l shows it)";
    }

    /**
     * Key s: the object the live model is least sure of among those not annotated and not
     * proposed before (starting over when every one was); 0 when it has no predictions yet.
     */
    long leastCertain(Set<Long> annotated) {
        if (!on || results == null) return 0;
        Set<Long> skip = new HashSet<>(annotated);
        skip.addAll(proposed);
        long label = results.leastCertain(skip);
        if (label == 0 && !proposed.isEmpty()) {
            proposed.clear();
            label = results.leastCertain(annotated);
        }
        if (label != 0) proposed.add(label);
        return label;
    }

    /** "margin 0.04 (class a)" of object {@code label}, as the live model sees it now. */
    String describe(long label) {
        LiveResults.Prediction p = results == null ? null : results.get(label);
        return p == null ? "" : String.format(Locale.ROOT, "margin %.2f, %s", p.margin, p.className);
    }

    /**
     * Key c: saves the live model as the model's next version (its labels go into the model's
     * training set too, for Train Classifier). The outcome goes to the Log and, on the EDT, to
     * {@code then}: "ok version=V labels=N" or "error: ...".
     */
    void commit(Consumer<String> then) {
        if (!on) {
            status("live mode is off (" + offReason + "): nothing to save");
            then.accept("error: live mode is off (" + offReason + ")");
            return;
        }
        status("saving the live model of '" + model + "' as a new version (once it reflects every label)...");
        link.commit(reply -> EventQueue.invokeLater(() -> {
            int n = reply.getSession().getNLabels();
            sink.log("PhenoSort: live model of '" + model + "' saved as version " + reply.getVersion() + " (" + n
                    + " labels, also in the model's training set for Train Classifier)");
            status("live model saved as version " + reply.getVersion() + " of '" + model + "'");
            then.accept("ok version=" + reply.getVersion() + " labels=" + n);
        }), error -> EventQueue.invokeLater(() -> {
            sink.log("PhenoSort: saving the live model of '" + model + "' failed: " + error);
            status("saving the live model failed: " + error);
            then.accept("error: " + error);
        }));
    }

    // ------------------------------------------------------------------ from the network threads

    List<String> classNames() {
        return openingClasses;
    }

    /** Uploads the image and its labels (the calls thread); returns what the session refers to. */
    ImageInput upload(ClassifierClient client) {
        input = client.uploads().imageInput(pixels, mask, voxelSize, name);
        return input;
    }

    /** The uploaded image, or null before the upload. */
    ImageInput input() {
        return input;
    }

    /** The image is in the session: the annotations made so far go to it. */
    void opened(ImageInput uploaded, LiveSessionInfo state) {
        imageId = uploaded.getImageId();
        sentVersion = state.getLabelsVersion();
        EventQueue.invokeLater(() -> {
            if (!on) return;
            info = state;
            labelsChanged();
            showStatus();
        });
    }

    /** A label change was accepted: the session's labels version now. */
    void sent(LiveSessionInfo state) {
        sentVersion = Math.max(sentVersion, state.getLabelsVersion());
        EventQueue.invokeLater(() -> {
            if (on) info = state;
        });
    }

    void sendDone() {
        sending.decrementAndGet();
    }

    /** An update from the session's stream (its reading thread). */
    void onUpdate(LiveUpdate update) {
        String id = imageId;
        LiveResults r;
        try {
            r = id == null ? null : LiveResults.of(update, id, System.nanoTime());
        } catch (IllegalArgumentException e) {
            failed("the server sent an update that does not fit: " + e.getMessage(), true);
            return;
        }
        EventQueue.invokeLater(() -> {
            if (!on) return;
            info = update.getSession();
            if (r != null) {
                results = r;
                draw();
                dropStaleLabels();
            }
            if (lastStatus == null || lastStatus.equals(sink.current()) || r != null) showStatus();
        });
    }

    /** The session failed: live mode turns off; {@code log}: this image reports it in the Log. */
    void failed(String message, boolean log) {
        EventQueue.invokeLater(() -> {
            if (!on) return;
            if (link != null) link.leave(this);
            off(message);
            if (log) {
                sink.log("PhenoSort: live mode off for '" + image.getTitle() + "' (model '" + model + "'): " + message
                        + ". Annotating goes on; run Annotate Objects again to restart live mode.");
            }
            status("live mode off: " + message);
        });
    }

    // ------------------------------------------------------------------ display (EDT)

    private void draw() {
        if (results == null) return;
        List<String> names = editor.classNames();
        int before = names.size();
        int[] colours = LiveStyles.colourClasses(results.classNames, names);
        if (names.size() > before) RoiAnnotations.setGroupNames(names);
        if (overlay != null) overlay.show(results, colours);
    }

    /**
     * Labels the session holds on this image that the annotations do not (a session joined
     * from elsewhere): removed, once every change sent is reflected.
     */
    private void dropStaleLabels() {
        if (sending.get() > 0 || results.quick || results.updatedVersion < sentVersion) return;
        send(labelChanges.stale(imageId, results));
    }

    private void send(List<LabelChange> changes) {
        if (changes.isEmpty()) return;
        sending.incrementAndGet();
        link.send(this, changes);
    }

    private void off(String reason) {
        on = false;
        offReason = reason;
        if (clock != null) clock.stop();
        if (overlay != null) overlay.remove();
        overlay = null;
    }

    /** Shows the live status line. */
    void showStatus() {
        if (!on) return;
        status(LiveResults.status(info, results, sentVersion, System.nanoTime()));
    }

    private void status(String message) {
        lastStatus = "PhenoSort: " + message;
        sink.status(lastStatus);
    }

    /** Every second: the age of the last update moves on, while the status line is still ours. */
    private void tick() {
        if (on && results != null && lastStatus != null && lastStatus.equals(sink.current())) showStatus();
    }

    // ------------------------------------------------------------------ for macros (any thread)

    /**
     * "live=on overlay=shown labels=N labels_version=L updated_version=U sequence=S quick=false
     * settled=true sending=0 objects=O model=M", or "live=off model=M reason=[...]".
     */
    public String state() {
        return onEdt(() -> {
            if (!on) return "live=off model=" + model + " reason=[" + offReason + "]";
            LiveSessionInfo s = info;
            return "live=on overlay=" + (shown ? "shown" : "hidden")
                    + " labels=" + (s == null ? 0 : s.getNLabels())
                    + " labels_version=" + Math.max(sentVersion, s == null ? 0 : s.getLabelsVersion())
                    + " updated_version=" + (results == null ? 0 : results.updatedVersion)
                    + " sequence=" + (results == null ? 0 : results.sequence)
                    + " quick=" + (results != null && results.quick)
                    + " settled=" + (results != null && results.settled)
                    + " sending=" + sending.get()
                    + " objects=" + (results == null ? 0 : results.objects().size())
                    + " model=" + model;
        });
    }

    /** What the live overlay shows: "label|class|kind|margin;..." (see {@link LiveOverlay#describe}). */
    public String overlay() {
        return onEdt(() -> overlay == null ? "" : overlay.describe());
    }

    /** {@link #commit} for macros: waits for the outcome, at most {@code timeoutMs}. */
    public String commitAndWait(long timeoutMs) {
        CompletableFuture<String> done = new CompletableFuture<>();
        EventQueue.invokeLater(() -> commit(done::complete));
        try {
            return done.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return "error: no answer within " + timeoutMs / 1000 + " s";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "error: interrupted";
        } catch (java.util.concurrent.ExecutionException e) {
            return "error: " + e.getCause();
        }
    }

    private static <T> T onEdt(Supplier<T> get) {
        List<T> out = new ArrayList<>(Collections.nCopies(1, (T) null));
        AnnotationSession.onEdt(() -> out.set(0, get.get()));
        return out.get(0);
    }
}
