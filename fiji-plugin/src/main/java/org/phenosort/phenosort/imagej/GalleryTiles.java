package org.phenosort.phenosort.imagej;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.phenosort.phenosort.proto.v1.GalleryMontage;
import org.phenosort.phenosort.proto.v1.GalleryTile;

/**
 * Which object each tile of a class gallery shows: slice k of the gallery stack is montage k of
 * the server's reply, and each tile has its box in that montage's pixels. Maps a pixel of the
 * gallery (a click) back to the image and the user's label ID.
 */
public final class GalleryTiles {

    /** One tile: its slice (1-based), box (x1, y1 exclusive) and object. */
    public static final class Tile {
        public final int slice;
        public final int x0, y0, x1, y1;
        public final String image;
        public final long label;
        public final int classIndex;
        public final String className;
        public final float confidence;

        public Tile(int slice, int x0, int y0, int x1, int y1, String image, long label, int classIndex,
                String className, float confidence) {
            this.slice = slice;
            this.x0 = x0;
            this.y0 = y0;
            this.x1 = x1;
            this.y1 = y1;
            this.image = image;
            this.label = label;
            this.classIndex = classIndex;
            this.className = className;
            this.confidence = confidence;
        }

        public boolean contains(double x, double y) {
            return x >= x0 && x < x1 && y >= y0 && y < y1;
        }

        /** The centre of the tile, in gallery pixels. */
        public double[] centre() {
            return new double[] {(x0 + x1) / 2.0, (y0 + y1) / 2.0};
        }

        @Override
        public String toString() {
            return image + " #" + label + " (" + className + " " + String.format("%.2f", confidence) + ")";
        }
    }

    private final List<List<Tile>> slices = new ArrayList<>();
    private final List<String> names = new ArrayList<>();

    /** The tiles of the montages, slice k = montage k (in order). */
    public static GalleryTiles of(List<GalleryMontage> montages) {
        GalleryTiles out = new GalleryTiles();
        for (GalleryMontage m : montages) {
            int slice = out.slices.size() + 1;
            List<Tile> tiles = new ArrayList<>();
            for (GalleryTile t : m.getTilesList()) {
                tiles.add(new Tile(slice, t.getX0(), t.getY0(), t.getX1(), t.getY1(), t.getImage(), t.getLabel(),
                        t.getClassIndex(), t.getClassName(), t.getConfidence()));
            }
            out.slices.add(Collections.unmodifiableList(tiles));
            out.names.add(m.getName());
        }
        return out;
    }

    /** Number of montages (stack slices). */
    public int size() {
        return slices.size();
    }

    /** Montage name of slice {@code slice} (1-based): a class name, or "least_certain". */
    public String name(int slice) {
        return names.get(slice - 1);
    }

    /** Tiles of slice {@code slice} (1-based), in montage order; empty outside the stack. */
    public List<Tile> tiles(int slice) {
        return slice >= 1 && slice <= slices.size() ? slices.get(slice - 1) : Collections.<Tile>emptyList();
    }

    /** The tile under pixel (x, y) of slice {@code slice}, or null (between tiles, captions, title). */
    public Tile at(int slice, double x, double y) {
        for (Tile t : tiles(slice)) {
            if (t.contains(x, y)) return t;
        }
        return null;
    }
}
