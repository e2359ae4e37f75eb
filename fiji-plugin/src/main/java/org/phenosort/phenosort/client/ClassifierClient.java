package org.phenosort.phenosort.client;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.Java9AlpnClientContext;
import io.netty.handler.ssl.SslContext;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.phenosort.phenosort.proto.v1.CancelTrainingRequest;
import org.phenosort.phenosort.proto.v1.CloseLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.CommitLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.CommitLiveSessionResponse;
import org.phenosort.phenosort.proto.v1.LiveSessionInfo;
import org.phenosort.phenosort.proto.v1.LiveUpdate;
import org.phenosort.phenosort.proto.v1.OpenLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.UpdateLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.WatchLiveSessionRequest;
import org.phenosort.phenosort.proto.v1.DeleteModelRequest;
import org.phenosort.phenosort.proto.v1.ExplainRequest;
import org.phenosort.phenosort.proto.v1.ExplainResponse;
import org.phenosort.phenosort.proto.v1.GalleryMontage;
import org.phenosort.phenosort.proto.v1.GalleryRequest;
import org.phenosort.phenosort.proto.v1.GetModelRequest;
import org.phenosort.phenosort.proto.v1.SuggestRequest;
import org.phenosort.phenosort.proto.v1.Suggestion;
import java.io.InputStream;
import org.phenosort.phenosort.proto.v1.AddTrainingDataRequest;
import org.phenosort.phenosort.proto.v1.Annotation;
import org.phenosort.phenosort.proto.v1.CreateModelRequest;
import org.phenosort.phenosort.proto.v1.ExportModelRequest;
import org.phenosort.phenosort.proto.v1.FileChunk;
import org.phenosort.phenosort.proto.v1.GetServerInfoRequest;
import org.phenosort.phenosort.proto.v1.ImageInput;
import org.phenosort.phenosort.proto.v1.ListModelsRequest;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.proto.v1.ObjectClassifierGrpc;
import org.phenosort.phenosort.proto.v1.ObjectResult;
import org.phenosort.phenosort.proto.v1.PredictRequest;
import org.phenosort.phenosort.proto.v1.PredictResponse;
import org.phenosort.phenosort.proto.v1.ServerInfo;
import org.phenosort.phenosort.proto.v1.StartTrainingRequest;
import org.phenosort.phenosort.proto.v1.Tensor;
import org.phenosort.phenosort.proto.v1.TensorChunk;
import org.phenosort.phenosort.proto.v1.TensorHeader;
import org.phenosort.phenosort.proto.v1.TensorRef;
import org.phenosort.phenosort.proto.v1.TrainingJob;
import org.phenosort.phenosort.proto.v1.TrainingProgress;
import org.phenosort.phenosort.proto.v1.TrainingSetSummary;
import org.phenosort.phenosort.proto.v1.WatchTrainingRequest;

/**
 * A client of a phenosort server ({@code phenosort serve}). Every call has a deadline; gRPC
 * failures become {@link ClassifierException}s with the status code and the server's message.
 * Close the client to release its channel.
 */
public final class ClassifierClient implements AutoCloseable {
    /** Default deadline of short calls (server info, model lists...). */
    public static final long DEFAULT_TIMEOUT_MS = 30_000;
    /** Largest message accepted from the server. */
    public static final int MAX_INBOUND_BYTES = 256 << 20;
    /** Upload chunk size when the server does not say. */
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;

    private final String host;
    private final int port;
    private final ManagedChannel channel;
    private final ObjectClassifierGrpc.ObjectClassifierBlockingStub blocking;
    private final ObjectClassifierGrpc.ObjectClassifierStub async;
    private volatile long timeoutMs = DEFAULT_TIMEOUT_MS;
    private volatile int chunkBytes = 0;

    /** A plaintext connection without token. */
    public ClassifierClient(String host, int port) {
        this(host, port, null, false, null);
    }

