package org.phenosort.phenosort.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import ij.ImagePlus;
import ij.process.ShortProcessor;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runners.MethodSorters;
import org.junit.FixMethodOrder;
import org.phenosort.phenosort.proto.v1.ImageInput;
import org.phenosort.phenosort.proto.v1.JobState;
import org.phenosort.phenosort.proto.v1.ModelInfo;
import org.phenosort.phenosort.proto.v1.ObjectResult;
import org.phenosort.phenosort.proto.v1.ServerInfo;
import org.phenosort.phenosort.proto.v1.Tensor;
import org.phenosort.phenosort.proto.v1.TrainingJob;
import org.phenosort.phenosort.proto.v1.TrainingProgress;

/**
 * The client against a real {@code phenosort serve}, started here as a subprocess with the Python
 * of the system property {@code phenosort.python} (default ../.venv/bin/python).
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class ClassifierClientTest {
    private static final long READY_TIMEOUT_S = 120;
    /** Enough epochs for every square to get its class (3 left them all "dim"); no symmetry probes. */
    private static final String TRAIN_SETTINGS = "{\"train_epochs\": 20, \"net_width\": 8, "
            + "\"train_min_epoch_samples\": 32, \"patch_size\": 24, \"symmetry_probe_epochs\": 0}";

    private static Process server;
    private static Path store;
    private static File log;
    private static ClassifierClient client;
    private static String host;
    private static int port;

    /** 96x96 16-bit image with 16 squares, the even ones dim, the odd ones bright; non-consecutive IDs. */
    static final int SIZE = 96;
    static final long[] IDS = new long[16];
    static ImagePlus image, labels;

    @BeforeClass
    public static void startServer() throws Exception {
        String python = System.getProperty("phenosort.python", "../.venv/bin/python");
        File exe = new File(python);
        if (!exe.isAbsolute()) exe = new File(System.getProperty("user.dir"), python);
        assertTrue("no python at " + exe + " (set -Dphenosort.python)", exe.canExecute());
        store = Files.createTempDirectory("phenosort-store");
        File portFile = store.resolve("port").toFile();
        log = store.resolve("server.log").toFile();
        ProcessBuilder pb = new ProcessBuilder(exe.getPath(), "-m", "phenosort.cli", "serve", "--port", "0",
                "--store", store.resolve("store").toString(), "--port-file", portFile.getPath());
        pb.redirectError(log);
        server = pb.start();
        final BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        final BlockingQueue<String> lines = new ArrayBlockingQueue<>(1000);
        Thread reader = new Thread(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) lines.offer(line);
            } catch (IOException ignored) {
                // server gone
            }
        }, "phenosort-server-stdout");
        reader.setDaemon(true);
        reader.start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_TIMEOUT_S);
        String address = null;
        while (address == null && System.nanoTime() < end) {
            String line = lines.poll(200, TimeUnit.MILLISECONDS);
            if (line != null && line.startsWith("READY ")) address = line.substring(6).trim();
            if (line == null && !server.isAlive()) break;
        }
        if (address == null) {
            String err = new String(Files.readAllBytes(log.toPath()), StandardCharsets.UTF_8);
            server.destroyForcibly();
            fail("server did not print READY within " + READY_TIMEOUT_S + " s:\n" + err);
        }
        int colon = address.lastIndexOf(':');
        host = address.substring(0, colon);
        port = Integer.parseInt(address.substring(colon + 1));
        client = new ClassifierClient(host, port);
        makeImages();
    }

    @AfterClass
    public static void stopServer() throws Exception {
        if (client != null) client.close();
        if (server != null) {
            server.destroy(); // SIGTERM
            if (!server.waitFor(15, TimeUnit.SECONDS)) server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (store != null) deleteTree(store);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static void makeImages() {
        Random rng = new Random(1);
        ShortProcessor img = new ShortProcessor(SIZE, SIZE);
        ShortProcessor lab = new ShortProcessor(SIZE, SIZE);
        for (int i = 0; i < SIZE * SIZE; i++) img.set(i, 100 + rng.nextInt(20));
        for (int k = 0; k < 16; k++) {
            IDS[k] = 7 + 37L * k * k; // non-consecutive, up to 8332
            int x0 = (k % 4) * 24 + 6, y0 = (k / 4) * 24 + 6;
            int value = k % 2 == 0 ? 300 : 3000;
            for (int y = y0; y < y0 + 12; y++) {
                for (int x = x0; x < x0 + 12; x++) {
                    img.set(x, y, value + rng.nextInt(50));
                    lab.set(x, y, (int) IDS[k]);
                }
            }
        }
        image = new ImagePlus("synthetic", img);
        labels = new ImagePlus("synthetic-labels", lab);
    }

    @Test
    public void a_serverInfo() {
        ServerInfo info = client.serverInfo();
        assertEquals("v1", info.getApiVersion());
        assertFalse(info.getPhenosortVersion().isEmpty());
        assertTrue(info.getMaxMessageBytes() > 0);
    }

    @Test
    public void b_uploadThenCacheSkip() {
        Tensor t = TensorCodec.toTensor(image);
        TensorUploadClient.Upload first = client.uploads().upload(t);
        assertTrue(first.sent);
        assertEquals(TensorUploadClient.contentId(t), first.id);
        assertTrue(client.uploads().hasTensor(first.id));
        TensorUploadClient.Upload second = client.uploads().upload(t);
        assertFalse(second.sent);
        assertEquals(first.id, second.id);
    }

    @Test
    public void c_uploadInManyChunks() throws Exception {
        // a 3-D float image larger than one chunk
        ij.ImageStack stack = new ij.ImageStack(256, 256);
        Random rng = new Random(3);
        for (int z = 0; z < 12; z++) {
            float[] px = new float[256 * 256];
            for (int i = 0; i < px.length; i++) px[i] = rng.nextFloat();
            stack.addSlice(new ij.process.FloatProcessor(256, 256, px));
        }
        Tensor t = TensorCodec.toTensor(new ImagePlus("big", stack));
        assertTrue(t.getData().size() > 2 << 20);
        TensorUploadClient.Upload up = client.uploads().upload(t);
        assertTrue(up.sent);
        assertTrue(client.uploads().hasTensor(up.id));
    }

    @Test
    public void d_trainAndPredict() throws Exception {
        ModelInfo created = client.createModel("squares", Arrays.asList("dim", "bright"), TRAIN_SETTINGS);
        assertEquals(Arrays.asList("dim", "bright"), created.getClassNamesList());
        boolean listed = false;
        for (ModelInfo m : client.listModels()) listed |= m.getName().equals("squares");
        assertTrue(listed);

        ImageInput input = client.uploads().imageInput(TensorCodec.toTensor(image),
                TensorCodec.labelsToTensor(labels), TensorCodec.voxelSize(image), "synthetic");
        Map<Long, Integer> annotations = new LinkedHashMap<>();
        for (int k = 0; k < 16; k++) annotations.put(IDS[k], k % 2 == 0 ? 1 : 2);
        assertEquals(1, client.addTrainingData("squares", input, annotations, false).getNImages());

        TrainingJob job = client.startTraining("squares", "", false);
        assertFalse(job.getJobId().isEmpty());
        List<TrainingProgress> events = new ArrayList<>();
        TrainingJob last = client.watchTraining(job.getJobId(), 300_000, events::add);
        assertEquals(last.getMessage(), JobState.JOB_STATE_SUCCEEDED, last.getState());
        assertTrue(last.getVersion() >= 1);
        assertFalse(events.isEmpty());

        ClassifierClient.Prediction p = client.predict("squares", 0, input, true, false, false, 120_000);
        assertEquals(Arrays.asList("dim", "bright"), p.classNames);
        Map<Long, ObjectResult> byLabel = p.byLabel();
        assertEquals(16, byLabel.size());
        for (int k = 0; k < 16; k++) {
            ObjectResult r = byLabel.get(IDS[k]);
            assertNotNull("no result for object " + IDS[k], r);
            // the annotated class, not just any class of the model (issue 18)
            assertEquals("class of object " + IDS[k], annotations.get(IDS[k]).intValue(), r.getClassIndex());
            assertEquals(2, r.getProbabilitiesCount());
            int argmax = r.getProbabilities(0) >= r.getProbabilities(1) ? 1 : 2;
            assertEquals("class vs probabilities of object " + IDS[k], argmax, r.getClassIndex());
            assertTrue(r.getInTrainingSet());
        }
        Tensor classMap = p.outputs.get("class_map");
        assertNotNull("no class map in " + p.outputs.keySet(), classMap);
        ImagePlus map = TensorCodec.toImagePlus(classMap, "classes");
        assertEquals(SIZE, map.getWidth());
        assertEquals(SIZE, map.getHeight());
        ShortProcessor lab = (ShortProcessor) labels.getProcessor();
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                int label = lab.get(x, y);
                int expected = label == 0 ? 0 : byLabel.get((long) label).getClassIndex();
                assertEquals("class map at " + x + "," + y, expected, (int) map.getProcessor().getf(x, y));
            }
        }

        byte[] model = client.modelFiles().exportModel("squares", 0);
        assertTrue(model.length > 1000);
    }

    @Test
    public void e_watchingAFinishedJobReplaysItsEvents() throws Exception {
        // its own model and job: no state from d_ (issue 18)
        client.createModel("replay", Arrays.asList("dim", "bright"), "{\"train_epochs\": 1, \"net_width\": 8, "
                + "\"train_min_epoch_samples\": 32, \"patch_size\": 24, \"symmetry_probe_epochs\": 0}");
        ImageInput input = client.uploads().imageInput(TensorCodec.toTensor(image),
                TensorCodec.labelsToTensor(labels), TensorCodec.voxelSize(image), "synthetic");
        Map<Long, Integer> annotations = new LinkedHashMap<>();
        for (int k = 0; k < 16; k++) annotations.put(IDS[k], k % 2 == 0 ? 1 : 2);
        client.addTrainingData("replay", input, annotations, false);
        String jobId = client.startTraining("replay", "", false).getJobId();
        TrainingJob done = client.watchTraining(jobId, 300_000, null);
        assertEquals(done.getMessage(), JobState.JOB_STATE_SUCCEEDED, done.getState());

        // watching again after the end replays the events, ending in the final state
        Iterator<TrainingProgress> it = client.watchTraining(jobId, 30_000);
        List<TrainingProgress> replayed = new ArrayList<>();
        while (it.hasNext()) replayed.add(it.next());
        assertFalse(replayed.isEmpty());
        TrainingProgress last = replayed.get(replayed.size() - 1);
        assertEquals(jobId, last.getJob().getJobId());
        assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJob().getState());
        assertEquals(done.getVersion(), last.getJob().getVersion());
    }

    @Test
    public void f_unknownModelIsNotFound() {
        try {
            client.createModel("dup", Arrays.asList("a", "b"), "");
            client.createModel("dup", Arrays.asList("a", "b"), "");
            fail("a second model with the same name was accepted");
        } catch (ClassifierException e) {
            assertEquals("ALREADY_EXISTS", e.getCodeName());
        }
        try {
            client.startTraining("no-such-model", "", false);
            fail();
        } catch (ClassifierException e) {
            assertEquals(io.grpc.Status.Code.NOT_FOUND, e.getCode());
            assertTrue(e.getServerMessage(), e.getServerMessage().contains("no-such-model"));
        }
        try {
            client.modelFiles().exportModel("no-such-model", 0);
            fail();
        } catch (ClassifierException e) {
            assertEquals("NOT_FOUND", e.getCodeName());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void g_unreachableServerFailsFast() {
        long t0 = System.nanoTime();
        try (ClassifierClient dead = new ClassifierClient("127.0.0.1", 1)) {
            dead.setTimeoutMs(3000);
            dead.serverInfo();
            fail();
        } catch (ClassifierException e) {
            assertEquals("UNAVAILABLE", e.getCodeName());
            assertTrue(e.getMessage(), e.getMessage().toLowerCase().contains("refused"));
        }
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10));
    }

    @Test
    public void h_macroApiHeadless() {
        String r = org.phenosort.phenosort.macro.MacroApi.connect(host, String.valueOf(port));
        assertTrue(r, r.startsWith("phenosort="));
        assertTrue(r, r.contains("api=v1"));
        String info = org.phenosort.phenosort.macro.MacroApi.serverInfo();
        assertTrue(info, info.contains("port=" + port));
        String bad = org.phenosort.phenosort.macro.MacroApi.connect("127.0.0.1", "1");
        assertTrue(bad, bad.startsWith("error: UNAVAILABLE"));
        assertTrue(org.phenosort.phenosort.macro.MacroApi.connect("127.0.0.1", "x").startsWith("error"));
    }

    @Test
    public void i_connectServerCommandWithMacroOptions() {
        Thread t = Thread.currentThread();
        String name = t.getName();
        t.setName("Run$_test");
        try {
            ij.Macro.setOptions("host=" + host + " port=" + port + " token=[]");
            new org.phenosort.phenosort.commands.ConnectServer().run("");
            assertEquals(host, ServerSettings.host());
            assertEquals(port, ServerSettings.port());
        } finally {
            ij.Macro.setOptions(null);
            t.setName(name);
        }
    }
}
