package org.phenosort.phenosort.client;

import org.phenosort.phenosort.proto.v1.CloseLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.CommitLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.CommitLiveSessionResponse;
import org.phenosort.phenosort.proto.v1.LiveSessionInfo;
import org.phenosort.phenosort.proto.v1.LiveUpdate;
import org.phenosort.phenosort.proto.v1.OpenLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.UpdateLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.WatchLiveSessionRequest;

/**
 * The live-session RPCs of a {@link ClassifierClient} (open, update, watch, commit, close), on
 * its channel and with its deadlines and error mapping. Get one with {@link ClassifierClient#live()}.
 */
public final class LiveSessionClient {
    private final ClassifierClient client;

    LiveSessionClient(ClassifierClient client) {
        this.client = client;
    }

    /**
     * Opens a model's live session (or, with {@code attach}, joins the open one); the images in
     * the request were uploaded before (see {@link TensorUploadClient#imageInput}). The server prepares the
     * watched images' patches before it answers, hence the longer deadline.
     */
    public LiveSessionInfo openLiveSession(OpenLiveSessionRequest request) {
        return ClassifierClient.call(() -> client.stub(client.getTimeoutMs() * 4).openLiveSession(request));
    }

    /** Label changes and images in or out of a live session; returns its state (labels version). */
    public LiveSessionInfo updateLiveSession(UpdateLiveSessionRequest request) {
        return ClassifierClient.call(() -> client.stub(client.getTimeoutMs() * 4).updateLiveSession(request));
    }

    /**
     * The session's stream, without a deadline: its latest update (or state) first, then each
     * new one, until the session closes. Close the stream to stop watching.
     */
    public ServerStream<LiveUpdate> watchLiveSession(String sessionId) {
        WatchLiveSessionRequest request = WatchLiveSessionRequest.newBuilder().setSessionId(sessionId).build();
        return ServerStream.start(() -> ClassifierClient.call(() -> client.blocking().watchLiveSession(request)));
    }

    /**
     * Saves the live model as the model's next version once it reflects every label (the
     * server waits for that, up to {@code timeoutMs}); {@code saveLabels} also writes the
     * session's labels into the training set.
     */
    public CommitLiveSessionResponse commitLiveSession(String sessionId, boolean saveLabels, long timeoutMs) {
        CommitLiveSessionRequest request = CommitLiveSessionRequest.newBuilder().setSessionId(sessionId)
                .setSaveLabels(saveLabels).build();
        return ClassifierClient.call(() -> client.stub(timeoutMs).commitLiveSession(request));
    }

    /** Ends a live session; the model is free for another. */
    public LiveSessionInfo closeLiveSession(String sessionId) {
        return ClassifierClient.call(() -> client.stub(client.getTimeoutMs())
                .closeLiveSession(CloseLiveSessionRequest.newBuilder().setSessionId(sessionId).build()));
    }
}
