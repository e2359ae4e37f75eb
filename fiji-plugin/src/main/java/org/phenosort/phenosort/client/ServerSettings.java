package org.phenosort.phenosort.client;

import ij.Prefs;
import org.phenosort.phenosort.proto.v1.ServerInfo;

/**
 * The server address the PhenoSort commands use: host and port persist in ImageJ's preferences
 * (IJ_Prefs.txt); the token stays in memory for this session only, so it is never written to disk.
 */
public final class ServerSettings {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 50051;
    /** Deadline for the connection check. */
    public static final long CHECK_TIMEOUT_MS = 10_000;

    private static final String HOST_KEY = "phenosort.host";
    private static final String PORT_KEY = "phenosort.port";
    private static final String TLS_KEY = "phenosort.tls";
    private static final String CERT_KEY = "phenosort.certificate";
    private static volatile String token = "";
    private static volatile boolean connected;

    private ServerSettings() {}

    public static String host() {
        return Prefs.get(HOST_KEY, DEFAULT_HOST);
    }

    public static int port() {
        return (int) Prefs.get(PORT_KEY, DEFAULT_PORT);
    }

    public static boolean tls() {
        return Prefs.get(TLS_KEY, false);
    }

    /** PEM file of the certificate (or CA) to trust for TLS; "" trusts the system's CAs. */
    public static String certificate() {
        return Prefs.get(CERT_KEY, "");
    }

    public static String token() {
        return token;
    }

    public static void set(String host, int port, String token, boolean tls) {
        set(host, port, token, tls, certificate());
    }

    public static void set(String host, int port, String token, boolean tls, String certificate) {
        if (certificate != null && !certificate.isEmpty() && !new java.io.File(certificate).isFile()) {
            throw new IllegalArgumentException("TLS certificate " + certificate + ": file not found");
        }
        if (host == null || host.trim().isEmpty()) throw new IllegalArgumentException("no server host given");
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("invalid port " + port);
        Prefs.set(HOST_KEY, host.trim());
        Prefs.set(PORT_KEY, port);
        Prefs.set(TLS_KEY, tls);
        Prefs.set(CERT_KEY, certificate == null ? "" : certificate);
        ServerSettings.token = token == null ? "" : token;
        connected = false;
    }

    /** A client for the stored address; close it after use. */
    public static ClassifierClient newClient() {
        String cert = certificate();
        return new ClassifierClient(host(), port(), token(), tls(), cert.isEmpty() ? null : new java.io.File(cert));
    }

    /** Asks the stored server for its info with a short deadline; on success the server counts as {@link #connected}. */
    public static ServerInfo check() {
        try (ClassifierClient client = newClient()) {
            client.setTimeoutMs(CHECK_TIMEOUT_MS);
            ServerInfo info = client.serverInfo();
            connected = true;
            return info;
        } catch (RuntimeException e) {
            connected = false;
            throw e;
        }
    }

    /**
     * True once a check of the stored address succeeded in this ImageJ session (Connect to
     * Server, Start Server, MacroApi.connect), until the address changes or a check fails.
     * Commands use it for defaults (Annotate Objects: live mode on); it promises nothing about now.
     */
    public static boolean connected() {
        return connected;
    }

    public static String describe(ServerInfo info) {
        return "phenosort " + info.getPhenosortVersion() + " (API " + info.getApiVersion() + ", torch "
                + info.getTorchVersion() + ", " + info.getDevice() + ")";
    }
}
