package org.phenosort.phenosort.commands;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.gui.ImageRoi;
import ij.gui.Overlay;
import ij.gui.Roi;
import ij.plugin.PlugIn;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.LUT;
import java.awt.Rectangle;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.client.TensorCodec;
import org.phenosort.phenosort.imagej.LabelImages;
import org.phenosort.phenosort.proto.v1.ExplainResponse;
import org.phenosort.phenosort.workflow.AnnotatedImage;
import org.phenosort.phenosort.workflow.Classification;
import org.phenosort.phenosort.workflow.MacroKeys;

/**
 * Plugins &gt; PhenoSort &gt; Explain Object: Grad-CAM of the object under the selection (a point or an
 * area ROI) or given by its label: which pixels drove the model's class. Shown as a semi-transparent
 * overlay on the image and as a 32-bit image of the image's size (heatmap placed where the patch
 * was cut, resampled to image pixels; 0 elsewhere). Recordable, e.g.
 * {@code run("Explain Object", "image=blobs.tif labels=labels.tif model=cells version=0 label=12 class=0");}
 */
public class ExplainObject implements PlugIn {

    @Override
    public void run(String arg) {
        CommandSupport.begin();
        String[] titles = CommandSupport.imageTitles(2);
        if (titles == null) return;
        ImagePlus current = WindowManager.getCurrentImage();
        String[] models = CommandSupport.modelNames();
        if (models == null) return;
        GenericDialog gd = new GenericDialog("PhenoSort: Explain Object");
        CommandSupport.addImageChoices(gd, titles);
        CommandSupport.addModelChoices(gd, models);
        gd.addNumericField(MacroKeys.field(MacroKeys.LABEL, "Label (0 = the object under the selection)"), 0, 0);
        gd.addNumericField(MacroKeys.field(MacroKeys.CLASS, "Class (0 = predicted)"), 0, 0);
        gd.showDialog();
        if (gd.wasCanceled()) return;
        ImagePlus image = WindowManager.getImage(gd.getNextChoice());
        ImagePlus labels = WindowManager.getImage(gd.getNextChoice());
        String model = gd.getNextChoice();
        int version = (int) gd.getNextNumber();
        long label = (long) gd.getNextNumber();
        int classIndex = (int) gd.getNextNumber();
        if (label == 0) {
            Roi roi = (current != null ? current : image).getRoi();
            label = roi == null ? 0 : labelUnder(roi, labels, current != null ? current : image);
            if (label == 0) {
                CommandSupport.error("Select an object first: click it with the point tool (or draw on it), "
                        + "or give its label.");
                return;
            }
        }
        explain(image, labels, model, version, label, classIndex);
    }

    /** Explains object {@code label}; shows the overlay and heatmap image; returns the heatmap or null. */
    public static ImagePlus explain(ImagePlus image, ImagePlus labels, String model, int version, long label,
            int classIndex) {
        try (ClassifierClient client = ServerSettings.newClient()) {
            LabelImages.checkPair(image, labels);
            int frame = image.getNFrames() > 1 ? image.getT() : 1;
            ExplainResponse r = client.inspect().explain(model, version,
                    AnnotatedImage.upload(client, image, labels, frame, image.getTitle()), label, classIndex);
            ImagePlus heat = heatmapImage(r, image, label);
            overlay(image, heat);
            heat.show();
            IJ.log("PhenoSort: Grad-CAM of object " + label + " for class " + r.getClassIndex() + " of '" + model
                    + "'");
            return heat;
        } catch (RuntimeException e) {
            CommandSupport.error("Explaining object " + label, e);
            return null;
        }
    }

    /** The object under a point or area ROI (the first point, or the area's centre). */
    static long labelUnder(Roi roi, ImagePlus labels, ImagePlus shownOn) {
        double x, y;
        if (roi.getType() == Roi.POINT) {
            x = roi.getFloatPolygon().xpoints[0];
            y = roi.getFloatPolygon().ypoints[0];
        } else {
            Rectangle b = roi.getBounds();
            x = b.x + b.width / 2.0;
            y = b.y + b.height / 2.0;
        }
        int z = labels.getNSlices() > 1 ? shownOn.getZ() - 1 : 0;
        return LabelImages.label(labels, (int) x, (int) y, z, shownOn.getNFrames() > 1 ? shownOn.getT() : 1);
    }

    /** The heatmap resampled to image pixels at its offset, in an image of the image's size (one slice per z). */
    static ImagePlus heatmapImage(ExplainResponse r, ImagePlus image, long label) {
        ImagePlus patch = TensorCodec.toImagePlus(r.getHeatmap(), "heatmap");
        double scale = r.getScale() > 0 ? r.getScale() : 1;
        boolean is3d = r.getOffsetCount() == 3;
        int oz = is3d ? (int) r.getOffset(0) : 0;
        int oy = (int) r.getOffset(is3d ? 1 : 0), ox = (int) r.getOffset(is3d ? 2 : 1);
        int w = image.getWidth(), h = image.getHeight(), nz = image.getNSlices();
        ij.ImageStack stack = new ij.ImageStack(w, h);
        for (int z = 0; z < nz; z++) {
            FloatProcessor out = new FloatProcessor(w, h);
            int pz = z - oz;  // 3D patches keep their z sampling (scale applies in-plane)
            if (pz >= 0 && pz < patch.getStackSize()) {
                ImageProcessor hp = patch.getStack().getProcessor(pz + 1);
                for (int y = 0; y < h; y++) {
                    int py = (int) Math.floor((y - oy) / scale);
                    if (py < 0 || py >= hp.getHeight()) continue;
                    for (int x = 0; x < w; x++) {
                        int px = (int) Math.floor((x - ox) / scale);
                        if (px >= 0 && px < hp.getWidth()) out.setf(x, y, hp.getf(px, py));
                    }
                }
            }
            stack.addSlice(out);
        }
        ImagePlus heat = new ImagePlus(Classification.baseName(image.getTitle()) + "-gradcam-" + label, stack);
        heat.setCalibration(image.getCalibration().copy());
        heat.setLut(fire());
        heat.resetDisplayRange();
        return heat;
    }

    /** Shows the heatmap of the current slice over {@code image}, half transparent. */
    static void overlay(ImagePlus image, ImagePlus heat) {
        int z = image.getNSlices() > 1 ? image.getZ() : 1;
        ImageProcessor ip = heat.getStack().getProcessor(Math.min(z, heat.getStackSize())).duplicate();
        ip.resetMinAndMax();
        ImageProcessor bytes = ip.convertToByteProcessor();
        bytes.setLut(fire());
        ImageRoi roi = new ImageRoi(0, 0, bytes);
        roi.setOpacity(0.5);
        roi.setZeroTransparent(true);
        roi.setName("PhenoSort Grad-CAM");
        Overlay overlay = image.getOverlay() != null ? image.getOverlay() : new Overlay();
        overlay.add(roi);
        image.setOverlay(overlay);
    }

    /** A black-red-yellow-white ramp (ImageJ's "Fire" is a file Debian's ImageJ lacks). */
    static LUT fire() {
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        for (int i = 0; i < 256; i++) {
            r[i] = (byte) Math.min(255, i * 3);
            g[i] = (byte) Math.max(0, Math.min(255, i * 3 - 255));
            b[i] = (byte) Math.max(0, Math.min(255, i * 3 - 510));
        }
        return new LUT(r, g, b);
    }
}
