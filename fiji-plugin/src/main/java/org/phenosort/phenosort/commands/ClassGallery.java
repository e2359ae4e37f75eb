package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.plugin.PlugIn;
import java.util.List;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.imagej.GalleryWindow;
import org.phenosort.phenosort.imagej.LabelImages;
import org.phenosort.phenosort.proto.v1.GalleryMontage;
import org.phenosort.phenosort.workflow.AnnotatedImage;
import org.phenosort.phenosort.workflow.Classification;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Class Gallery: the objects of the image sorted by predicted class,
 * most sure first, and the least certain ones, as an RGB stack (one slice per class, then the
 * least certain; each tile captioned with the image and the label ID). Clicking a tile selects
 * that object in the image (and makes it the current object of Annotate Objects, whose keys
 * 1-9 then correct its class). Recordable, e.g.
 * {@code run("Class Gallery", "image=blobs.tif labels=labels.tif model=cells version=0 per_class=48
 * least_certain=24 tile_size=96 columns=8");}
 */
public class ClassGallery implements PlugIn {

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        String[] titles = CommandSupport.imageTitles(2);
        if (titles == null) return;
        String[] models = CommandSupport.modelNames();
        if (models == null) return;
        GenericDialog gd = new GenericDialog("PhenoSort: Class Gallery");
        CommandSupport.addImageChoices(gd, titles);
        CommandSupport.addModelChoices(gd, models);
        gd.addNumericField(MacroKeys.field(MacroKeys.PER_CLASS, "Per_class (tiles, spread over the confidence ranking)"), 48, 0);
        gd.addNumericField(MacroKeys.field(MacroKeys.LEAST_CERTAIN, "Least_certain (tiles, 0 = none)"), 24, 0);
        gd.addNumericField(MacroKeys.field(MacroKeys.TILE_SIZE, "Tile_size (pixels)"), 96, 0);
        gd.addNumericField(MacroKeys.field(MacroKeys.COLUMNS, "Columns"), 8, 0);
        gd.showDialog();
        if (gd.wasCanceled()) return;
        ImagePlus image = WindowManager.getImage(gd.getNextChoice());
        ImagePlus labels = WindowManager.getImage(gd.getNextChoice());
        String model = gd.getNextChoice();
        int version = (int) gd.getNextNumber();
        int perClass = (int) gd.getNextNumber();
        int leastCertain = (int) gd.getNextNumber();
        int tileSize = (int) gd.getNextNumber();
        int columns = (int) gd.getNextNumber();
        ij.Prefs.set("phenosort.model", model);
        gallery(image, labels, model, version, perClass, leastCertain, tileSize, columns);
    }

    /**
     * Asks the server for the gallery of the current frame of {@code image} and shows it; returns
     * it, or null after reporting an error. {@code leastCertain} 0 leaves that montage out.
     */
    public static GalleryWindow gallery(ImagePlus image, ImagePlus labels, String model, int version, int perClass,
            int leastCertain, int tileSize, int columns) {
        if (perClass < 1 || leastCertain < 0 || tileSize < 16 || columns < 1) {
            CommandSupport.error("Class Gallery needs per_class >= 1, least_certain >= 0, tile_size >= 16 and "
                    + "columns >= 1; got " + perClass + ", " + leastCertain + ", " + tileSize + ", " + columns);
            return null;
        }
        IJ.showStatus("PhenoSort: gallery of " + image.getTitle() + "...");
        GalleryWindow g;
        try (ClassifierClient client = ServerSettings.newClient()) {
            LabelImages.checkPair(image, labels);
            int frame = image.getNFrames() > 1 ? image.getT() : 1;
            List<GalleryMontage> montages = client.inspect().gallery(model, version,
                    AnnotatedImage.upload(client, image, labels, frame, image.getTitle()), perClass,
                    leastCertain == 0 ? -1 : leastCertain, tileSize, columns);
            String title = Classification.baseName(image.getTitle()) + "-gallery";
            g = GalleryWindow.of(montages, image, labels, frame, title);
        } catch (RuntimeException e) {
            CommandSupport.error("Class gallery", e);
            return null;
        }
        g.show();
        StringBuilder s = new StringBuilder("PhenoSort: class gallery of ").append(image.getTitle()).append(" with '")
                .append(model).append("':");
        for (int k = 1; k <= g.tiles.size(); k++) {
            s.append(' ').append(g.tiles.name(k)).append('=').append(g.tiles.tiles(k).size());
        }
        s.append(" (click a tile to select its object)");
        IJ.log(s.toString());
        IJ.showStatus(s.toString());
        return g;
    }
}
