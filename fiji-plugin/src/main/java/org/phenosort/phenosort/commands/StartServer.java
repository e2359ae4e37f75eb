package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.Prefs;
import ij.gui.GenericDialog;
import ij.plugin.PlugIn;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Start Server: launches {@code phenosort serve} on this machine with the
 * configured command (e.g. {@code /home/me/phenosort/.venv/bin/phenosort}, or a Python with
 * {@code -m phenosort.cli}), waits until it prints READY and connects to it. The server stops
 * when ImageJ quits. Recordable: {@code run("Start Server", "command=[/path/phenosort] store=[] port=0
 * timeout=120");}
 */
public class StartServer implements PlugIn {
    private static final String COMMAND_KEY = "phenosort.command";
    private static final String STORE_KEY = "phenosort.store";
    private static Process server;

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        GenericDialog gd = new GenericDialog("PhenoSort: Start Server");
        gd.addStringField(MacroKeys.field(MacroKeys.COMMAND, "Command"), Prefs.get(COMMAND_KEY, "phenosort"), 40);
        gd.addDirectoryField(MacroKeys.field(MacroKeys.STORE, "Store (models; empty = the default folder)"), Prefs.get(STORE_KEY, ""), 30);
        gd.addNumericField(MacroKeys.field(MacroKeys.PORT, "Port (0 = any free port)"), 0, 0);
        gd.addNumericField(MacroKeys.field(MacroKeys.TIMEOUT, "Timeout (seconds)"), 120, 0);
        gd.addMessage("Command: the phenosort program of the Python environment where phenosort is\n"
                + "installed, or \"python -m phenosort.cli\" (see the README).");
        gd.showDialog();
        if (gd.wasCanceled()) return;
        String command = gd.getNextString().trim();
        String store = gd.getNextString().trim();
        int port = (int) gd.getNextNumber();
        int timeout = (int) gd.getNextNumber();
        Prefs.set(COMMAND_KEY, command);
        Prefs.set(STORE_KEY, store);
        try {
            String address = start(command, store, port, timeout);
            String[] hostPort = address.split(":");
            ConnectServer.connect(hostPort[0], Integer.parseInt(hostPort[1]), "", false, "");
        } catch (IOException | RuntimeException e) {
            CommandSupport.error("Starting the server (" + command + ") failed:\n" + e.getMessage());
        }
    }

    /** Starts {@code command serve} on loopback; returns "host:port" once it is listening. */
    public static synchronized String start(String command, String store, int port, int timeoutS) throws IOException {
        stop();
        List<String> cmd = new ArrayList<>(Arrays.asList(command.trim().split("\\s+")));
        if (cmd.isEmpty() || cmd.get(0).isEmpty()) throw new IOException("no command given");
        cmd.addAll(Arrays.asList("serve", "--host", "127.0.0.1", "--port", String.valueOf(port)));
        if (store != null && !store.isEmpty()) cmd.addAll(Arrays.asList("--store", new File(store).getPath()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot run '" + cmd.get(0) + "': " + e.getMessage(), e);
        }
        server = p;
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(1000);
        Thread reader = new Thread(() -> {
            // keep reading so the server never blocks on a full pipe; lines go to the Log
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (!lines.offer(line)) IJ.log("phenosort serve: " + line);
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "phenosort-serve-output");
        reader.setDaemon(true);
        reader.start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
        StringBuilder output = new StringBuilder();
        try {
            while (System.nanoTime() < end) {
                String line = lines.poll(200, TimeUnit.MILLISECONDS);
                if (line == null) {
                    if (!p.isAlive() && lines.isEmpty()) break;
                    continue;
                }
                if (line.startsWith("READY ")) {
                    IJ.log("PhenoSort: started " + String.join(" ", cmd) + " (stops when ImageJ quits)");
                    return line.substring(6).trim();
                }
                output.append(line).append('\n');
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stop();
        throw new IOException((p.isAlive() ? "no READY line within " + timeoutS + " s" : "the server exited")
                + (output.length() > 0 ? ":\n" + tail(output.toString()) : ""));
    }

    /** Stops the server this ImageJ started, if any. */
    public static synchronized void stop() {
        if (server != null && server.isAlive()) {
            server.destroy();
            try {
                if (!server.waitFor(10, TimeUnit.SECONDS)) server.destroyForcibly();
            } catch (InterruptedException e) {
                server.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        server = null;
    }

    private static String tail(String s) {
        return s.length() > 2000 ? "..." + s.substring(s.length() - 2000) : s;
    }

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(StartServer::stop, "phenosort-serve-stop"));
    }
}
