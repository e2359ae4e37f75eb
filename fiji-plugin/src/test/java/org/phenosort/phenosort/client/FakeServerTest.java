package org.phenosort.phenosort.client;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.phenosort.phenosort.proto.v1.ExportModelRequest;
import org.phenosort.phenosort.proto.v1.FileChunk;
import org.phenosort.phenosort.proto.v1.GetModelRequest;
import org.phenosort.phenosort.proto.v1.GetServerInfoRequest;
import org.phenosort.phenosort.proto.v1.ImageInput;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.proto.v1.ObjectClassifierGrpc;
import org.phenosort.phenosort.proto.v1.PredictRequest;
import org.phenosort.phenosort.proto.v1.PredictResponse;
import org.phenosort.phenosort.proto.v1.ServerInfo;
import org.phenosort.phenosort.proto.v1.TensorChunk;
import org.phenosort.phenosort.proto.v1.TensorHeader;
import org.phenosort.phenosort.proto.v1.TrainingJob;
import org.phenosort.phenosort.proto.v1.TrainingProgress;
import org.phenosort.phenosort.proto.v1.WatchTrainingRequest;

/**
 * The client's mapping of answers and failures, against an in-process fake server that answers
 * what each test needs (grpc-core's in-process transport). An addition to
 * {@link ClassifierClientTest}, which runs against the real {@code phenosort serve}: here the
 * server fails in ways the real one rarely does (mid-stream, never answering).
 */
public class FakeServerTest {
    private Server server;
    private ClassifierClient client;

    /** Each RPC of the fake: overridden per test. */
    private ObjectClassifierGrpc.ObjectClassifierImplBase service;

