package org.phenosort.phenosort.workflow;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import ij.ImagePlus;
import ij.gui.Overlay;
import ij.gui.PointRoi;
import ij.gui.Roi;
import ij.process.ImageProcessor;
import ij.process.ShortProcessor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Test;
import org.phenosort.phenosort.imagej.Glasbey;
import org.phenosort.phenosort.imagej.RoiAnnotations;

/**
 * "Use the labels of all annotated images": the annotations of several images read from one
 * ROI list (the ROI Manager) and from their overlays, each image with its own label image.
 */
public class AnnotatedImagesTest {
    @BeforeClass
    public static void groupColours() {
        Glasbey.provideToRoiGroups();
    }

    /** 20x20 labels: object 1 at x,y 2..4, object 2 at x,y 10..12. */
    private static ImagePlus labels(String title) {
        ImageProcessor ip = new ShortProcessor(20, 20);
        for (int y = 2; y < 5; y++) for (int x = 2; x < 5; x++) ip.set(x, y, 1);
        for (int y = 10; y < 13; y++) for (int x = 10; x < 13; x++) ip.set(x, y, 2);
        return new ImagePlus(title, ip);
    }

    private static ImagePlus image(String title) {
        return new ImagePlus(title, new ShortProcessor(20, 20));
    }

    private static Roi point(int xy, String className, ImagePlus image, ImagePlus labels) {
        PointRoi p = new PointRoi(xy, xy);
        p.setProperty("class", className);
        if (image != null) RoiAnnotations.tag(p, image, labels);
        return p;
    }

    @Test
    public void everyAnnotatedImageWithItsLabelImage() {
        ImagePlus a = image("a.tif"), aLabels = labels("a-labels.tif");
        ImagePlus b = image("b.tif"), bLabels = labels("b-labels.tif");
        ImagePlus c = image("c.tif"), cLabels = labels("c-labels.tif");
        ImagePlus lonely = image("lonely.tif");  // annotated, but its label image is closed
        // the ROI Manager: a's (one untagged, as from an older zip), b's; c's are on its overlay
        Roi[] manager = {point(3, "x", a, aLabels), point(11, "y", null, null), point(3, "y", b, bLabels),
                point(11, "y", b, bLabels), point(3, "x", lonely, labels("gone.tif"))};
        c.setOverlay(new Overlay(point(11, "x", c, cLabels)));
        List<ImagePlus> open = Arrays.asList(a, aLabels, b, bLabels, c, cLabels, lonely);
        AnnotatedImage.Collected one = AnnotatedImage.collect(a, aLabels, manager, new ArrayList<>());
        assertEquals(2, one.count());  // a's tagged ROI and the untagged one
        assertEquals(3, one.otherImages);

        AnnotatedImage.Collected all =
                AnnotatedImage.collectAll(a, aLabels, manager, manager, open, new ArrayList<>());
        assertEquals(Arrays.asList("x", "y"), all.classNames);
        assertEquals(3, all.images.size());
        assertEquals(5, all.count());
        assertEquals(0, all.otherImages);
        Map<Long, String> ofB = all.images.get(1).classes;
        assertEquals("b.tif", all.images.get(1).name());
        assertTrue(all.images.get(1).labels == bLabels);
        assertEquals("y", ofB.get(1L));
        assertEquals("y", ofB.get(2L));
        assertEquals("c.tif", all.images.get(2).name());
        assertEquals("x", all.images.get(2).classes.get(2L));
        assertTrue(all.skipped.toString(), all.skipped.size() == 1 && all.skipped.get(0).contains("lonely.tif")
                && all.skipped.get(0).contains("'gone.tif') is not open"));
        assertEquals("5 annotated objects of 3 images (a.tif 2, b.tif 2, c.tif 1)", all.describe());
    }
}
