package org.phenosort.phenosort.imagej;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.PointRoi;
import ij.gui.Roi;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.ShortProcessor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Test;

/** ROIs <-> class annotations of label-image objects, with the rules of phenosort.annotations. */
public class RoiAnnotationsTest {
    private static final List<String> AB = Arrays.asList("a", "b");

    /** 20x20 labels: object 1 fills x,y 2..4, object 2 fills x,y 10..12. */
    @BeforeClass
    public static void groupColours() {
        Glasbey.provideToRoiGroups();  // else Roi.setGroup looks for luts/Glasbey.lut and logs its absence
    }

    static ImageProcessor twoObjects(ImageProcessor ip) {
        fill(ip, 2, 2, 3, 1);
        fill(ip, 10, 10, 3, 2);
        return ip;
    }

    static void fill(ImageProcessor ip, int x0, int y0, int size, double value) {
        for (int y = y0; y < y0 + size; y++) for (int x = x0; x < x0 + size; x++) ip.putPixelValue(x, y, value);
    }

    static ImagePlus labels2d() {
        return new ImagePlus("labels", twoObjects(new ShortProcessor(20, 20)));
    }

    static Map<Long, Integer> read(ImagePlus labels, List<String> skipped, Roi... rois) {
        RoiAnnotations.Result r = RoiAnnotations.read(rois, labels, null, 1, AB);
        if (skipped != null) skipped.addAll(r.skipped);
        return r.classes;
    }

    static Roi named(Roi roi, String name) {
        roi.setName(name);
        return roi;
    }

    @Test
    public void roisTaggedWithAnotherImageAreThatImagesAnnotations() {
        // the ROI Manager is one list for every image: an annotation names its image
        ImagePlus labels = labels2d(), a = new ImagePlus("a.tif", new ShortProcessor(20, 20)),
                b = new ImagePlus("b.tif", new ShortProcessor(20, 20));
        PointRoi ofA = new PointRoi(3, 3), ofB = new PointRoi(11, 11), untagged = new PointRoi(11, 11);
        ofA.setGroup(1);
        ofB.setGroup(2);
        untagged.setGroup(1);
        RoiAnnotations.tag(ofA, a, labels);
        RoiAnnotations.tag(ofB, b, labels);
        assertEquals("a.tif", RoiAnnotations.imageOf(ofA));
        assertEquals("labels", RoiAnnotations.labelImageOf(ofA));
        RoiAnnotations.Result r = RoiAnnotations.read(new Roi[] {ofA, ofB}, labels, a, 1, AB);
        assertEquals(Collections.singletonMap(1L, 1), r.classes);
        assertEquals(1, r.otherImages);
        assertTrue(r.skipped.toString(), r.skipped.isEmpty());
        // an untagged ROI (drawn by hand, an older zip) belongs to the image that reads it
        r = RoiAnnotations.read(new Roi[] {ofA, untagged}, labels, b, 1, AB);
        assertEquals(Collections.singletonMap(2L, 1), r.classes);
        assertEquals(1, RoiAnnotations.taggedFor(new Roi[] {ofA, ofB, untagged}, "b.tif").length);
        // the editor tags what it makes
        AnnotationEditor editor = new AnnotationEditor(a, labels, new RoiList.OnOverlay(a), new ArrayList<>(AB));
        Roi made = editor.annotate(2, 2, 11, 11, 0, 1);
        assertEquals("a.tif", RoiAnnotations.imageOf(made));
        assertEquals("labels", RoiAnnotations.labelImageOf(made));
    }

    @Test
    public void pointsOn2dMarkTheObjectUnderThem() {
        PointRoi p = new PointRoi(3, 3);
        p.setGroup(2);
        assertEquals(Collections.singletonMap(1L, 2), read(labels2d(), null, p));
    }

    @Test
    public void pointsOnAStackUseTheirPositionAndNeedOne() {
        ImageStack stack = new ImageStack(20, 20);
        for (int z = 0; z < 3; z++) stack.addSlice(new ShortProcessor(20, 20));
        fill(stack.getProcessor(2), 5, 5, 3, 5);  // object 5 on slice 2
        fill(stack.getProcessor(3), 5, 5, 3, 6);  // object 6 under it on slice 3
        ImagePlus labels = new ImagePlus("stack", stack);
        Roi onSlice2 = named(new PointRoi(6, 6), "a-1");
        onSlice2.setPosition(2);  // a stack position
        Roi onSlice3 = named(new PointRoi(6, 6), "b-1");
        onSlice3.setPosition(0, 3, 0);  // a hyperstack position
        PointRoi nowhere = new PointRoi(6, 6);
        nowhere.setName("a");
        List<String> skipped = new ArrayList<>();
        Map<Long, Integer> got = read(labels, skipped, onSlice2, onSlice3, nowhere);
        assertEquals(2, got.size());
        assertEquals(Integer.valueOf(1), got.get(5L));
        assertEquals(Integer.valueOf(2), got.get(6L));
        assertTrue(skipped.toString(), skipped.size() == 1 && skipped.get(0).contains("no slice position"));
    }

