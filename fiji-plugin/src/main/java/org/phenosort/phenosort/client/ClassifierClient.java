package org.phenosort.phenosort.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.Java9AlpnClientContext;
import io.netty.handler.ssl.SslContext;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.phenosort.phenosort.proto.v1.AddTrainingDataRequest;
import org.phenosort.phenosort.proto.v1.Annotation;
import org.phenosort.phenosort.proto.v1.CancelTrainingRequest;
import org.phenosort.phenosort.proto.v1.CreateModelRequest;
import org.phenosort.phenosort.proto.v1.DeleteModelRequest;
import org.phenosort.phenosort.proto.v1.GetModelRequest;
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
import org.phenosort.phenosort.proto.v1.SuggestRequest;
import org.phenosort.phenosort.proto.v1.Suggestion;
import org.phenosort.phenosort.proto.v1.Tensor;
import org.phenosort.phenosort.proto.v1.TensorChunk;
import org.phenosort.phenosort.proto.v1.TensorHeader;
import org.phenosort.phenosort.proto.v1.TrainingJob;
import org.phenosort.phenosort.proto.v1.TrainingProgress;
import org.phenosort.phenosort.proto.v1.TrainingSetSummary;
import org.phenosort.phenosort.proto.v1.WatchTrainingRequest;

/**
 * A client of a phenosort server ({@code phenosort serve}): the channel, the deadlines and the
 * error mapping, and the RPCs of models, training and prediction. Tensor uploads, live sessions,
 * the gallery and explanation RPCs and model file transfers are in {@link TensorUploadClient},
 * {@link LiveSessionClient}, {@link InspectionClient} and {@link ModelFileClient}, on this
 * client's channel ({@link #uploads()}, {@link #live()}, {@link #inspect()}, {@link #modelFiles()}).
 * Every call has a deadline; gRPC failures become {@link ClassifierException}s with the status
 * code and the server's message. Close the client to release its channel.
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
    private final TensorUploadClient uploads = new TensorUploadClient(this);
    private final LiveSessionClient live = new LiveSessionClient(this);
    private final InspectionClient inspect = new InspectionClient(this);
    private final ModelFileClient modelFiles = new ModelFileClient(this);

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

    /** Tensor uploads (images and label images that requests then refer to), on this client's channel. */
    public TensorUploadClient uploads() {
        return uploads;
    }

    /** The live-session RPCs, on this client's channel. */
    public LiveSessionClient live() {
        return live;
    }

    /** The class gallery and explanation RPCs, on this client's channel. */
    public InspectionClient inspect() {
        return inspect;
    }

    /** Model file import and export and training reports, on this client's channel. */
    public ModelFileClient modelFiles() {
        return modelFiles;
    }

    /** Upload chunk size the server asked for ({@link #serverInfo}), 0 when it did not say yet. */
    int chunkBytes() {
        return chunkBytes;
    }

    /** The blocking stub with a deadline {@code ms} from now. */
    ObjectClassifierGrpc.ObjectClassifierBlockingStub stub(long ms) {
        return blocking.withDeadlineAfter(ms, TimeUnit.MILLISECONDS);
    }

    /** The blocking stub without a deadline (streams that last as long as their reader wants). */
    ObjectClassifierGrpc.ObjectClassifierBlockingStub blocking() {
        return blocking;
    }

    /** The asynchronous stub (client-streaming calls) with a deadline {@code ms} from now. */
    ObjectClassifierGrpc.ObjectClassifierStub async(long ms) {
        return async.withDeadlineAfter(ms, TimeUnit.MILLISECONDS);
    }

    /** One call to the server (or its whole streamed answer), which may also throw {@code E}. */
    @FunctionalInterface
    interface Rpc<T, E extends Exception> {
        T run() throws E;
    }

    /** Runs {@code rpc}; a gRPC failure becomes a {@link ClassifierException} (code and server message). */
    static <T, E extends Exception> T call(Rpc<T, E> rpc) throws E {
        try {
            return rpc.run();
        } catch (StatusRuntimeException e) {
            throw ClassifierException.of(e);
        }
    }

    /** {@link #call} for answers gathered in memory, where an IOException is a fault of this client. */
    static <T> T gather(Rpc<T, IOException> rpc) {
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
        return predict(model, version, image, Collections.emptyList(), classMap, confidenceMap, classMasks,
                timeoutMs);
    }

    /** As above, for the objects {@code labelIds} only (empty: every object); the maps show only them. */
    public Prediction predict(String model, int version, ImageInput image, Collection<Long> labelIds,
            boolean classMap, boolean confidenceMap, boolean classMasks, long timeoutMs) {
        PredictRequest req = PredictRequest.newBuilder().setModel(model).setVersion(version).setImage(image)
                .addAllLabelIds(labelIds).setClassMap(classMap).setConfidenceMap(confidenceMap)
                .setClassMasks(classMasks).build();
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
}
