package org.phenosort.phenosort.client;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.phenosort.phenosort.proto.v1.ImageInput;
import org.phenosort.phenosort.proto.v1.Tensor;
import org.phenosort.phenosort.proto.v1.TensorChunk;
import org.phenosort.phenosort.proto.v1.TensorHeader;
import org.phenosort.phenosort.proto.v1.TensorRef;

/**
 * Content-addressed tensor uploads to a phenosort server: a tensor's content id, and its bytes
 * sent in chunks only when the server does not hold it yet; requests then refer to images by id
 * ({@link #imageInput}). Runs on a {@link ClassifierClient}'s channel, with its deadlines and
 * error mapping; get one with {@link ClassifierClient#uploads()}.
 */
public final class TensorUploadClient {
    private final ClassifierClient client;

    TensorUploadClient(ClassifierClient client) {
        this.client = client;
    }

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
        TensorRef ref = TensorRef.newBuilder().setId(id).build();
        return ClassifierClient.call(() -> client.stub(client.getTimeoutMs()).hasTensor(ref).getPresent());
    }

    /** Uploads a tensor in chunks, unless the server already holds it. Returns its content id. */
    public Upload upload(Tensor tensor) {
        String id = contentId(tensor);
        if (hasTensor(id)) return new Upload(id, false);
        int asked = client.chunkBytes();
        int step = asked > 0 ? asked : ClassifierClient.DEFAULT_CHUNK_BYTES;
        ByteString data = tensor.getData();
        // a deadline that grows with the size: 30 s plus 1 s per 8 MB
        long deadline = client.getTimeoutMs() + data.size() / 8000L;
        SingleReply<TensorRef> reply = new SingleReply<>();
        StreamObserver<TensorChunk> requests = client.async(deadline).uploadTensor(reply);
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

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
