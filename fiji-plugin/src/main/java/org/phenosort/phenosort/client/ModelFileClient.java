package org.phenosort.phenosort.client;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Iterator;
import org.phenosort.phenosort.proto.v1.ExportModelRequest;
import org.phenosort.phenosort.proto.v1.FileChunk;
import org.phenosort.phenosort.proto.v1.ModelInfo;

/**
 * The RPCs that move whole files between a model and this machine: model files in (import) and
 * out (export), and a version's training report page. Runs on a {@link ClassifierClient}'s
 * channel, with its deadlines and error mapping; get one with {@link ClassifierClient#modelFiles()}.
 */
public final class ModelFileClient {
    private final ClassifierClient client;

    ModelFileClient(ClassifierClient client) {
        this.client = client;
    }

    /** Imports a model file (as written by export or `phenosort train`) as model {@code name}. */
    public ModelInfo importModel(String name, InputStream in) throws IOException {
        long timeoutMs = client.getTimeoutMs();
        SingleReply<ModelInfo> reply = new SingleReply<>();
        StreamObserver<FileChunk> requests = client.async(timeoutMs * 10).importModel(reply);
        byte[] buf = new byte[ClassifierClient.DEFAULT_CHUNK_BYTES];
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
        return ClassifierClient.call(() -> {
            long n = 0;
            Iterator<FileChunk> it = client.stub(client.getTimeoutMs() * 10)
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

    /** The training report of a model version (0: latest): one self-contained HTML page, as bytes. */
    public byte[] trainingReport(String name, int version) {
        return ClassifierClient.gather(() -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Iterator<FileChunk> it = client.stub(client.getTimeoutMs() * 4)
                    .getTrainingReport(ExportModelRequest.newBuilder().setName(name).setVersion(version).build());
            while (it.hasNext()) it.next().getData().writeTo(out);
            return out.toByteArray();
        });
    }
}
