package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.ImageWindow;
import ij.gui.Roi;
import java.awt.EventQueue;
import java.awt.GraphicsEnvironment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Interactive annotation of one image window (Plugins &gt; PhenoSort &gt; Annotate Objects).
 *
 * <p>Keys on the image: click an object (it is outlined in white) and press 1-9 to give it that
 * class; r or Backspace undoes the last annotation; n proposes a random object not yet annotated;
 * s proposes the next object the server suggests (needs a model), in live mode the object the
 * live model is least sure of. Pressing a digit on a proposed object annotates it and proposes
 * the next one. In live mode ({@link LiveMode}) l shows or hides the live overlay and c saves the
 * live model as a new version. Other keys reach ImageJ as usual.
 *
 * <p>The session holds the current object and its annotations ({@link AnnotationEditor}); the
 * keys and clicks ({@link AnnotationKeys}), the objects proposed ({@link ObjectProposals}), new
 * classes ({@link NewClassPrompt}) and the outlines drawn ({@link AnnotationOverlay}) have their
 * own classes. All state changes happen on the event dispatch thread; only the server call runs
 * elsewhere.
 */
public final class AnnotationSession {
    private static final Map<ImageWindow, AnnotationSession> SESSIONS = new HashMap<>();

    /** How the current object became current; a digit on a proposed one proposes the next. */
    enum Source { CLICK, RANDOM, SUGGESTED }

    // package-private: the session's parts (keys, proposals, new classes) read them
    final ImagePlus image;
    private final ImagePlus labels;
    final ImageWindow window;
    private final AnnotationEditor editor;
    final String model;
    final StatusSink sink;
    private final LiveMode live;
    private final AnnotationKeys keys;
    private final ObjectProposals proposals;
    private final AnnotationOverlay overlay;
    private final Map<Integer, Map<Long, ObjectGeometry>> geometry = new HashMap<>();
    private long current;
    private int currentX, currentY, currentZ;
    private Source source = Source.CLICK;
    private String lastLogLine;

    private AnnotationSession(ImagePlus image, ImagePlus labels, List<String> classNames, String model,
            StatusSink sink, boolean live) {
        this.image = image;
        this.sink = sink == null ? StatusSink.NONE : sink;
        this.labels = labels;
        this.window = image.getWindow();
        this.model = model == null ? "" : model.trim();
        this.editor = new AnnotationEditor(image, labels, new RoiList.Manager(),
                new ArrayList<>(classNames));
        this.live = live ? liveMode() : null;
        this.keys = new AnnotationKeys(this, window, image.getCanvas());
        this.proposals = new ObjectProposals(this);
        this.overlay = new AnnotationOverlay(image, labels);
    }

    private LiveMode liveMode() {
        try {
            return new LiveMode(image, labels, model, editor, sink);
        } catch (IllegalArgumentException e) {
            sink.log("PhenoSort: live mode off for '" + image.getTitle() + "': " + e.getMessage());
            return null;
        }
    }

    /**
     * Starts annotating {@code image} (shown in a window) with the objects of {@code labels},
     * replacing a session already on that window. Call on the EDT or from a plugin thread.
     *
     * @param sink where the status line and the Log lines (counts per class, errors) go
     */
    public static AnnotationSession start(ImagePlus image, ImagePlus labels, List<String> classNames,
            String model, StatusSink sink) {
        return start(image, labels, classNames, model, sink, false);
    }

    /**
     * {@link #start(ImagePlus, ImagePlus, List, String, StatusSink)}, in live mode when {@code live}:
     * the model's live session (opened or joined; a new model name creates the model) classifies
     * every object as the labels change. Live mode needs a model name and a server.
     */
    public static AnnotationSession start(ImagePlus image, ImagePlus labels, List<String> classNames,
            String model, StatusSink sink, boolean live) {
        if (live && (model == null || model.trim().isEmpty())) {
            throw new IllegalArgumentException("live mode needs a model name (a new name creates the model)");
        }
        if (GraphicsEnvironment.isHeadless() || image.getWindow() == null) {
            throw new IllegalStateException("image '" + image.getTitle() + "' is not shown in a window; "
                    + "without a display use AnnotationSession.annotate(...)");
        }
        LabelImages.checkPair(image, labels);
        RoiAnnotations.setGroupNames(classNames);
        AnnotationSession s = new AnnotationSession(image, labels, classNames, model, sink, live);
        onEdt(() -> {
            synchronized (SESSIONS) {
                AnnotationSession old = SESSIONS.put(s.window, s);
                if (old != null) old.uninstall();
            }
            s.install();
            s.refresh("annotating '" + image.getTitle() + "': click an object, press 1-9; r undo, n random, s suggested"
                    + (s.live != null ? "; live mode: l overlay, c save the live model" : ""));
        });
        return s;
    }

