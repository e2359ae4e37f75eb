package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.Macro;
import ij.gui.GenericDialog;
import ij.plugin.PlugIn;
import java.awt.GraphicsEnvironment;
import org.phenosort.phenosort.client.ClassifierException;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.Glasbey;
import org.phenosort.phenosort.proto.v1.ServerInfo;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Connect to Server: stores the server address and checks it.
 * Recordable: {@code run("Connect to Server", "host=127.0.0.1 port=50051 token=[] certificate=[]");}
 * With TLS ({@code tls}), {@code certificate} names a PEM file to trust (a self-signed server
 * certificate or a private CA); empty trusts the system's CAs.
 */
public class ConnectServer implements PlugIn {

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        Glasbey.provideToRoiGroups();  // ROI sets opened after connecting show their class colours
        String options = Macro.getOptions();
        String host = ServerSettings.host();
        int port = ServerSettings.port();
        String token = ServerSettings.token();
        boolean tls = ServerSettings.tls();
        String certificate = ServerSettings.certificate();
        if (GraphicsEnvironment.isHeadless()) {
            // GenericDialog needs AWT; read the macro options directly (none: the stored address)
            if (options == null) options = "";
            host = Macro.getValue(options, MacroKeys.HOST, host);
            port = (int) parse(Macro.getValue(options, MacroKeys.PORT, String.valueOf(port)), port);
            token = Macro.getValue(options, MacroKeys.TOKEN, token);
            tls = options.contains(" " + MacroKeys.TLS) || options.startsWith(MacroKeys.TLS) || options.isEmpty() && tls;
            certificate = Macro.getValue(options, MacroKeys.CERTIFICATE, certificate);
        } else {
            GenericDialog gd = new GenericDialog("PhenoSort: Connect to Server");
            gd.addStringField(MacroKeys.field(MacroKeys.HOST, "Host"), host, 20);
            gd.addNumericField(MacroKeys.field(MacroKeys.PORT, "Port"), port, 0);
            gd.addStringField(MacroKeys.field(MacroKeys.TOKEN, "Token (optional)"), token, 20);
            gd.addCheckbox(MacroKeys.field(MacroKeys.TLS, "TLS"), tls);
            gd.addFileField(MacroKeys.field(MacroKeys.CERTIFICATE, "Certificate (PEM, optional)"), certificate, 20);
            gd.addMessage("Start a server with:  phenosort serve --port " + port);
            gd.showDialog();
            if (gd.wasCanceled()) return;
            host = gd.getNextString().trim();
            port = (int) gd.getNextNumber();
            token = gd.getNextString().trim();
            tls = gd.getNextBoolean();
            certificate = gd.getNextString().trim();
        }
        connect(host, port, token, tls, certificate);
    }

    /** Stores and checks the address; reports success in the log and errors as an error message. */
    public static boolean connect(String host, int port, String token, boolean tls, String certificate) {
        try {
            ServerSettings.set(host, port, token, tls, certificate);
            ServerInfo info = ServerSettings.check();
            IJ.log("PhenoSort: connected to " + host + ":" + port + ", " + ServerSettings.describe(info));
            IJ.showStatus("PhenoSort: connected to " + host + ":" + port);
            return true;
        } catch (ClassifierException e) {
            CommandSupport.error("Cannot reach the PhenoSort server at " + host + ":" + port + "\n" + e.getMessage()
                    + "\nIs `phenosort serve` running there?");
        } catch (IllegalArgumentException e) {
            CommandSupport.error(e.getMessage());
        }
        return false;
    }

    private static double parse(String s, double fallback) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