    @Test
    public void eachPointOfAMultiPointRoiCounts() {
        PointRoi p = new PointRoi(new float[] {3, 11}, new float[] {3, 11}, 2);
        p.setName("b");
        Map<Long, Integer> got = read(labels2d(), null, p);
        assertEquals(2, got.size());
        assertEquals(Integer.valueOf(2), got.get(1L));
        assertEquals(Integer.valueOf(2), got.get(2L));
    }

    @Test
    public void anAreaRoiMarksTheObjectCoveringMostOfIt() {
        Roi rect = named(new Roi(2, 2, 9, 10), "a-9");  // 9 px of object 1, 2 px of object 2
        assertEquals(Collections.singletonMap(1L, 1), read(labels2d(), null, rect));
        Roi mostly2 = named(new Roi(4, 4, 9, 9), "a-9");  // 1 px of object 1, 9 px of object 2
        assertEquals(Collections.singletonMap(2L, 1), read(labels2d(), null, mostly2));
    }

    @Test
    public void groupThenPropertyThenName() {
        ImagePlus labels = labels2d();
        Roi all = named(new PointRoi(3, 3), "a-1");
        all.setProperty("class", "a");
        all.setGroup(2);
        assertEquals(Integer.valueOf(2), read(labels, null, all).get(1L));  // group wins

        Roi prop = named(new PointRoi(3, 3), "a-1");
        prop.setProperty("class", "b");
        assertEquals(Integer.valueOf(2), read(labels, null, prop).get(1L));  // property over name
        Roi index = named(new PointRoi(3, 3), "b");
        index.setProperty("class", "1");
        assertEquals(Integer.valueOf(1), read(labels, null, index).get(1L));  // property as an index

        assertEquals(Integer.valueOf(2), read(labels, null, named(new PointRoi(3, 3), "b-0017")).get(1L));
        assertEquals(Integer.valueOf(2), read(labels, null, named(new PointRoi(3, 3), "b")).get(1L));
        RoiAnnotations.Result r = RoiAnnotations.read(new Roi[] {named(new PointRoi(3, 3), "c-3")}, labels, null,
                1, AB);
        assertEquals(Arrays.asList("a", "b", "c"), r.classNames);  // a new class name is appended
        assertEquals(Integer.valueOf(3), r.classes.get(1L));
    }

    @Test
    public void automaticNamesCarryNoClass() {
        List<String> skipped = new ArrayList<>();
        Map<Long, Integer> got = read(labels2d(), skipped, named(new PointRoi(3, 3), "0012-0345"),
                named(new PointRoi(11, 11), "123e4567-e89b-12d3-a456-426614174000"), new PointRoi(3, 3));
        assertTrue(got.isEmpty());
        assertEquals(3, skipped.size());
        for (String s : skipped) assertTrue(s, s.contains("no class"));
    }

    @Test
    public void aPointOnBackgroundIsReportedInSkipped() {
        List<String> skipped = new ArrayList<>();
        assertTrue(read(labels2d(), skipped, named(new PointRoi(0, 19), "a")).isEmpty());
        assertEquals(1, skipped.size());
        assertTrue(skipped.get(0), skipped.get(0).contains("no object at x=0, y=19"));
    }

    @Test
    public void floatLabelsAbove65535AreExact() {
        FloatProcessor fp = new FloatProcessor(20, 20);
        fill(fp, 2, 2, 3, 70001);
        fill(fp, 10, 10, 3, 16777215);  // 2^24 - 1, the largest exact float32 integer below 2^24
        ImagePlus labels = new ImagePlus("float", fp);
        Map<Long, Integer> got = read(labels, null, named(new PointRoi(3, 3), "a"), named(new PointRoi(11, 11), "b"));
        assertEquals(Integer.valueOf(1), got.get(70001L));
        assertEquals(Integer.valueOf(2), got.get(16777215L));
    }

    @Test
    public void conflictingAnnotationsLaterWinsAndIsReported() {
        List<String> skipped = new ArrayList<>();
        Map<Long, Integer> got = read(labels2d(), skipped, named(new PointRoi(3, 3), "a"),
                named(new PointRoi(4, 4), "b"));
        assertEquals(Collections.singletonMap(1L, 2), got);
        assertEquals(1, skipped.size());
        assertTrue(skipped.get(0), skipped.get(0).contains("was 'a', now 'b'"));
    }

