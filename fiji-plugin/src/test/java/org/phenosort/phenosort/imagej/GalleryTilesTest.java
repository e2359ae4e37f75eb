package org.phenosort.phenosort.imagej;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.Arrays;
import org.junit.Test;
import org.phenosort.phenosort.proto.v1.GalleryMontage;
import org.phenosort.phenosort.proto.v1.GalleryTile;

public class GalleryTilesTest {

    private static GalleryTile tile(long label, int x0, int y0, int size, int k) {
        return GalleryTile.newBuilder().setLabel(label).setX0(x0).setY0(y0).setX1(x0 + size).setY1(y0 + size)
                .setImage("cells.tif").setClassIndex(k).setClassName(k == 1 ? "round" : "square")
                .setConfidence(0.9f).build();
    }

    private static GalleryTiles gallery() {
        // slice 1: two tiles side by side (48 px, 6 px apart); slice 2: one tile on the second row
        GalleryMontage round = GalleryMontage.newBuilder().setName("round").setClassIndex(1)
                .addTiles(tile(70001, 6, 34, 48, 1)).addTiles(tile(12, 60, 34, 48, 1)).build();
        GalleryMontage least = GalleryMontage.newBuilder().setName("least_certain")
                .addTiles(tile(4294967295L, 6, 118, 48, 2)).build();
        return GalleryTiles.of(Arrays.asList(round, least));
    }

    @Test
    public void pixelsMapToTheTileUnderThemAndTheUsersLabel() {
        GalleryTiles g = gallery();
        assertEquals(2, g.size());
        assertEquals("least_certain", g.name(2));
        assertEquals(70001L, g.at(1, 6, 34).label);  // the first pixel of the box
        assertEquals(70001L, g.at(1, 53.9, 81.9).label);  // the last (x1, y1 exclusive)
        assertEquals(12L, g.at(1, 60, 50).label);
        assertEquals("square", g.at(2, 30, 140).className);
        assertEquals(4294967295L, g.at(2, 30, 140).label);  // uint64 IDs as the user's, unchanged
        assertEquals(2, g.at(2, 30, 140).slice);
    }

    @Test
    public void gapsCaptionsAndOtherSlicesHoldNoTile() {
        GalleryTiles g = gallery();
        assertNull(g.at(1, 55, 50));  // the gap between the tiles
        assertNull(g.at(1, 30, 82));  // the caption under the first tile
        assertNull(g.at(1, 30, 10));  // the title
        assertNull(g.at(2, 70, 140));  // slice 2 has no second tile
        assertNull(g.at(3, 30, 50));  // no slice 3
        assertNull(g.at(0, 30, 50));
        assertEquals(0, g.tiles(5).size());
    }

    @Test
    public void tileCentresAreInsideTheirTiles() {
        GalleryTiles g = gallery();
        for (int s = 1; s <= g.size(); s++) {
            for (GalleryTiles.Tile t : g.tiles(s)) {
                double[] c = t.centre();
                assertEquals(t.label, g.at(s, c[0], c[1]).label);
            }
        }
    }
}
