package org.phenosort.phenosort.imagej;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import ij.ImagePlus;
import ij.gui.Overlay;
import ij.gui.PointRoi;
import ij.gui.Roi;
import ij.process.ShortProcessor;
import java.awt.Color;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** How live predictions are drawn: class colours by name, sure objects filled, unsure ones dashed, in place. */
public class LiveStylesTest {
    private static LiveResults results(long sequence) {
        return LiveResults.of(LiveResultsTest.update(sequence, 2, false), "img", 0);
    }

    @Test
    public void sureAboveTheMarginUnsureBelowNothingWithoutPrediction() {
        LiveResults r = results(1);
        assertEquals(LiveStyles.Kind.SURE, LiveStyles.kind(r.get(5)));      // margin 0.9
        assertEquals(LiveStyles.Kind.SURE, LiveStyles.kind(r.get(30)));     // margin 0.2: the threshold
        assertEquals(LiveStyles.Kind.UNSURE, LiveStyles.kind(r.get(12)));   // margin 0.04
        assertEquals(LiveStyles.Kind.NONE, LiveStyles.kind(null));
    }

    @Test
    public void sessionClassesTakeTheColourOfTheAnnotationClassOfTheSameName() {
        List<String> names = new ArrayList<>(Arrays.asList("square", "round"));
        assertArrayEquals(new int[] {2, 1, 3}, LiveStyles.colourClasses(Arrays.asList("round", "square", "other"), names));
        assertEquals(Arrays.asList("square", "round", "other"), names);  // a new name gets the next colour
    }

    @Test
    public void colours() {
        Color fill = LiveStyles.fill(LiveStyles.Kind.SURE, 3);
        Color glasbey = Glasbey.color(3);
        assertEquals(new Color(glasbey.getRed(), glasbey.getGreen(), glasbey.getBlue(), LiveStyles.FILL_ALPHA), fill);
        assertNull(LiveStyles.fill(LiveStyles.Kind.UNSURE, 3));
        assertNull(LiveStyles.fill(LiveStyles.Kind.NONE, 3));
        assertEquals(glasbey, LiveStyles.stroke(LiveStyles.Kind.UNSURE, 3));
        assertEquals(0, LiveStyles.stroke(LiveStyles.Kind.SURE, 3).getAlpha());
        assertEquals(0, LiveStyles.stroke(LiveStyles.Kind.NONE, 3).getAlpha());
    }

    @Test
    public void applyRestylesOneRoiBackAndForth() {
        LiveResults r = results(1);
        Roi roi = new Roi(0, 0, 10, 10);
        LiveStyles.apply(roi, r.get(12), 2);
        assertNull(roi.getFillColor());
        assertEquals(Glasbey.color(2), roi.getStrokeColor());
        assertNotNull(roi.getStroke().getDashArray());
        assertEquals("square|unsure|0.0400", roi.getProperty(LiveStyles.SHOWN));
        LiveStyles.apply(roi, r.get(5), 1);
        assertEquals(LiveStyles.fill(LiveStyles.Kind.SURE, 1), roi.getFillColor());
        assertNull(roi.getStroke().getDashArray());
        assertEquals("round|sure|0.9000", roi.getProperty(LiveStyles.SHOWN));
        LiveStyles.apply(roi, null, 0);
        assertNull(roi.getFillColor());
        assertEquals(0, roi.getStrokeColor().getAlpha());
        assertNull(roi.getProperty(LiveStyles.SHOWN));
    }

    /** Objects 5, 9, 12, 30 as 4x4 squares; object 7 has no prediction. */
    private static ImagePlus labels() {
        ShortProcessor ip = new ShortProcessor(60, 10);
        long[] ids = {5, 9, 12, 30, 7};
        for (int i = 0; i < ids.length; i++) {
            for (int y = 2; y < 6; y++) for (int x = 10 * i + 1; x < 10 * i + 5; x++) ip.set(x, y, (int) ids[i]);
        }
        return new ImagePlus("labels", ip);
    }

    @Test
    public void theOverlayLayerIsRestyledInPlaceUnderTheOtherRoisAndToggles() {
        ImagePlus labels = labels();
        ImagePlus image = new ImagePlus("image", new ShortProcessor(60, 10));
        Roi annotation = new PointRoi(2, 3);
        image.setOverlay(new Overlay(annotation));
        // an annotation's outline of object 5 equals (by ImageJ's Roi.equals) object 5's live ROI
        Roi outlineOfFive = ObjectOutlines.outline(labels, image, ObjectGeometry.measure(labels, 1).get(5L), 1).get(0);
        image.getOverlay().add(outlineOfFive);
        Map<Long, List<Roi>> rois = LiveOverlay.outlines(labels, image, 1);
        assertEquals(Arrays.asList(5L, 7L, 9L, 12L, 30L), new ArrayList<>(rois.keySet()));
        LiveOverlay layer = new LiveOverlay(image, rois);
        assertEquals("", layer.describe());  // nothing before the first update

        int[] colours = LiveStyles.colourClasses(Arrays.asList("round", "square"), new ArrayList<>(Arrays.asList("round", "square")));
        layer.show(results(1), colours);
        Overlay o = image.getOverlay();
        assertEquals(7, o.size());
        assertSame(annotation, o.get(5));  // the layer lies under what was there
        assertSame(outlineOfFive, o.get(6));
        assertEquals("5|round|sure|0.9000;9|square|sure|0.8000;12|square|unsure|0.0400;30|round|sure|0.2000",
                layer.describe());
        Roi twelve = rois.get(12L).get(0);
        assertEquals(LiveOverlay.LAYER, twelve.getProperty(RoiList.DRAWING));

        // a second update: the same ROIs, restyled; no second layer
        LiveResults second = LiveResults.of(LiveResultsTest.update(2, 3, false).toBuilder()
                .setImages(1, LiveResultsTest.update(2, 3, false).getImages(1).toBuilder().setMargin(2, 0.7f)).build(),
                "img", 0);
        layer.show(second, colours);
        assertEquals(7, image.getOverlay().size());
        assertSame(twelve, rois.get(12L).get(0));
        assertTrue(Arrays.asList(image.getOverlay().toArray()).stream().anyMatch(r -> r == twelve));
        assertEquals(LiveStyles.fill(LiveStyles.Kind.SURE, 2), twelve.getFillColor());

        assertTrue(!layer.toggle());
        assertEquals("", layer.describe());
        assertEquals(2, image.getOverlay().size());
        assertTrue(layer.toggle());
        assertEquals(7, image.getOverlay().size());
        layer.remove();
        assertEquals(Arrays.asList(annotation, outlineOfFive), Arrays.asList(image.getOverlay().toArray()));
    }
}