    /**
     * @param token     sent as "authorization: Bearer token" on every call; null or empty: none
     * @param tls       use TLS
     * @param trustCert PEM file of the CA (or self-signed certificate) to trust; null: the system's
     */
    public ClassifierClient(String host, int port, String token, boolean tls, File trustCert) {
        if (host == null || host.trim().isEmpty()) throw new IllegalArgumentException("no server host given");
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("invalid port " + port);
        this.host = host.trim();
        this.port = port;
        // forAddress directly: a ServiceLoader lookup of channel providers fails under ImageJ's class loader
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(this.host, port)
                .maxInboundMessageSize(MAX_INBOUND_BYTES)
                .userAgent("phenosort-fiji");
        if (tls) {
            builder.useTransportSecurity();
            try {
                builder.sslContext(tlsContext(trustCert));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read certificate " + trustCert + ": " + e.getMessage(), e);
            }
        } else {
            builder.usePlaintext();
        }
        if (token != null && !token.isEmpty()) builder.intercept(new BearerToken(token));
        channel = builder.build();
        blocking = ObjectClassifierGrpc.newBlockingStub(channel);
        async = ObjectClassifierGrpc.newStub(channel);
    }

    /**
     * A client on a channel made elsewhere, e.g. an in-process one in tests; closing the client
     * shuts the channel down. {@code host} and {@code port} only describe it.
     */
    ClassifierClient(ManagedChannel channel, String host, int port) {
        this.host = host;
        this.port = port;
        this.channel = channel;
        blocking = ObjectClassifierGrpc.newBlockingStub(channel);
        async = ObjectClassifierGrpc.newStub(channel);
    }

    /** TLS with ALPN: Netty's own JDK ALPN support where this Netty has it, else the JDK 9+ API. */
    private static SslContext tlsContext(File trustCert) throws IOException {
        try {
            return GrpcSslContexts.forClient().trustManager(trustCert).build();
        } catch (UnsupportedOperationException e) {
            // "JDK provider does not support ALPN protocol": a Netty built without it (Debian's)
            return Java9AlpnClientContext.create(trustCert);
        }
    }

    public String getHost() {
        return host;
    }

    public int getPort() {
        return port;
    }

    /** Deadline of short calls in milliseconds. */
    public ClassifierClient setTimeoutMs(long timeoutMs) {
        this.timeoutMs = timeoutMs;
        return this;
    }

    public long getTimeoutMs() {
        return timeoutMs;
    }

    @Override
    public void close() {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) channel.shutdownNow();
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private ObjectClassifierGrpc.ObjectClassifierBlockingStub stub(long ms) {
        return blocking.withDeadlineAfter(ms, TimeUnit.MILLISECONDS);
    }

    /** One call to the server (or its whole streamed answer), which may also throw {@code E}. */
    @FunctionalInterface
    private interface Rpc<T, E extends Exception> {
        T run() throws E;
    }

    /** Runs {@code rpc}; a gRPC failure becomes a {@link ClassifierException} (code and server message). */
    private static <T, E extends Exception> T call(Rpc<T, E> rpc) throws E {
        try {
            return rpc.run();
        } catch (StatusRuntimeException e) {
            throw ClassifierException.of(e);
        }
    }

    /** {@link #call} for answers gathered in memory, where an IOException is a fault of this client. */
    private static <T> T gather(Rpc<T, IOException> rpc) {
        try {
            return call(rpc);
        } catch (IOException e) {
            throw new ClassifierException(io.grpc.Status.Code.INTERNAL, e.toString(), e);
        }
    }

    // ------------------------------------------------------------------ server

    public ServerInfo serverInfo() {
        ServerInfo info = call(() -> stub(timeoutMs).getServerInfo(GetServerInfoRequest.getDefaultInstance()));
        if (info.getChunkBytes() > 0) chunkBytes = (int) Math.min(info.getChunkBytes(), 4L << 20);
        return info;
    }

    // ------------------------------------------------------------------ tensors

