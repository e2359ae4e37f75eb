package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.gui.ImageCanvas;
import ij.gui.ImageWindow;
import ij.gui.Overlay;
import ij.gui.Roi;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Component;
import java.awt.EventQueue;
import java.awt.GraphicsEnvironment;
import java.awt.event.KeyEvent;
import java.awt.event.KeyListener;
import java.awt.event.MouseAdapter;
import java.awt.event.MouseEvent;
import java.awt.event.WindowAdapter;
import java.awt.event.WindowEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

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
 * <p>All state changes happen on the event dispatch thread; only the server call runs elsewhere.
 */
public final class AnnotationSession implements KeyListener {
    private static final Map<ImageWindow, AnnotationSession> SESSIONS = new HashMap<>();
    private static final Color CURRENT = Color.WHITE;
    /** Suggestions asked for at once; s steps through them before asking again. */
    private static final int SUGGEST_N = 20;

    private enum Source { CLICK, RANDOM, SUGGESTED }

    private final ImagePlus image;
    private final ImagePlus labels;
    private final ImageWindow window;
    private final ImageCanvas canvas;
    private final AnnotationEditor editor;
    private final String model;
    private final StatusSink sink;
    private final LiveMode live;
    private final List<KeyListener> imagejKeys = new ArrayList<>();
    private final Map<Integer, Map<Long, ObjectGeometry>> geometry = new HashMap<>();
    private final Map<String, List<Roi>> outlines = new HashMap<>();
    private final Deque<Long> suggestions = new ArrayDeque<>();
    private final Random random = new Random();
    private final MouseAdapter mouse = new MouseAdapter() {
        @Override
        public void mouseClicked(MouseEvent e) {
            clicked(e);
        }
    };
    private final WindowAdapter closing = new WindowAdapter() {
        @Override
        public void windowClosed(WindowEvent e) {
            stop();
        }
    };
    /** A digit pressed for a class that does not exist yet: the new class is asked for on its release. */
    private int newClassKey;
    private long current;
    private int currentX, currentY, currentZ;
    private Source source = Source.CLICK;
    private boolean fetching;
    private String lastLogLine;

    private AnnotationSession(ImagePlus image, ImagePlus labels, List<String> classNames, String model,
            StatusSink sink, boolean live) {
        this.image = image;
        this.sink = sink == null ? StatusSink.NONE : sink;
        this.labels = labels;
        this.window = image.getWindow();
        this.canvas = image.getCanvas();
        this.model = model == null ? "" : model.trim();
        this.editor = new AnnotationEditor(image, labels, new RoiList.Manager(),
                new ArrayList<>(classNames));
        this.live = live ? liveMode() : null;
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
        canvas.addMouseListener(mouse);
        // ImageJ runs plain-letter shortcuts (n = New, r = Revert, Backspace = Clear) and ignores
        // consumed events, so its key listener moves behind ours and only gets the keys we leave
        for (Component c : new Component[] {canvas, window}) {
            for (KeyListener k : c.getKeyListeners()) {
                if (k instanceof ij.ImageJ) {
                    c.removeKeyListener(k);
                    if (!imagejKeys.contains(k)) imagejKeys.add(k);
                }
            }
            c.addKeyListener(this);
        }
        window.addWindowListener(closing);
        if (live != null) live.start();
    }

    private void uninstall() {
        canvas.removeMouseListener(mouse);
        for (Component c : new Component[] {canvas, window}) {
            c.removeKeyListener(this);
            for (KeyListener k : imagejKeys) c.addKeyListener(k);
        }
        window.removeWindowListener(closing);
        if (live != null) live.stop();
        Overlay o = image.getOverlay();
        if (o != null) {
            removeDrawings(o, true);
            image.setOverlay(o.size() > 0 ? o : null);
        }
    }

    @Override
    public void keyPressed(KeyEvent e) {
        if (!handle(e)) {
            for (KeyListener k : imagejKeys) k.keyPressed(e);
        }
    }

    @Override
    public void keyTyped(KeyEvent e) {
        for (KeyListener k : imagejKeys) k.keyTyped(e);
    }

