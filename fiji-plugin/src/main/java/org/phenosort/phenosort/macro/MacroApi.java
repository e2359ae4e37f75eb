package org.phenosort.phenosort.macro;

import org.phenosort.phenosort.client.ClassifierException;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.proto.v1.ServerInfo;

/**
 * Static entry points for ImageJ macros that also work without a display, e.g.
 * <pre>
 * r = call("org.phenosort.phenosort.macro.MacroApi.connect", "127.0.0.1", "50051");
 * if (startsWith(r, "error")) exit(r);
 * print(call("org.phenosort.phenosort.macro.MacroApi.serverInfo"));
 * </pre>
 * Every method returns a string; failures return "error: CODE: message" instead of throwing.
 */
public final class MacroApi {
    private MacroApi() {}

    /** Stores the server address (as Connect to Server does) and checks it; returns the server info. */
    public static String connect(String host, String port) {
        return connect(host, port, "");
    }

    public static String connect(String host, String port, String token) {
        try {
            int p = Integer.parseInt(port.trim().replaceAll("\\.0+$", ""));
            ServerSettings.set(host, p, token, ServerSettings.tls());
            return describe(ServerSettings.check());
        } catch (NumberFormatException e) {
            return "error: invalid port " + port;
        } catch (ClassifierException e) {
            return "error: " + e.getMessage();
        } catch (IllegalArgumentException e) {
            return "error: " + e.getMessage();
        }
    }

    /** The info of the stored server as "key=value" pairs separated by spaces. */
    public static String serverInfo() {
        try {
            return describe(ServerSettings.check());
        } catch (ClassifierException e) {
            return "error: " + e.getMessage();
        }
    }

    private static String describe(ServerInfo info) {
        return "phenosort=" + info.getPhenosortVersion() + " api=" + info.getApiVersion() + " torch="
                + info.getTorchVersion() + " device=" + info.getDevice() + " networks="
                + String.join(",", info.getNetworksList()) + " host=" + ServerSettings.host() + " port="
                + ServerSettings.port();
    }
}
