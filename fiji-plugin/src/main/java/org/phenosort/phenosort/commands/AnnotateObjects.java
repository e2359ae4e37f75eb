package org.phenosort.phenosort.commands;

import ij.ImagePlus;
import ij.Prefs;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.plugin.PlugIn;
import java.awt.GraphicsEnvironment;
import java.util.ArrayList;
import java.util.List;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.AnnotationSession;
import org.phenosort.phenosort.imagej.ClassNames;
import org.phenosort.phenosort.imagej.LabelImages;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Annotate Objects: starts an interactive annotation session on an
 * image window (see {@link AnnotationSession} for the keys). Recordable:
 * {@code run("Annotate Objects", "image=[cells.tif] labels=[cells-labels.tif] classes=[a,b,c] model=[cells] live");}
 * {@code live} (on by default once a server is connected) classifies every object with the
 * model's live session while the user labels. Without a display use {@code AnnotateApi.annotate} instead.
 */
public class AnnotateObjects implements PlugIn {
    private static final String DEFAULT_CLASSES = "class 1,class 2";

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        if (GraphicsEnvironment.isHeadless() || ij.macro.Interpreter.isBatchMode()) {
            CommandSupport.error("Annotate Objects is interactive and needs image windows (not batch mode); "
                    + "in scripts use call(\"org.phenosort.phenosort.macro.AnnotateApi.annotate\", image, labels, label, class)");
            return;
        }
        String[] titles = shownTitles();
        if (titles.length < 2) {
            CommandSupport.error("Annotate Objects needs two open images: the image and its label image");
            return;
        }
        ImagePlus current = WindowManager.getCurrentImage();
        String image = current != null && current.getWindow() != null ? current.getTitle() : titles[0];
        String labels = CommandSupport.guessLabels(WindowManager.getImage(image), titles);
        List<String> known = ClassNames.fromGroups();
        String classes = known.isEmpty() ? DEFAULT_CLASSES : String.join(",", known);
        boolean connected = ServerSettings.connected();

        GenericDialog gd = new GenericDialog("PhenoSort: Annotate Objects");
        gd.addChoice(MacroKeys.field(MacroKeys.IMAGE, "Image"), titles, image);
        gd.addChoice(MacroKeys.field(MacroKeys.LABELS, "Labels"), titles, labels);
        gd.addStringField(MacroKeys.field(MacroKeys.CLASSES, "Classes (comma-separated; key k = class k)"), classes, 30);
        gd.addStringField(MacroKeys.field(MacroKeys.MODEL, "Model (suggestions, live mode; a new name creates it)"),
                connected ? Prefs.get("phenosort.model", "classifier") : "", 20);
        gd.addCheckbox(MacroKeys.field(MacroKeys.LIVE, "Live model: classify every object while labelling"), connected);
        gd.addMessage("Click an object, press 1-9 to set its class; r or Backspace undoes.\n"
                + "n: a random unannotated object; s: the server's suggested objects (live: the least certain).\n"
                + "Live mode: l shows or hides the live overlay; c saves the live model as a new version.");
        gd.showDialog();
        if (gd.wasCanceled()) return;
        ImagePlus imp = WindowManager.getImage(gd.getNextChoice());
        ImagePlus lab = WindowManager.getImage(gd.getNextChoice());
        List<String> names = ClassNames.parse(gd.getNextString());
        String model = gd.getNextString().trim();
        boolean live = gd.getNextBoolean();
        try {
            if (imp == null) throw new IllegalArgumentException("no such image");
            LabelImages.checkPair(imp, lab);
            AnnotationSession.start(imp, lab, names, model, CommandSupport.IMAGEJ_SINK, live);
            if (live) Prefs.set("phenosort.model", model);
            imp.getWindow().toFront();
        } catch (IllegalArgumentException | IllegalStateException e) {
            CommandSupport.error(e.getMessage());
        }
    }

    private static String[] shownTitles() {
        List<String> out = new ArrayList<>();
        int[] ids = WindowManager.getIDList();
        if (ids != null) {
            for (int id : ids) {
                ImagePlus imp = WindowManager.getImage(id);
                if (imp != null && imp.getWindow() != null) out.add(imp.getTitle());
            }
        }
        return out.toArray(new String[0]);
    }
}