    @Before
    public void start() throws IOException {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new ObjectClassifierGrpc.ObjectClassifierImplBase() {
                    @Override
                    public void getServerInfo(GetServerInfoRequest r, StreamObserver<ServerInfo> o) {
                        service.getServerInfo(r, o);
                    }

                    @Override
                    public void getModel(GetModelRequest r, StreamObserver<ModelInfo> o) {
                        service.getModel(r, o);
                    }

                    @Override
                    public void exportModel(ExportModelRequest r, StreamObserver<FileChunk> o) {
                        service.exportModel(r, o);
                    }

                    @Override
                    public void watchTraining(WatchTrainingRequest r, StreamObserver<TrainingProgress> o) {
                        service.watchTraining(r, o);
                    }

                    @Override
                    public void predict(PredictRequest r, StreamObserver<PredictResponse> o) {
                        service.predict(r, o);
                    }
                }).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        client = new ClassifierClient(channel, "in-process", 1);
    }

    @After
    public void stop() throws InterruptedException {
        client.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    public void anAnswerPassesThrough() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void getServerInfo(GetServerInfoRequest r, StreamObserver<ServerInfo> o) {
                o.onNext(ServerInfo.newBuilder().setApiVersion("v1").setPhenosortVersion("9.9").build());
                o.onCompleted();
            }
        };
        ServerInfo info = client.serverInfo();
        assertEquals("v1", info.getApiVersion());
        assertEquals("9.9", info.getPhenosortVersion());
    }

    @Test
    public void aFailedCallGivesItsCodeAndTheServersMessage() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void getModel(GetModelRequest r, StreamObserver<ModelInfo> o) {
                o.onError(Status.NOT_FOUND.withDescription("model '" + r.getName() + "' does not exist")
                        .asRuntimeException());
            }
        };
        try {
            client.getModel("cells", 0);
            fail("no exception");
        } catch (ClassifierException e) {
            assertEquals(Status.Code.NOT_FOUND, e.getCode());
            assertEquals("model 'cells' does not exist", e.getServerMessage());
            assertEquals("NOT_FOUND: model 'cells' does not exist", e.getMessage());
        }
    }

    @Test
    public void aCallTheServerNeverAnswersEndsAtItsDeadline() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void getServerInfo(GetServerInfoRequest r, StreamObserver<ServerInfo> o) {
                // never answers
            }
        };
        client.setTimeoutMs(300);
        long t0 = System.nanoTime();
        try {
            client.serverInfo();
            fail("no exception");
        } catch (ClassifierException e) {
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode());
        }
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10));
    }

    @Test
    public void aStreamThatFailsMidwayFailsTheExport() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void exportModel(ExportModelRequest r, StreamObserver<FileChunk> o) {
                o.onNext(FileChunk.newBuilder().setData(ByteString.copyFromUtf8("abc")).build());
                o.onError(Status.RESOURCE_EXHAUSTED.withDescription("disk full").asRuntimeException());
            }
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            client.modelFiles().exportModel("cells", 0, out);
            fail("no exception");
        } catch (ClassifierException e) {
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getCode());
            assertEquals("disk full", e.getServerMessage());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertEquals("abc", out.toString());  // what came before the failure
    }

    @Test
    public void theCallersOwnStreamFailureStaysAnIOException() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void exportModel(ExportModelRequest r, StreamObserver<FileChunk> o) {
                o.onNext(FileChunk.newBuilder().setData(ByteString.copyFromUtf8("abc")).build());
                o.onCompleted();
            }
        };
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("no space left");
            }
        };
        try {
            client.modelFiles().exportModel("cells", 0, broken);
            fail("no exception");
        } catch (IOException e) {
            assertEquals("no space left", e.getMessage());
        }
    }

    @Test
    public void aWatchThatFailsAfterSomeEventsFailsTheIteration() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void watchTraining(WatchTrainingRequest r, StreamObserver<TrainingProgress> o) {
                o.onNext(TrainingProgress.newBuilder().setEpoch(1)
                        .setJob(TrainingJob.newBuilder().setJobId(r.getJobId())).build());
                o.onError(Status.ABORTED.withDescription("the server stopped").asRuntimeException());
            }
        };
        Iterator<TrainingProgress> it = client.watchTraining("job-1", 5000);
        List<Integer> epochs = new ArrayList<>();
        try {
            while (it.hasNext()) epochs.add(it.next().getEpoch());
            fail("no exception");
        } catch (ClassifierException e) {
            assertEquals(Status.Code.ABORTED, e.getCode());
            assertEquals("the server stopped", e.getServerMessage());
        }
        assertEquals(1, epochs.size());
    }

    @Test
    public void predictionOutputsAreJoinedFromTheirChunks() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void predict(PredictRequest r, StreamObserver<PredictResponse> o) {
                TensorHeader h = TensorHeader.newBuilder().setDtype("uint8").addShape(2).addShape(3).setAxes("YX")
                        .build();
                o.onNext(PredictResponse.newBuilder().setOutput(TensorChunk.newBuilder().setName("class_map")
                        .setHeader(h).setData(ByteString.copyFrom(new byte[] {1, 2, 0}))).build());
                o.onNext(PredictResponse.newBuilder().setOutput(TensorChunk.newBuilder().setName("class_map")
                        .setData(ByteString.copyFrom(new byte[] {0, 2, 1}))).build());
                o.onCompleted();
            }
        };
        ClassifierClient.Prediction p = client.predict("cells", 0, ImageInput.getDefaultInstance(), true, false,
                false, 5000);
        assertArrayEquals(new byte[] {1, 2, 0, 0, 2, 1}, p.outputs.get("class_map").getData().toByteArray());
        assertEquals("YX", p.outputs.get("class_map").getAxes());
    }

    @Test
    public void anOutputWithoutAHeaderIsAnInternalError() {
        service = new ObjectClassifierGrpc.ObjectClassifierImplBase() {
            @Override
            public void predict(PredictRequest r, StreamObserver<PredictResponse> o) {
                o.onNext(PredictResponse.newBuilder().setOutput(TensorChunk.newBuilder().setName("class_map")
                        .setData(ByteString.copyFrom(new byte[] {1}))).build());
                o.onCompleted();
            }
        };
        try {
            client.predict("cells", 0, ImageInput.getDefaultInstance(), true, false, false, 5000);
            fail("no exception");
        } catch (ClassifierException e) {
            assertEquals(Status.Code.INTERNAL, e.getCode());
            assertTrue(e.getMessage(), e.getServerMessage().contains("without a header"));
        }
    }
}
