package org.phenosort.phenosort.imagej;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.Roi;
import ij.process.FloatProcessor;
import ij.process.ShortProcessor;
import java.awt.Rectangle;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** Object geometry and outline ROIs from label images, keyed by the user's IDs. */
public class ObjectRoisTest {

    private static ImagePlus twoObjects() {
        ShortProcessor ip = new ShortProcessor(20, 10);
        for (int y = 2; y < 6; y++) for (int x = 1; x < 5; x++) ip.set(x, y, 7);        // 4x4 square
        for (int y = 0; y < 10; y++) for (int x = 12; x < 15; x++) ip.set(x, y, 40000); // 3x10 bar
        return new ImagePlus("labels", ip);
    }

    @Test
    public void geometryOfEachObject() {
        Map<Long, ObjectGeometry> g = ObjectGeometry.measure(twoObjects(), 1);
        assertEquals(Arrays.asList(7L, 40000L), Arrays.asList(g.keySet().toArray()));
        ObjectGeometry square = g.get(7L);
        assertEquals(16, square.voxels);
        assertEquals(2.5, square.centroidX(), 1e-9);
        assertEquals(3.5, square.centroidY(), 1e-9);
        assertEquals(12, g.get(40000L).minX);
        assertEquals(9, g.get(40000L).maxY);
    }

    @Test
    public void outlinesAreNamedGroupedAndCoverTheObject() {
        ImagePlus labels = twoObjects();
        List<Roi> rois = ObjectRois.outlines(labels, labels, 1, ObjectGeometry.measure(labels, 1),
                label -> label == 7 ? 2 : 1, Arrays.asList("dim", "bright"));
        assertEquals(2, rois.size());
        Roi square = rois.get(0);
        assertEquals("bright-7", square.getName());
        assertEquals(2, square.getGroup());
        assertEquals("7", square.getProperty("label"));
        assertEquals(Glasbey.color(2), square.getStrokeColor());
        assertEquals(new Rectangle(1, 2, 4, 4), square.getBounds());
        assertEquals(new Rectangle(12, 0, 3, 10), rois.get(1).getBounds());
        assertEquals(7L, RoiAnnotations.labelOf(square));
    }

    @Test
    public void floatLabelsAboveShortRangeAndStacks() {
        ImageStack stack = new ImageStack(8, 8);
        for (int z = 0; z < 3; z++) {
            FloatProcessor fp = new FloatProcessor(8, 8);
            if (z > 0) for (int y = 2; y < 5; y++) for (int x = 2; x < 5; x++) fp.setf(x, y, 16_000_000f);
            stack.addSlice(fp);
        }
        ImagePlus labels = new ImagePlus("3d", stack);
        Map<Long, ObjectGeometry> g = ObjectGeometry.measure(labels, 1);
        ObjectGeometry o = g.get(16_000_000L);
        assertEquals(18, o.voxels);
        assertEquals(1, o.minZ);
        List<Roi> rois = ObjectRois.outlines(labels, labels, 1, g, label -> 1, Arrays.asList("a"));
        int slice = rois.get(0).getPosition();  // a slice of the object (1-based 2 or 3)
        assertTrue(String.valueOf(slice), slice == 2 || slice == 3);
        assertTrue(rois.get(0).getBounds().width == 3);
    }
}
