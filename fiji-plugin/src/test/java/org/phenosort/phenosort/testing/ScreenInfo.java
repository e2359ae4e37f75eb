package org.phenosort.phenosort.testing;

import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.ImageCanvas;
import java.awt.Point;
import java.awt.Rectangle;

/**
 * Test helper called from a GUI macro: where an image's canvas is on the screen, so the
 * out-of-process {@link RobotDriver} can click image pixels.
 */
public final class ScreenInfo {
    private ScreenInfo() {}

    /** "screenX screenY magnification srcX srcY" of the canvas of the image titled {@code title}. */
    public static String canvas(String title) {
        ImagePlus imp = WindowManager.getImage(title);
        if (imp == null || imp.getCanvas() == null) return "error: no window for '" + title + "'";
        ImageCanvas ic = imp.getCanvas();
        Point p = ic.getLocationOnScreen();
        Rectangle src = ic.getSrcRect();
        return p.x + " " + p.y + " " + ic.getMagnification() + " " + src.x + " " + src.y;
    }

    /** ImageJ's status bar text now (a macro's call() needs an argument: it is ignored). */
    public static String statusBar(String ignored) {
        return ij.ImageJ.getStatusBarText();
    }

    /** Moves and sizes a window by title (ImageJ's main window, the Log, the ROI Manager...), for screenshots. */
    public static String place(String title, String x, String y, String width, String height) {
        java.awt.Window w = "ImageJ".equals(title) ? ij.IJ.getInstance() : WindowManager.getWindow(title);
        if (w == null) return "error: no window '" + title + "'";
        w.setBounds(Integer.parseInt(x), Integer.parseInt(y), Integer.parseInt(width), Integer.parseInt(height));
        w.validate();
        return "ok";
    }
}
