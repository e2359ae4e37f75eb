package org.phenosort.phenosort.imagej;

import ij.process.LUT;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The Glasbey palette that ImageJ uses for ROI group colours (entry g of {@code luts/Glasbey.lut}
 * colours group g), so class k has one colour in class maps, overlays and ROI groups. The file
 * ships in the jar (Debian's ImageJ has no luts folder); entry 0 is black here so background is dark.
 */
public final class Glasbey {
    private static final byte[] RGB = load();

    private Glasbey() {}

    /** The 8-bit LUT: entry 0 black, entry k the colour of class / ROI group k. */
    public static LUT lut() {
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        System.arraycopy(RGB, 0, r, 0, 256);
        System.arraycopy(RGB, 256, g, 0, 256);
        System.arraycopy(RGB, 512, b, 0, 256);
        r[0] = g[0] = b[0] = 0;
        return new LUT(r, g, b);
    }

    /**
     * Gives ImageJ's ROI groups this palette when its luts folder has no Glasbey.lut (Debian's
     * ImageJ, a bare ij.jar): otherwise every {@code Roi.setGroup} logs "LUT not found" and draws
     * groups in the default ROI colour.
     */
    public static synchronized void provideToRoiGroups() {
        if (provided) return;
        provided = true;
        String dir = ij.IJ.getDir("luts");
        if (dir != null && new java.io.File(dir, "Glasbey.lut").isFile()) return;
        try {
            java.lang.reflect.Field f = ij.gui.Roi.class.getDeclaredField("glasbeyLut");
            f.setAccessible(true);
            if (f.get(null) == null) {
                byte[] r = new byte[256], g = new byte[256], b = new byte[256];
                System.arraycopy(RGB, 0, r, 0, 256);
                System.arraycopy(RGB, 256, g, 0, 256);
                System.arraycopy(RGB, 512, b, 0, 256);
                f.set(null, new LUT(r, g, b));
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // another ImageJ version: groups fall back to ImageJ's own behaviour
        }
    }

    private static boolean provided;

    /** Colour of class k (1-based); classes above 255 reuse the palette. */
    public static Color color(int k) {
        int i = k <= 0 ? 0 : (k - 1) % 255 + 1;
        if (i == 0) return Color.BLACK;
        return new Color(RGB[i] & 0xff, RGB[256 + i] & 0xff, RGB[512 + i] & 0xff);
    }

    private static byte[] load() {
        try (InputStream in = Glasbey.class.getResourceAsStream("/org/phenosort/phenosort/Glasbey.lut")) {
            if (in == null) throw new IllegalStateException("Glasbey.lut is missing from the plugin jar");
            ByteArrayOutputStream out = new ByteArrayOutputStream(768);
            byte[] buf = new byte[768];
            for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
            byte[] rgb = out.toByteArray();
            if (rgb.length != 768) throw new IllegalStateException("Glasbey.lut has " + rgb.length + " bytes, not 768");
            return rgb;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read Glasbey.lut: " + e, e);
        }
    }
}