    /** The session on {@code image}'s window, or null. */
    public static AnnotationSession of(ImagePlus image) {
        synchronized (SESSIONS) {
            return image.getWindow() == null ? null : SESSIONS.get(image.getWindow());
        }
    }

    public AnnotationEditor editor() {
        return editor;
    }

    /** The label image of the session's objects. */
    public ImagePlus labels() {
        return labels;
    }

    /** The session's live mode (possibly turned off since), or null when it was not asked for. */
    public LiveMode live() {
        return live;
    }

    /** Removes the listeners and the outlines; the annotations stay in the RoiManager. */
    public void stop() {
        onEdt(() -> {
            synchronized (SESSIONS) {
                if (SESSIONS.get(window) == this) SESSIONS.remove(window);
            }
            uninstall();
        });
    }

    // ------------------------------------------------------------------ static API (headless too)

    /**
     * Marks object {@code label} of {@code labels} as class {@code classIndex} (1-based), one of
     * the {@link AnnotationClasses#known known classes} of {@code image} ({@code className}, when given,
     * must be its name), with a point on the object near its centroid in the image's current
     * frame. The ROI goes to the RoiManager when there is a display, else to the image's
     * Overlay. Replaces the object's previous annotation; returns the new ROI.
     *
     * @throws IllegalArgumentException for a class that is not known: new classes are explicit
     *     ({@link AnnotationClasses#define}, or a confirmed key in the session)
     */
    public static Roi annotate(ImagePlus image, ImagePlus labels, long label, int classIndex, String className) {
        LabelImages.checkPair(image, labels);
        List<String> names = AnnotationClasses.known(image, labels);
        if (classIndex < 1 || classIndex > names.size()) {
            throw new IllegalArgumentException("class " + classIndex + " is not one of the known classes "
                    + ClassNames.numbered(names));
        }
        String name = names.get(classIndex - 1);
        if (className != null && !className.trim().isEmpty() && !className.trim().equals(name)) {
            throw new IllegalArgumentException("class " + classIndex + " is '" + name + "', not '" + className.trim() + "'");
        }
        int frame = image.getNFrames() > 1 ? image.getT() : 1;
        ObjectGeometry g = ObjectGeometry.measure(labels, frame).get(label);
        if (g == null) throw new IllegalArgumentException("label image '" + labels.getTitle() + "' has no object " + label
                + (labels.getNFrames() > 1 ? " in frame " + frame : ""));
        int[] p = ObjectOutlines.innerPoint(labels, g, frame);
        AnnotationSession session = of(image);
        if (session != null) {
            Roi[] out = new Roi[1];
            onEdt(() -> out[0] = session.annotateHere(label, classIndex, p, frame));
            return out[0];
        }
        AnnotationEditor ed = new AnnotationEditor(image, labels, roiList(image), names);
        Roi roi = ed.annotate(label, classIndex, p[0], p[1], p[2], frame);
        RoiAnnotations.setGroupNames(names);
        return roi;
    }

    private Roi annotateHere(long label, int k, int[] p, int frame) {
        Roi roi = editor.annotate(label, k, p[0], p[1], p[2], frame);
        refresh("object " + label + " -> " + editor.className(k));
        return roi;
    }

    static RoiList roiList(ImagePlus image) {
        if (GraphicsEnvironment.isHeadless()) return new RoiList.OnOverlay(image);
        return new RoiList.Manager();
    }

    // ------------------------------------------------------------------ listeners

    private void install() {
        keys.install();
        if (live != null) live.start();
    }

    private void uninstall() {
        keys.uninstall();
        if (live != null) live.stop();
        overlay.removeAll();
    }

    /** The session's keys (the class gallery passes digits pressed on it to them). */
    AnnotationKeys keys() {
        return keys;
    }

