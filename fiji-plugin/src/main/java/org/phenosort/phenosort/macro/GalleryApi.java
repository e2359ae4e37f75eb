package org.phenosort.phenosort.macro;

import ij.ImagePlus;
import ij.WindowManager;
import org.phenosort.phenosort.imagej.GalleryTiles;
import org.phenosort.phenosort.imagej.GalleryWindow;

/**
 * Class galleries from macros, e.g.
 * <pre>
 * run("Class Gallery", "image=cells.tif labels=cells-labels.tif model=cells version=0 per_class=8 least_certain=4 tile_size=64 columns=4");
 * r = call("org.phenosort.phenosort.macro.GalleryApi.tile", getTitle(), "1", "0");   // slice 1, first tile
 * c = call("org.phenosort.phenosort.macro.GalleryApi.select", getTitle(), "1", "40", "60");  // as a click
 * </pre>
 * Returns "ok ..." or "error: ...".
 */
public final class GalleryApi {
    private GalleryApi() {}

    /** Tile {@code position} (0-based) of slice {@code slice}: "ok label=L image=T class=K x=X y=Y" (its centre). */
    public static String tile(String galleryTitle, String slice, String position) {
        try {
            GalleryWindow g = gallery(galleryTitle);
            int s = Integer.parseInt(slice.trim()), p = Integer.parseInt(position.trim());
            if (p < 0 || p >= g.tiles.tiles(s).size()) {
                return "error: slice " + s + " has " + g.tiles.tiles(s).size() + " tiles, no tile " + p;
            }
            GalleryTiles.Tile t = g.tiles.tiles(s).get(p);
            double[] c = t.centre();
            return "ok label=" + t.label + " image=" + t.image + " class=" + t.classIndex + " x=" + (int) c[0]
                    + " y=" + (int) c[1];
        } catch (NumberFormatException e) {
            return "error: slice and position are integers";
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
    }

    /** What a click at gallery pixel (x, y) of slice {@code slice} does: "ok label=L image=T", or "none". */
    public static String select(String galleryTitle, String slice, String x, String y) {
        try {
            GalleryWindow g = gallery(galleryTitle);
            GalleryTiles.Tile t = g.select(Integer.parseInt(slice.trim()), Double.parseDouble(x),
                    Double.parseDouble(y));
            return t == null ? "none" : "ok label=" + t.label + " image=" + t.image;
        } catch (NumberFormatException e) {
            return "error: slice, x and y are numbers";
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
    }

    /** The object selected in the gallery's source image: "ok label=L image=T" (L 0: none). */
    public static String selected(String galleryTitle) {
        try {
            GalleryWindow g = gallery(galleryTitle);
            return "ok label=" + g.selectedObject() + " image=" + g.source().getTitle();
        } catch (RuntimeException e) {
            return "error: " + e.getMessage();
        }
    }

    private static GalleryWindow gallery(String title) {
        ImagePlus imp = WindowManager.getImage(title);
        if (imp == null) throw new IllegalArgumentException("no open image titled '" + title + "'");
        GalleryWindow g = GalleryWindow.of(imp);
        if (g == null) throw new IllegalArgumentException("'" + title + "' is not a PhenoSort class gallery");
        return g;
    }
}