    /** The server's content id of a tensor: sha256 of "dtype|[shape]|axes|" and the sha256 of the bytes. */
    public static String contentId(String dtype, long[] shape, String axes, ByteString data) {
        MessageDigest dataHash = sha256();
        for (ByteBuffer b : data.asReadOnlyByteBufferList()) dataHash.update(b);
        StringBuilder s = new StringBuilder(dtype).append("|[");
        for (int i = 0; i < shape.length; i++) s.append(i > 0 ? ", " : "").append(shape[i]);
        s.append("]|").append(axes == null ? "" : axes).append('|');
        MessageDigest h = sha256();
        h.update(s.toString().getBytes(StandardCharsets.UTF_8));
        h.update(dataHash.digest());
        StringBuilder hex = new StringBuilder("sha256:");
        for (byte b : h.digest()) hex.append(String.format("%02x", b & 0xff));
        return hex.toString();
    }

    public static String contentId(Tensor t) {
        return contentId(t.getDtype(), TensorCodec.longs(t.getShapeList()), t.getAxes(), t.getData());
    }

    /** Result of {@link #upload}: the content id and whether bytes were actually sent. */
    public static final class Upload {
        public final String id;
        public final boolean sent;

        Upload(String id, boolean sent) {
            this.id = id;
            this.sent = sent;
        }

        @Override
        public String toString() {
            return id + (sent ? " (uploaded)" : " (already on the server)");
        }
    }

    public boolean hasTensor(String id) {
        return call(() -> stub(timeoutMs).hasTensor(TensorRef.newBuilder().setId(id).build()).getPresent());
    }

    /** Uploads a tensor in chunks, unless the server already holds it. Returns its content id. */
    public Upload upload(Tensor tensor) {
        String id = contentId(tensor);
        if (hasTensor(id)) return new Upload(id, false);
        int step = chunkBytes > 0 ? chunkBytes : DEFAULT_CHUNK_BYTES;
        ByteString data = tensor.getData();
        // a deadline that grows with the size: 30 s plus 1 s per 8 MB
        long deadline = timeoutMs + data.size() / 8000L;
        SingleReply<TensorRef> reply = new SingleReply<>();
        StreamObserver<TensorChunk> requests =
                async.withDeadlineAfter(deadline, TimeUnit.MILLISECONDS).uploadTensor(reply);
        try {
            TensorHeader header = TensorHeader.newBuilder().setDtype(tensor.getDtype())
                    .addAllShape(tensor.getShapeList()).setAxes(tensor.getAxes()).build();
            int n = data.size();
            int start = 0;
            do {
                int end = Math.min(n, start + step);
                TensorChunk.Builder chunk = TensorChunk.newBuilder().setData(data.substring(start, end));
                if (start == 0) chunk.setHeader(header);
                requests.onNext(chunk.build());
                start = end;
                if (reply.ended()) break; // failed early
            } while (start < n);
            requests.onCompleted();
        } catch (RuntimeException e) {
            requests.onError(e);
            throw ClassifierException.of(e);
        }
        String result = reply.await(deadline + 5000, "upload").getId();
        if (!id.equals(result)) {
            throw new ClassifierException(io.grpc.Status.Code.INTERNAL,
                    "the server's content id " + result + " differs from the client's " + id, null);
        }
        return new Upload(id, true);
    }

    /** Uploads image and labels and describes them for a request. */
    public ImageInput imageInput(Tensor image, Tensor labels, double[] voxelSize, String name) {
        ImageInput.Builder b = ImageInput.newBuilder()
                .setImageId(upload(image).id)
                .setLabelsId(upload(labels).id);
        if (voxelSize != null) for (double v : voxelSize) b.addVoxelSize(v);
        if (name != null) b.setName(name);
        return b.build();
    }

    // ------------------------------------------------------------------ models

    public ModelInfo createModel(String name, List<String> classNames, String settingsJson) {
        CreateModelRequest.Builder b = CreateModelRequest.newBuilder().setName(name).addAllClassNames(classNames);
        if (settingsJson != null) b.setSettingsJson(settingsJson);
        return call(() -> stub(timeoutMs).createModel(b.build()));
    }

    /** A model with its versions and the metadata of {@code version} (0: latest). */
    public ModelInfo getModel(String name, int version) {
        return call(() -> stub(timeoutMs).getModel(GetModelRequest.newBuilder().setName(name).setVersion(version)
                .build()));
    }