    /** The objects that n and s propose. */
    ObjectProposals proposals() {
        return proposals;
    }

    // ------------------------------------------------------------------ actions

    /** A click on pixel (x, y) of the current slice: the object there becomes the current one. */
    void clickedAt(int x, int y) {
        int z = image.getZ() - 1, frame = frame();
        long label = LabelImages.label(labels, x, y, z, frame);
        current = label;
        source = Source.CLICK;
        currentX = x;
        currentY = y;
        currentZ = z;
        refresh(label == 0 ? "background at " + x + "," + y + ": click an object"
                : "object " + label + ": press 1-9 to set its class");
        if (label == 0 && live != null && live.isOn()) live.showStatus();  // nothing selected: the live model's state
    }

    /**
     * Key {@code k} (1-9) on the current object: it gets class k, and after a proposed object the
     * next is proposed. False when k names no class yet: the caller asks for the new class first.
     */
    boolean assign(int k) {
        if (current == 0) {
            status("click an object first (or press n for a random one)");
            return true;
        }
        if (k > editor.classNames().size()) return false;
        editor.annotate(current, k, currentX, currentY, currentZ, frame());
        RoiAnnotations.setGroupNames(editor.classNames());
        String done = "object " + current + " -> " + editor.className(k);
        if (source == Source.RANDOM) {
            proposals.proposeRandom();
        } else if (source == Source.SUGGESTED) {
            proposals.proposeSuggested();
        } else {
            refresh(done);
        }
        return true;
    }

    void undo() {
        long label = editor.undo();
        refresh(label == 0 ? "nothing to undo" : "undone: object " + label);
    }

    /** No current object, e.g. none left to propose; shows {@code message}. */
    void deselect(String message) {
        current = 0;
        refresh(message);
    }

    /** Makes object {@code label} the current one, moves the view to it and says so. */
    void propose(long label, Source from) {
        ObjectGeometry g = objects(frame()).get(label);
        int[] p = ObjectOutlines.innerPoint(labels, g, frame());
        current = label;
        source = from;
        currentX = p[0];
        currentY = p[1];
        currentZ = p[2];
        ObjectView.show(image, g, p[2]);
        refresh("object " + label + (from == Source.SUGGESTED ? " (suggested)" : "") + ": press 1-9");
    }

    // ------------------------------------------------------------------ display

    /** Redraws the outlines and shows the counts with {@code message}. */
    void refresh(String message) {
        int frame = frame();
        RoiAnnotations.Result r = editor.read(frame);
        boolean liveOn = live != null && live.isOn();
        overlay.draw(r, frame, objects(frame), current, liveOn);
        String counts = ClassNames.counts(r.classNames, r.counts());
        status(message + "  |  " + counts);
        logCounts(counts);
        if (liveOn) live.labelsChanged();
    }

    void status(String s) {
        sink.status("PhenoSort: " + s);
    }

    /** One Log line with the counts, updated in place while nothing else was logged after it. */
    private void logCounts(String counts) {
        String line = "PhenoSort annotations in '" + image.getTitle() + "': " + counts;
        if (line.equals(lastLogLine)) return;
        if (lastLogLine == null) sink.log(line);
        else sink.replaceLog(lastLogLine, line);
        lastLogLine = line;
    }

    Map<Long, ObjectGeometry> objects(int frame) {
        return geometry.computeIfAbsent(frame, f -> ObjectGeometry.measure(labels, f));
    }

    int frame() {
        return image.getNFrames() > 1 ? image.getT() : 1;
    }

    /**
     * Makes object {@code label} the current one, as a click on it would (e.g. from a class
     * gallery tile): the view moves to it, and 1-9 set its class. Returns false when the label
     * image has no such object in the current frame.
     */
    public boolean select(long label) {
        boolean[] found = {false};
        onEdt(() -> {
            if (!objects(frame()).containsKey(label)) return;
            found[0] = true;
            propose(label, Source.CLICK);
        });
        return found[0];
    }

    /** The last clicked or proposed object, 0 when none. */
    public long currentObject() {
        return current;
    }

    static void onEdt(Runnable r) {
        if (EventQueue.isDispatchThread()) {
            r.run();
            return;
        }
        try {
            EventQueue.invokeAndWait(r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.lang.reflect.InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) throw (RuntimeException) c;
            throw new IllegalStateException(c);
        }
    }
}
