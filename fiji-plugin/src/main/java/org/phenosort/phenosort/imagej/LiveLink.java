package org.phenosort.phenosort.imagej;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ClassifierException;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.client.ServerStream;
import org.phenosort.phenosort.proto.v1.CommitLiveSessionResponse;
import org.phenosort.phenosort.proto.v1.ImageInput;
import org.phenosort.phenosort.proto.v1.LabelChange;
import org.phenosort.phenosort.proto.v1.LiveImage;
import org.phenosort.phenosort.proto.v1.LiveSessionInfo;
import org.phenosort.phenosort.proto.v1.LiveState;
import org.phenosort.phenosort.proto.v1.LiveUpdate;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.proto.v1.OpenLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.UpdateLiveSessionRequest;

/**
 * One model's live session on the server, shared by every image annotated in live mode with
 * that model, so labels on several images train one live model. The calls (open, label
 * changes, commit, close) run in order on one thread shared by all links, never on the event
 * dispatch thread; a second thread per link reads the session's stream and hands each update
 * to the images ({@link LiveMode}). The first failure ends the link: every image turns live
 * mode off and one line goes to the Log. The last image to leave closes the session.
 */
final class LiveLink {
    /** Deadline of a commit: the server waits until the live model reflects every label. */
    static final long COMMIT_TIMEOUT_MS = 300_000;
    private static final Map<String, LiveLink> LINKS = new HashMap<>();
    private static final ExecutorService CALLS = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "PhenoSort live calls");
        t.setDaemon(true);
        return t;
    });

    final String model;
    private final String key;
    private final List<LiveMode> members = new CopyOnWriteArrayList<>();
    private ClassifierClient client;  // the calls thread only
    private volatile String sessionId;
    private volatile ServerStream<LiveUpdate> stream;
    private volatile boolean ended;

    private LiveLink(String key, String model) {
        this.key = key;
        this.model = model;
    }

    /** Adds {@code mode}'s image to its model's link, opening the live session when it is the first. */
    static LiveLink join(LiveMode mode) {
        synchronized (LINKS) {
            String key = ServerSettings.host() + ":" + ServerSettings.port() + "/" + mode.model;
            LiveLink link = LINKS.get(key);
            if (link == null || link.ended) {
                link = new LiveLink(key, mode.model);
                LINKS.put(key, link);
            }
            link.members.add(mode);
            LiveLink joined = link;
            CALLS.execute(() -> joined.add(mode));
            return link;
        }
    }

    /** Sends label changes of {@code mode}'s image; the reply's state goes back to it. */
    void send(LiveMode mode, List<LabelChange> changes) {
        CALLS.execute(() -> {
            try {
                if (ended || sessionId == null) return;
                LiveSessionInfo info = client.live().updateLiveSession(UpdateLiveSessionRequest.newBuilder()
                        .setSessionId(sessionId).addAllChanges(changes).build());
                mode.sent(info);
            } catch (RuntimeException e) {
                fail(e);
            } finally {
                mode.sendDone();
            }
        });
    }

    /**
     * Saves the live model as the model's next version, with the labels in its training set;
     * {@code onDone} gets the reply, {@code onError} a one-line message (the session stays on).
     */
    void commit(Consumer<CommitLiveSessionResponse> onDone, Consumer<String> onError) {
        CALLS.execute(() -> {
            if (ended || sessionId == null) {
                onError.accept("the live session is not open");
                return;
            }
            try {
                onDone.accept(client.live().commitLiveSession(sessionId, true, COMMIT_TIMEOUT_MS));
            } catch (RuntimeException e) {
                onError.accept(message(e));
            }
        });
    }

    /**
     * {@code mode}'s image leaves: the session closes when it was the last one; otherwise the
     * image stays in the session unwatched, so its labels keep training the live model.
     */
    void leave(LiveMode mode) {
        boolean last;
        synchronized (LINKS) {
            if (!members.remove(mode)) return;
            last = members.isEmpty();
            if (last) {
                ended = true;
                LINKS.remove(key, this);
            }
        }
        CALLS.execute(() -> {
            if (last) {
                end();
                return;
            }
            ImageInput input = mode.input();
            if (ended || sessionId == null || input == null) return;
            try {
                client.live().updateLiveSession(UpdateLiveSessionRequest.newBuilder().setSessionId(sessionId)
                        .addAddImages(LiveImage.newBuilder().setImage(input).setWatch(false)).build());
            } catch (RuntimeException e) {
                fail(e);
            }
        });
    }

    // ------------------------------------------------------------------ the calls thread

    private void add(LiveMode mode) {
        if (ended || !members.contains(mode)) return;
        try {
            if (client == null) client = ServerSettings.newClient();
            ImageInput input = mode.upload(client);
            LiveImage image = LiveImage.newBuilder().setImage(input).setWatch(true).build();
            LiveSessionInfo info;
            if (sessionId == null) {
                info = open(mode.classNames(), image);
                sessionId = info.getSessionId();
                watch();
            } else {
                info = client.live().updateLiveSession(UpdateLiveSessionRequest.newBuilder().setSessionId(sessionId)
                        .addAddImages(image).build());
            }
            mode.opened(input, info);
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    /** Opens the model's session (creating the model when it does not exist), or joins one opened elsewhere. */
    private LiveSessionInfo open(List<String> classNames, LiveImage image) {
        ModelInfo m;
        try {
            m = client.getModel(model, 0);
        } catch (ClassifierException e) {
            if (e.getCode() != Status.Code.NOT_FOUND) throw e;
            m = client.createModel(model, classNames, null);
        }
        List<String> classes = new ArrayList<>(m.getClassNamesList());
        boolean more = false;
        for (String name : classNames) {
            if (!classes.contains(name)) {
                classes.add(name);
                more = true;
            }
        }
        OpenLiveSessionRequest.Builder request = OpenLiveSessionRequest.newBuilder().setModel(model).addImages(image);
        if (more) request.addAllClasses(classes);
        try {
            return client.live().openLiveSession(request.build());
        } catch (ClassifierException e) {
            if (e.getCode() != Status.Code.FAILED_PRECONDITION) throw e;
            // the model has a session this ImageJ did not open (another client's, or one left
            // by an ImageJ that quit): join it, with its classes
            return client.live().openLiveSession(request.clearClasses().setAttach(true).build());
        }
    }

    private void watch() {
        ServerStream<LiveUpdate> s = client.live().watchLiveSession(sessionId);
        stream = s;
        Thread t = new Thread(() -> read(s), "PhenoSort live updates (" + model + ")");
        t.setDaemon(true);
        t.start();
    }

    private void end() {
        ServerStream<LiveUpdate> s = stream;
        try {
            if (sessionId != null) client.live().closeLiveSession(sessionId);
        } catch (RuntimeException e) {
            // closed or timed out on the server already
        }
        if (s != null) s.close();
        if (client != null) client.close();
        client = null;
    }

    // ------------------------------------------------------------------ the stream's thread

    private void read(ServerStream<LiveUpdate> s) {
        try {
            while (s.hasNext()) {
                LiveUpdate update = s.next();
                for (LiveMode m : members) m.onUpdate(update);
                if (update.getSession().getState() == LiveState.LIVE_STATE_CLOSED) {
                    String why = update.getSession().getMessage();
                    fail("the server closed the live session" + (why.isEmpty() ? "" : ": " + why));
                    return;
                }
            }
            fail("the server ended the live session's stream");
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    // ------------------------------------------------------------------ failure

    private void fail(RuntimeException e) {
        fail(message(e));
    }

    /** Ends the link after an error: every image turns live mode off, the first one logs why. */
    private void fail(String message) {
        List<LiveMode> gone;
        synchronized (LINKS) {
            if (ended) return;
            ended = true;
            LINKS.remove(key, this);
            gone = new ArrayList<>(members);
            members.clear();
        }
        for (int i = 0; i < gone.size(); i++) gone.get(i).failed(message, i == 0);
        CALLS.execute(this::end);
    }

    /** One line for the Log: the server's explanation, never a stack trace. */
    static String message(RuntimeException e) {
        if (e instanceof ClassifierException) {
            ClassifierException c = (ClassifierException) e;
            String text = c.getServerMessage().isEmpty() ? c.getCodeName() : c.getServerMessage();
            if (c.getCode() == Status.Code.UNAVAILABLE) {
                text += " (is the server at " + ServerSettings.host() + ":" + ServerSettings.port() + " running?)";
            }
            return text.replace('\n', ' ');
        }
        String text = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return text.replace('\n', ' ');
    }
}