    /** Deletes one version, or with {@code version} 0 the whole model and its training set. */
    public void deleteModel(String name, int version) {
        call(() -> stub(timeoutMs).deleteModel(DeleteModelRequest.newBuilder().setName(name).setVersion(version)
                .build()));
    }

    public List<ModelInfo> listModels() {
        return call(() -> stub(timeoutMs).listModels(ListModelsRequest.getDefaultInstance()).getModelsList());
    }

    /**
     * Adds an image's annotations to a model's training set.
     *
     * @param annotations label ID -> class index (1..K)
     */
    public TrainingSetSummary addTrainingData(String model, ImageInput image, Map<Long, Integer> annotations,
            boolean replace) {
        AddTrainingDataRequest.Builder b = AddTrainingDataRequest.newBuilder()
                .setModel(model).setImage(image).setReplace(replace);
        for (Map.Entry<Long, Integer> a : annotations.entrySet()) {
            b.addAnnotations(Annotation.newBuilder().setLabel(a.getKey()).setClassIndex(a.getValue()));
        }
        return call(() -> stub(timeoutMs * 4).addTrainingData(b.build()));
    }

    // ------------------------------------------------------------------ training

    public TrainingJob startTraining(String model, String settingsJson, boolean continueTraining) {
        StartTrainingRequest.Builder b = StartTrainingRequest.newBuilder().setModel(model)
                .setContinueTraining(continueTraining);
        if (settingsJson != null) b.setSettingsJson(settingsJson);
        return call(() -> stub(timeoutMs).startTraining(b.build()));
    }