    @Override
    public void keyReleased(KeyEvent e) {
        int k = newClassKey;
        if (k > 0 && e.getKeyChar() == (char) ('0' + k)) {
            newClassKey = 0;
            e.consume();
            EventQueue.invokeLater(() -> {
                if (newClass(k)) assign(k);
            });
            return;
        }
        for (KeyListener l : imagejKeys) l.keyReleased(e);
    }

    private boolean handle(KeyEvent e) {
        if (e.isControlDown() || e.isMetaDown() || e.isAltDown()) return false;  // Ctrl+S etc. stay ImageJ's
        char c = e.getKeyChar();
        int code = e.getKeyCode();
        try {
            if (c >= '1' && c <= '9') {
                assign(c - '0');
            } else if (c == 'r' || c == 'R' || code == KeyEvent.VK_BACK_SPACE) {
                undo();
            } else if (c == 'n' || c == 'N') {
                proposeRandom();
            } else if (c == 's' || c == 'S') {
                proposeSuggested();
            } else if ((c == 'l' || c == 'L') && live != null) {
                status(live.isOn() ? live.toggle() : "live mode is off");
            } else if ((c == 'c' || c == 'C') && live != null) {
                live.commit(outcome -> { });
            } else {
                return false;
            }
        } catch (RuntimeException ex) {  // a listener must not die: report and go on
            status("error: " + ex.getMessage());
            sink.log("PhenoSort annotate error: " + ex);
        }
        e.consume();
        return true;
    }