    @Test
    public void annotationOnAStackSetsTheSlice() {
        ImageStack stack = new ImageStack(20, 20);
        for (int z = 0; z < 3; z++) stack.addSlice(twoObjects(new ShortProcessor(20, 20)));
        ImagePlus labels = new ImagePlus("stack", stack);
        PointRoi p = RoiAnnotations.annotation(3, 3, labels, 2, 1, 1, 1, "a");
        assertEquals(3, p.getPosition());
        assertEquals(Collections.singletonMap(1L, 1), read(labels, null, p));
    }

    @Test
    public void annotationRoundTrips() {
        ImagePlus labels = labels2d();
        PointRoi p = RoiAnnotations.annotation(11, 11, labels, 0, 1, 2, 2, "b");
        assertEquals("b-2", p.getName());
        assertEquals(2, p.getGroup());
        assertEquals("b", p.getProperty("class"));
        assertEquals(2, RoiAnnotations.labelOf(p));
        assertEquals(Glasbey.color(2), p.getStrokeColor());
        assertEquals(Collections.singletonMap(2L, 2), read(labels, null, p));
    }

    // ------------------------------------------------------------------ editing (headless: the Overlay)

    @Test
    public void editorKeepsOneAnnotationPerObjectAndUndoes() {
        ImagePlus labels = labels2d();
        ImagePlus image = new ImagePlus("image", new ShortProcessor(20, 20));
        AnnotationEditor ed = new AnnotationEditor(image, labels, new RoiList.OnOverlay(image),
                new ArrayList<>(AB));
        ed.annotate(1, 1, 3, 3, 0, 1);
        ed.annotate(2, 2, 11, 11, 0, 1);
        ed.annotate(1, 2, 4, 4, 0, 1);  // re-annotation replaces object 1's ROI
        assertEquals(2, image.getOverlay().size());
        assertEquals(Integer.valueOf(2), ed.read(1).classes.get(1L));
        assertEquals(1L, ed.undo());  // object 1 back to a
        assertEquals(2, image.getOverlay().size());
        assertEquals("a-1", image.getOverlay().get(0).getName());
        assertEquals(2L, ed.undo());  // object 2's annotation removed
        assertEquals(Collections.singletonMap(1L, 1), ed.read(1).classes);
        ed.annotate(2, 5, 11, 11, 0, 1);  // a digit past the names invents "class k"
        assertEquals(Arrays.asList("a", "b", "class 3", "class 4", "class 5"), ed.classNames());
    }

    @Test
    public void headlessApiPutsThePointOnTheObject() {
        ImagePlus labels = labels2d();
        ImagePlus image = new ImagePlus("image", new ShortProcessor(20, 20));
        AnnotationClasses.define(image, labels, Arrays.asList("mitotic", "interphase"));
        Roi roi = AnnotationSession.annotate(image, labels, 2, 1, "mitotic");
        assertEquals("mitotic-2", roi.getName());
        assertNotNull(image.getOverlay());
        assertEquals(1, image.getOverlay().size());
        Roi again = AnnotationSession.annotate(image, labels, 2, 2, "interphase");
        assertEquals(1, image.getOverlay().size());
        assertEquals(again, image.getOverlay().get(0));
        assertEquals(11, (int) again.getXBase());
        assertEquals(11, (int) again.getYBase());
    }

    @Test
    public void newClassesAreExplicit() {
        ImagePlus labels = labels2d();
        ImagePlus image = new ImagePlus("image", new ShortProcessor(20, 20));
        AnnotationClasses.define(image, labels, Arrays.asList("a", "b"));
        assertEquals(Arrays.asList("a", "b"), AnnotationClasses.known(image, labels));
        AnnotationSession.annotate(image, labels, 1, 2, null);
        try {  // a class index past the known classes makes no class
            AnnotationSession.annotate(image, labels, 2, 3, null);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("class 3 is not one of the known classes a (1), b (2)"));
        }
        try {  // the image's annotation of class b (group 2) would be renamed
            AnnotationClasses.define(image, labels, Arrays.asList("b", "a"));
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("give 'b' as class 2"));
        }
        assertEquals(Arrays.asList("a", "b", "c"), AnnotationClasses.define(image, labels,
                Arrays.asList("a", "b", "c")));
        assertEquals("c-2", AnnotationSession.annotate(image, labels, 2, 3, "c").getName());
    }

    @Test
    public void outlineCoversTheObject() {
        ImagePlus labels = labels2d();
        ObjectGeometry g = ObjectGeometry.measure(labels, 1).get(2L);
        List<Roi> out = ObjectOutlines.outline(labels, labels, g, 1);
        assertEquals(1, out.size());
        assertEquals(new java.awt.Rectangle(10, 10, 3, 3), out.get(0).getBounds());
    }
}