    /**
     * The progress of a training job, every past event first; ends when the job does.
     * Iteration throws {@link ClassifierException} on failure.
     *
     * @param timeoutMs deadline of the whole watch; 0: none
     */
    public Iterator<TrainingProgress> watchTraining(String jobId, long timeoutMs) {
        ObjectClassifierGrpc.ObjectClassifierBlockingStub s =
                timeoutMs > 0 ? blocking.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS) : blocking;
        Iterator<TrainingProgress> it = call(() -> s.watchTraining(WatchTrainingRequest.newBuilder().setJobId(jobId)
                .build()));
        return new Iterator<TrainingProgress>() {
            @Override
            public boolean hasNext() {
                return call(it::hasNext);
            }

            @Override
            public TrainingProgress next() {
                return call(it::next);
            }
        };
    }

    /** Watches a job to its end, passing each event to {@code onProgress}; returns the final job. */
    public TrainingJob watchTraining(String jobId, long timeoutMs, Consumer<TrainingProgress> onProgress) {
        TrainingJob last = null;
        Iterator<TrainingProgress> it = watchTraining(jobId, timeoutMs);
        while (it.hasNext()) {
            TrainingProgress p = it.next();
            if (onProgress != null) onProgress.accept(p);
            last = p.getJob();
        }
        if (last == null) throw new ClassifierException(io.grpc.Status.Code.UNKNOWN, "no progress from job " + jobId, null);
        return last;
    }

    public TrainingJob cancelTraining(String jobId) {
        return call(() -> stub(timeoutMs).cancelTraining(CancelTrainingRequest.newBuilder().setJobId(jobId).build()));
    }

    // ------------------------------------------------------------------ prediction

    /** Per-object results and output images of a prediction. */
    public static final class Prediction {
        public final List<String> classNames = new ArrayList<>();
        public final List<ObjectResult> objects = new ArrayList<>();
        /** Output tensors by name ("class_map", "confidence_map", "mask:&lt;class&gt;"). */
        public final Map<String, Tensor> outputs = new LinkedHashMap<>();

        public Map<Long, ObjectResult> byLabel() {
            Map<Long, ObjectResult> m = new LinkedHashMap<>();
            for (ObjectResult o : objects) m.put(o.getLabel(), o);
            return Collections.unmodifiableMap(m);
        }
    }

    public Prediction predict(String model, int version, ImageInput image, boolean classMap,
            boolean confidenceMap, boolean classMasks, long timeoutMs) {
        PredictRequest req = PredictRequest.newBuilder().setModel(model).setVersion(version).setImage(image)
                .setClassMap(classMap).setConfidenceMap(confidenceMap).setClassMasks(classMasks).build();
        Prediction out = new Prediction();
        Map<String, TensorHeader> headers = new LinkedHashMap<>();
        Map<String, ByteString.Output> data = new LinkedHashMap<>();
        gather(() -> {
            Iterator<PredictResponse> it = (timeoutMs > 0 ? stub(timeoutMs) : blocking).predict(req);
            while (it.hasNext()) {
                PredictResponse r = it.next();
                if (r.hasObjects()) {
                    if (out.classNames.isEmpty()) out.classNames.addAll(r.getObjects().getClassNamesList());
                    out.objects.addAll(r.getObjects().getObjectsList());
                } else if (r.hasOutput()) {
                    TensorChunk c = r.getOutput();
                    if (c.hasHeader()) {
                        headers.put(c.getName(), c.getHeader());
                        data.put(c.getName(), ByteString.newOutput());
                    }
                    ByteString.Output buf = data.get(c.getName());
                    if (buf == null) {
                        throw new ClassifierException(io.grpc.Status.Code.INTERNAL,
                                "output " + c.getName() + " arrived without a header", null);
                    }
                    c.getData().writeTo(buf);
                }
            }
            return null;
        });
        for (Map.Entry<String, TensorHeader> h : headers.entrySet()) {
            TensorHeader hd = h.getValue();
            out.outputs.put(h.getKey(), Tensor.newBuilder().setDtype(hd.getDtype()).addAllShape(hd.getShapeList())
                    .setAxes(hd.getAxes()).setData(data.get(h.getKey()).toByteString()).build());
        }
        return out;
    }

    /** The {@code n} objects most worth labelling next (smallest margin first), skipping {@code exclude}. */
    public List<Suggestion> suggest(String model, int version, ImageInput image, int n, Iterable<Long> exclude) {
        SuggestRequest.Builder b = SuggestRequest.newBuilder().setModel(model).setVersion(version).setImage(image)
                .setN(n);
        if (exclude != null) b.addAllExclude(exclude);
        return call(() -> stub(timeoutMs * 4).suggest(b.build()).getSuggestionsList());
    }

    /**
     * The class gallery of an image (Gallery RPC): one montage per class, most sure first, then
     * the least certain objects unless {@code leastCertain} is negative. 0 takes the server's
     * default of a count (per class 48, least certain 24, tile size 96, columns 8).
     */
    public List<GalleryMontage> gallery(String model, int version, ImageInput image, int perClass, int leastCertain,
            int tileSize, int columns) {
        GalleryRequest req = GalleryRequest.newBuilder().setModel(model).setVersion(version).setImage(image)
                .setPerClass(perClass).setLeastCertain(Math.max(0, leastCertain))
                .setNoLeastCertain(leastCertain < 0).setTileSize(tileSize).setColumns(columns).build();
        return call(() -> {
            List<GalleryMontage> out = new ArrayList<>();
            Iterator<GalleryMontage> it = stub(timeoutMs * 4).gallery(req);
            while (it.hasNext()) out.add(it.next());
            return out;
        });
    }

    /** The training report of a model version (0: latest): one self-contained HTML page, as bytes. */
    public byte[] trainingReport(String name, int version) {
        return gather(() -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Iterator<FileChunk> it = stub(timeoutMs * 4)
                    .getTrainingReport(ExportModelRequest.newBuilder().setName(name).setVersion(version).build());
            while (it.hasNext()) it.next().getData().writeTo(out);
            return out.toByteArray();
        });
    }

    /** Grad-CAM of object {@code label} for class {@code classIndex} (0: the predicted class). */
    public ExplainResponse explain(String model, int version, ImageInput image, long label, int classIndex) {
        ExplainRequest req = ExplainRequest.newBuilder().setModel(model).setVersion(version).setImage(image)
                .setLabel(label).setClassIndex(classIndex).build();
        return call(() -> stub(timeoutMs * 4).explain(req));
    }

    // ------------------------------------------------------------------ live sessions

    /**
     * Opens a model's live session (or, with {@code attach}, joins the open one); the images in
     * the request were uploaded before (see {@link #imageInput}). The server prepares the
     * watched images' patches before it answers, hence the longer deadline.
     */
    public LiveSessionInfo openLiveSession(OpenLiveSessionRequest request) {
        return call(() -> stub(timeoutMs * 4).openLiveSession(request));
    }

    /** Label changes and images in or out of a live session; returns its state (labels version). */
    public LiveSessionInfo updateLiveSession(UpdateLiveSessionRequest request) {
        return call(() -> stub(timeoutMs * 4).updateLiveSession(request));
    }

    /**
     * The session's stream, without a deadline: its latest update (or state) first, then each
     * new one, until the session closes. Close the stream to stop watching.
     */
    public ServerStream<LiveUpdate> watchLiveSession(String sessionId) {
        WatchLiveSessionRequest request = WatchLiveSessionRequest.newBuilder().setSessionId(sessionId).build();
        return ServerStream.start(() -> call(() -> blocking.watchLiveSession(request)));
    }

    /**
     * Saves the live model as the model's next version once it reflects every label (the
     * server waits for that, up to {@code timeoutMs}); {@code saveLabels} also writes the
     * session's labels into the training set.
     */
    public CommitLiveSessionResponse commitLiveSession(String sessionId, boolean saveLabels, long timeoutMs) {
        CommitLiveSessionRequest request = CommitLiveSessionRequest.newBuilder().setSessionId(sessionId)
                .setSaveLabels(saveLabels).build();
        return call(() -> stub(timeoutMs).commitLiveSession(request));
    }

    /** Ends a live session; the model is free for another. */
    public LiveSessionInfo closeLiveSession(String sessionId) {
        return call(() -> stub(timeoutMs).closeLiveSession(CloseLiveSessionRequest.newBuilder()
                .setSessionId(sessionId).build()));
    }

    // ------------------------------------------------------------------ model files

    /** Imports a model file (as written by export or `phenosort train`) as model {@code name}. */
    public ModelInfo importModel(String name, InputStream in) throws IOException {
        SingleReply<ModelInfo> reply = new SingleReply<>();
        StreamObserver<FileChunk> requests =
                async.withDeadlineAfter(timeoutMs * 10, TimeUnit.MILLISECONDS).importModel(reply);
        byte[] buf = new byte[DEFAULT_CHUNK_BYTES];
        boolean first = true;
        try {
            for (int n; (n = in.read(buf)) > 0 || first; ) {
                FileChunk.Builder c = FileChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, Math.max(n, 0)));
                if (first) c.setName(name);
                first = false;
                requests.onNext(c.build());
                if (n <= 0) break;
            }
            requests.onCompleted();
        } catch (IOException | RuntimeException e) {
            requests.onError(e);
            throw e;
        }
        return reply.await(timeoutMs * 10 + 5000, "import");
    }


    /** Writes a model version (0: latest) as one file to {@code out}; returns the bytes written. */
    public long exportModel(String name, int version, OutputStream out) throws IOException {
        return call(() -> {
            long n = 0;
            Iterator<FileChunk> it = stub(timeoutMs * 10)
                    .exportModel(ExportModelRequest.newBuilder().setName(name).setVersion(version).build());
            while (it.hasNext()) {
                ByteString d = it.next().getData();
                d.writeTo(out);  // an IOException of the caller's stream stays an IOException
                n += d.size();
            }
            return n;
        });
    }

    public byte[] exportModel(String name, int version) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        exportModel(name, version, out);
        return out.toByteArray();
    }

    // ------------------------------------------------------------------ helpers

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Adds "authorization: Bearer token" to every call. */
    static final class BearerToken implements ClientInterceptor {
        private static final Metadata.Key<String> AUTHORIZATION =
                Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
        private final String value;

        BearerToken(String token) {
            this.value = "Bearer " + token;
        }

        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<Q, R>(next.newCall(method, options)) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    headers.put(AUTHORIZATION, value);
                    super.start(listener, headers);
                }
            };
        }
    }
}
