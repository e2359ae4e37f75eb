package org.phenosort.phenosort.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/** A server started with --token: the client's bearer token is required and checked. */
public class TokenTest {
    private static final String TOKEN = "s3cret-token";
    private static Process server;
    private static int port;
    private static Path dir;

    @BeforeClass
    public static void start() throws Exception {
        String python = System.getProperty("phenosort.python", "../.venv/bin/python");
        File exe = new File(python);
        if (!exe.isAbsolute()) exe = new File(System.getProperty("user.dir"), python);
        dir = Files.createTempDirectory("phenosort-token");
        File portFile = dir.resolve("port").toFile();
        ProcessBuilder pb = new ProcessBuilder(exe.getPath(), "-m", "phenosort.cli", "serve", "--port", "0",
                "--store", dir.resolve("store").toString(), "--port-file", portFile.getPath(), "--token", TOKEN);
        pb.redirectErrorStream(true);
        pb.redirectOutput(dir.resolve("server.log").toFile());
        server = pb.start();
        Path logFile = dir.resolve("server.log");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String log = "";
        while (System.nanoTime() < end && server.isAlive() && !log.contains("READY ")) {
            Thread.sleep(100);
            log = new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8);
        }
        assertTrue("server did not start: " + log, log.contains("READY ") && server.isAlive());
        port = Integer.parseInt(new String(Files.readAllBytes(portFile.toPath())).trim());
    }

    @AfterClass
    public static void stop() throws Exception {
        if (server != null) {
            server.destroy();
            if (!server.waitFor(15, TimeUnit.SECONDS)) server.destroyForcibly();
        }
        if (dir != null) ClassifierClientTest.deleteTree(dir);
    }

    @Test
    public void rightTokenIsAccepted() {
        try (ClassifierClient c = new ClassifierClient("127.0.0.1", port, TOKEN, false, null)) {
            assertEquals("v1", c.serverInfo().getApiVersion());
        }
    }

    @Test
    public void missingOrWrongTokenIsUnauthenticated() {
        for (String token : new String[] {null, "wrong"}) {
            try (ClassifierClient c = new ClassifierClient("127.0.0.1", port, token, false, null)) {
                c.serverInfo();
                fail("accepted token " + token);
            } catch (ClassifierException e) {
                assertEquals("UNAUTHENTICATED", e.getCodeName());
                assertTrue(e.getServerMessage(), e.getServerMessage().contains("Bearer"));
            }
        }
    }
}