    private void clicked(MouseEvent e) {
        if (e.getButton() != MouseEvent.BUTTON1 || e.isPopupTrigger()) return;
        int x = canvas.offScreenX(e.getX()), y = canvas.offScreenY(e.getY());
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

    // ------------------------------------------------------------------ actions

    private void assign(int k) {
        if (current == 0) {
            status("click an object first (or press n for a random one)");
            return;
        }
        if (k > editor.classNames().size()) {
            newClassKey = k;  // asked when the key is released: its typed digit must not land in the dialog
            return;
        }
        editor.annotate(current, k, currentX, currentY, currentZ, frame());
        RoiAnnotations.setGroupNames(editor.classNames());
        String done = "object " + current + " -> " + editor.className(k);
        if (source == Source.RANDOM) {
            proposeRandom();
        } else if (source == Source.SUGGESTED) {
            proposeSuggested();
        } else {
            refresh(done);
        }
    }

    /**
     * Key {@code k} names no class yet: asks the user to confirm a new class k (and its name).
     * Only the next class can be added; true when it was.
     */
    private boolean newClass(int k) {
        List<String> names = editor.classNames();
        if (k > names.size() + 1) {
            status("key " + k + ": the classes are " + ClassNames.numbered(names) + "; key " + (names.size() + 1)
                    + " adds a new class");
            return false;
        }
        String name = confirmNewClass(k, names);
        if (name == null) {
            status("no new class: key " + k + " was cancelled");
            sink.log("PhenoSort: no new class " + k + " in '" + image.getTitle() + "' (cancelled)");
            return false;
        }
        name = name.trim();
        if (name.isEmpty() || name.contains(",") || names.contains(name)) {
            status("no new class: '" + name + "' is " + (name.isEmpty() ? "empty" : name.contains(",")
                    ? "not a class name (a comma)" : "a class already"));
            return false;
        }
        names.add(name);
        RoiAnnotations.setGroupNames(names);
        sink.log("PhenoSort: new class " + k + " '" + name + "' in '" + image.getTitle() + "'");
        return true;
    }

    /** The GUI's confirmation of a new class: its name, or null when cancelled. */
    private static String confirmNewClass(int k, List<String> names) {
        ij.gui.GenericDialog gd = new ij.gui.GenericDialog("PhenoSort: new class");
        gd.addMessage("Key " + k + " is not a class yet. The classes are:\n" + ClassNames.numbered(names)
                + "\nAdd class " + k + "?");
        gd.addStringField("Name", "class " + k, 20);
        gd.showDialog();
        return gd.wasCanceled() ? null : gd.getNextString();
    }

    private void undo() {
        long label = editor.undo();
        refresh(label == 0 ? "nothing to undo" : "undone: object " + label);
    }

    private void proposeRandom() {
        Map<Long, Integer> done = editor.read(frame()).classes;
        List<Long> open = new ArrayList<>();
        for (Long l : objects(frame()).keySet()) if (!done.containsKey(l)) open.add(l);
        if (open.isEmpty()) {
            current = 0;
            refresh("every object is annotated");
            return;
        }
        propose(open.get(random.nextInt(open.size())), Source.RANDOM);
    }

    private void proposeSuggested() {
        if (live != null && live.isOn()) {
            proposeLeastCertain();
            return;
        }
        if (model.isEmpty()) {
            status("no model: run Annotate Objects with a model name to get suggestions (n: random objects)");
            return;
        }
        Map<Long, Integer> done = editor.read(frame()).classes;
        while (!suggestions.isEmpty()) {
            long l = suggestions.poll();
            if (!done.containsKey(l) && objects(frame()).containsKey(l)) {
                propose(l, Source.SUGGESTED);
                return;
            }
        }
        if (fetching) {
            status("waiting for the server's suggestions...");
            return;
        }
        fetching = true;
        status("asking the server for suggestions (model '" + model + "')...");
        SuggestionFetcher.fetch(image, labels, frame(), model, SUGGEST_N, new ArrayList<>(done.keySet()),
                found -> {
                    fetching = false;
                    suggestions.addAll(found);
                    if (found.isEmpty()) status("the server suggests no more objects");
                    else if (window.isShowing()) proposeSuggested();
                },
                error -> {
                    fetching = false;
                    status("suggestions failed: " + error);
                    sink.log("PhenoSort: suggestions failed: " + error);
                });
    }

    /** s in live mode: the object the live model is least sure of. */
    private void proposeLeastCertain() {
        if (frame() != live.frame()) {
            status("live mode follows time point " + live.frame() + ": s proposes objects there");
            return;
        }
        Map<Long, Integer> done = editor.read(frame()).classes;
        long label = live.leastCertain(done.keySet());
        if (label == 0 || !objects(frame()).containsKey(label)) {
            live.showStatus();
            return;
        }
        propose(label, Source.SUGGESTED);
        status("object " + label + " (least certain: " + live.describe(label) + "): press 1-9");
    }

    private void propose(long label, Source from) {
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
        Overlay o = image.getOverlay();
        if (o == null) o = new Overlay();
        removeDrawings(o, false);
        Map<Long, ObjectGeometry> objs = objects(frame);
        boolean liveOn = live != null && live.isOn();
        for (Map.Entry<Long, Integer> a : r.classes.entrySet()) {
            for (Roi roi : outline(a.getKey(), frame, objs)) {
                roi.setStrokeColor(Glasbey.color(a.getValue()));
                roi.setStrokeWidth(liveOn ? 2 : 1);  // a label stands out over the live model's fills
                o.add(roi);
            }
        }
        if (current != 0 && objs.containsKey(current)) {
            for (Roi roi : outline(current, frame, objs)) {
                Roi c = (Roi) roi.clone();
                c.setStroke(new BasicStroke(2));
                c.setStrokeColor(CURRENT);
                o.add(c);
            }
        }
        image.setOverlay(o);
        String counts = ClassNames.counts(r.classNames, r.counts());
        status(message + "  |  " + counts);
        logCounts(counts);
        if (liveOn) live.labelsChanged();
    }

    private List<Roi> outline(long label, int frame, Map<Long, ObjectGeometry> objs) {
        String key = frame + ":" + label;
        List<Roi> out = outlines.get(key);
        if (out == null) {
            ObjectGeometry g = objs.get(label);
            out = g == null ? new ArrayList<>() : ObjectOutlines.outline(labels, image, g, frame);
            for (Roi roi : out) roi.setProperty(RoiList.DRAWING, "outline");
            outlines.put(key, out);
        }
        return out;
    }

    /** Takes the session's drawings off {@code o}: the outlines, and the live layer too when {@code all}. */
    private static void removeDrawings(Overlay o, boolean all) {
        for (int i = o.size() - 1; i >= 0; i--) {
            String drawing = o.get(i).getProperty(RoiList.DRAWING);
            if (drawing != null && (all || !LiveOverlay.LAYER.equals(drawing))) o.remove(i);
        }
    }

    private void status(String s) {
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

    private Map<Long, ObjectGeometry> objects(int frame) {
        return geometry.computeIfAbsent(frame, f -> ObjectGeometry.measure(labels, f));
    }

    private int frame() {
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
