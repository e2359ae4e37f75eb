package org.phenosort.phenosort.client;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import ij.ImagePlus;
import ij.ImageStack;
import ij.process.ByteProcessor;
import ij.process.ColorProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.ShortProcessor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.Test;
import org.phenosort.phenosort.proto.v1.Tensor;

public class TensorCodecTest {
    private static final Random RNG = new Random(42);

    private static ImageProcessor randomPlane(int type, int w, int h) {
        switch (type) {
            case ImagePlus.GRAY8: {
                byte[] p = new byte[w * h];
                RNG.nextBytes(p);
                return new ByteProcessor(w, h, p);
            }
            case ImagePlus.GRAY16: {
                short[] p = new short[w * h];
                for (int i = 0; i < p.length; i++) p[i] = (short) RNG.nextInt(65536);
                return new ShortProcessor(w, h, p, null);
            }
            case ImagePlus.GRAY32: {
                float[] p = new float[w * h];
                for (int i = 0; i < p.length; i++) p[i] = (float) RNG.nextGaussian() * 1000;
                return new FloatProcessor(w, h, p);
            }
            default: {
                int[] p = new int[w * h];
                for (int i = 0; i < p.length; i++) p[i] = RNG.nextInt() | 0xff000000;
                return new ColorProcessor(w, h, p);
            }
        }
    }

    private static void assertSamePixels(ImagePlus a, ImagePlus b) {
        assertEquals(a.getWidth(), b.getWidth());
        assertEquals(a.getHeight(), b.getHeight());
        assertEquals(a.getNChannels(), b.getNChannels());
        assertEquals(a.getNSlices(), b.getNSlices());
        assertEquals(a.getBitDepth(), b.getBitDepth());
        for (int c = 1; c <= a.getNChannels(); c++) {
            for (int z = 1; z <= a.getNSlices(); z++) {
                Object pa = a.getStack().getPixels(a.getStackIndex(c, z, 1));
                Object pb = b.getStack().getPixels(b.getStackIndex(c, z, 1));
                if (pa instanceof byte[]) assertArrayEquals((byte[]) pa, (byte[]) pb);
                else if (pa instanceof short[]) assertArrayEquals((short[]) pa, (short[]) pb);
                else if (pa instanceof float[]) assertArrayEquals((float[]) pa, (float[]) pb, 0f);
                else assertArrayEquals((int[]) pa, (int[]) pb);
            }
        }
    }

    private static ImagePlus roundTrip(ImagePlus imp) {
        Tensor t = TensorCodec.toTensor(imp);
        return TensorCodec.toImagePlus(t, "back");
    }

    @Test
    public void eightBit() {
        ImagePlus imp = new ImagePlus("a", randomPlane(ImagePlus.GRAY8, 7, 5));
        Tensor t = TensorCodec.toTensor(imp);
        assertEquals("uint8", t.getDtype());
        assertEquals("YX", t.getAxes());
        assertEquals(java.util.Arrays.asList(5L, 7L), t.getShapeList());
        assertEquals(35, t.getData().size());
        // C order: row y=1, x=0 is byte 7
        assertEquals((byte) imp.getProcessor().get(0, 1), t.getData().byteAt(7));
        assertSamePixels(imp, roundTrip(imp));
    }

    @Test
    public void sixteenBitIsLittleEndian() {
        ShortProcessor ip = new ShortProcessor(3, 2);
        ip.set(1, 0, 0x1234);
        ImagePlus imp = new ImagePlus("a", ip);
        Tensor t = TensorCodec.toTensor(imp);
        assertEquals("uint16", t.getDtype());
        assertEquals(0x34, t.getData().byteAt(2) & 0xff);
        assertEquals(0x12, t.getData().byteAt(3) & 0xff);
        ImagePlus rnd = new ImagePlus("b", randomPlane(ImagePlus.GRAY16, 9, 4));
        assertSamePixels(rnd, roundTrip(rnd));
    }

    @Test
    public void float32() {
        ImagePlus imp = new ImagePlus("a", randomPlane(ImagePlus.GRAY32, 6, 6));
        Tensor t = TensorCodec.toTensor(imp);
        assertEquals("float32", t.getDtype());
        float first = ByteBuffer.wrap(t.getData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
        assertEquals(imp.getProcessor().getf(0, 0), first, 0f);
        assertSamePixels(imp, roundTrip(imp));
    }

    @Test
    public void rgbIsYXC() {
        ColorProcessor ip = new ColorProcessor(4, 3);
        ip.set(0, 0, 0x112233);
        ImagePlus imp = new ImagePlus("rgb", ip);
        Tensor t = TensorCodec.toTensor(imp);
        assertEquals("uint8", t.getDtype());
        assertEquals("YXC", t.getAxes());
        assertEquals(java.util.Arrays.asList(3L, 4L, 3L), t.getShapeList());
        assertEquals(0x11, t.getData().byteAt(0));
        assertEquals(0x22, t.getData().byteAt(1));
        assertEquals(0x33, t.getData().byteAt(2));
        ImagePlus rnd = new ImagePlus("b", randomPlane(ImagePlus.COLOR_RGB, 5, 4));
        assertSamePixels(rnd, roundTrip(rnd));
    }

    @Test
    public void stackIsZYX() {
        ImageStack stack = new ImageStack(8, 6);
        for (int z = 0; z < 4; z++) stack.addSlice(randomPlane(ImagePlus.GRAY16, 8, 6));
        ImagePlus imp = new ImagePlus("s", stack);
        Tensor t = TensorCodec.toTensor(imp);
        assertEquals("ZYX", t.getAxes());
        assertEquals(java.util.Arrays.asList(4L, 6L, 8L), t.getShapeList());
        assertSamePixels(imp, roundTrip(imp));
    }

    @Test
    public void hyperstackIsZCYX() {
        int nc = 2, nz = 3;
        ImageStack stack = new ImageStack(5, 4);
        for (int i = 0; i < nc * nz; i++) {
            FloatProcessor ip = new FloatProcessor(5, 4);
            ip.set(i); // ImageJ order: c fastest, then z
            stack.addSlice(ip);
        }
        ImagePlus imp = new ImagePlus("h", stack);
        imp.setDimensions(nc, nz, 1);
        Tensor t = TensorCodec.toTensor(imp);
        assertEquals("ZCYX", t.getAxes());
        assertEquals(java.util.Arrays.asList(3L, 2L, 4L, 5L), t.getShapeList());
        ByteBuffer b = ByteBuffer.wrap(t.getData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        // z=1, c=0 -> ImageJ plane index 2
        assertEquals(2f, b.getFloat(4 * (1 * 2 * 20 + 0 * 20)), 0f);
        // z=2, c=1 -> ImageJ plane index 5
        assertEquals(5f, b.getFloat(4 * (2 * 2 * 20 + 1 * 20)), 0f);
        ImagePlus back = roundTrip(imp);
        assertEquals(2, back.getNChannels());
        assertEquals(3, back.getNSlices());
        assertSamePixels(imp, back);

        ImageStack two = new ImageStack(5, 4);
        two.addSlice(randomPlane(ImagePlus.GRAY8, 5, 4));
        two.addSlice(randomPlane(ImagePlus.GRAY8, 5, 4));
        ImagePlus cyx = new ImagePlus("c", two);
        cyx.setDimensions(2, 1, 1);
        assertEquals("CYX", TensorCodec.toTensor(cyx).getAxes());
        assertSamePixels(cyx, roundTrip(cyx));
    }

    @Test
    public void timeSeriesAreRefused() {
        ImageStack stack = new ImageStack(3, 3);
        stack.addSlice(new ByteProcessor(3, 3));
        stack.addSlice(new ByteProcessor(3, 3));
        ImagePlus imp = new ImagePlus("t", stack);
        imp.setDimensions(1, 1, 2);
        try {
            TensorCodec.toTensor(imp);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("time points"));
        }
    }

    @Test
    public void calibrationGivesVoxelSize() {
        ImageStack stack = new ImageStack(4, 4);
        stack.addSlice(new ByteProcessor(4, 4));
        stack.addSlice(new ByteProcessor(4, 4));
        ImagePlus imp = new ImagePlus("s", stack);
        assertNull(TensorCodec.voxelSize(imp));
        imp.getCalibration().pixelWidth = 0.2;
        imp.getCalibration().pixelHeight = 0.25;
        imp.getCalibration().pixelDepth = 1.5;
        imp.getCalibration().setUnit("um");
        assertArrayEquals(new double[] {1.5, 0.25, 0.2}, TensorCodec.voxelSize(imp), 0);
        ImagePlus flat = new ImagePlus("f", new ByteProcessor(4, 4));
        flat.getCalibration().pixelWidth = 0.5;
        flat.getCalibration().pixelHeight = 0.5;
        flat.getCalibration().setUnit("um");
        assertArrayEquals(new double[] {0.5, 0.5}, TensorCodec.voxelSize(flat), 0);
        ImagePlus back = new ImagePlus("b", new ByteProcessor(4, 4));
        TensorCodec.setVoxelSize(back, new double[] {1.5, 0.25, 0.2}, "um");
        assertEquals(0.2, back.getCalibration().pixelWidth, 0);
        assertEquals(1.5, back.getCalibration().pixelDepth, 0);
    }

    @Test
    public void sixteenBitLabels() {
        ShortProcessor ip = new ShortProcessor(4, 4);
        ip.set(2, 2, 65535);
        Tensor t = TensorCodec.labelsToTensor(new ImagePlus("l", ip));
        assertEquals("uint16", t.getDtype());
        assertEquals("YX", t.getAxes());
    }

    @Test
    public void floatLabelsAreExactUpTo2pow24() {
        FloatProcessor ip = new FloatProcessor(4, 2);
        ip.setf(0, 0, 70000);
        ip.setf(1, 0, 16777215);
        ip.setf(2, 0, 16777216);
        ip.setf(3, 1, 1);
        Tensor t = TensorCodec.labelsToTensor(new ImagePlus("l", ip));
        assertEquals("uint32", t.getDtype());
        ByteBuffer b = ByteBuffer.wrap(t.getData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(70000, b.getInt(0));
        assertEquals(16777215, b.getInt(4));
        assertEquals(16777216, b.getInt(8));
        assertEquals(0, b.getInt(12));
        assertEquals(1, b.getInt(28));
        ImagePlus back = TensorCodec.toImagePlus(t, "back");
        assertEquals(32, back.getBitDepth());
        assertEquals(16777216f, back.getProcessor().getf(2, 0), 0f);
        assertEquals(16777215f, back.getProcessor().getf(1, 0), 0f);
    }

    @Test
    public void floatLabelsAbove2pow24AreRefused() {
        FloatProcessor ip = new FloatProcessor(2, 2);
        ip.setf(1, 1, 16777218f);
        try {
            TensorCodec.labelsToTensor(new ImagePlus("l", ip));
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("2^24"));
        }
    }

    @Test
    public void nonIntegralOrNegativeLabelsAreRefused() {
        for (float bad : new float[] {2.5f, -1f, Float.NaN}) {
            FloatProcessor ip = new FloatProcessor(2, 2);
            ip.setf(0, 1, bad);
            try {
                TensorCodec.labelsToTensor(new ImagePlus("l", ip));
                fail("accepted " + bad);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("non-negative integers"));
            }
        }
    }

    @Test
    public void classMapsBackToImages() {
        // uint8 ZYX class map
        byte[] data = new byte[2 * 3 * 4];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i % 3);
        Tensor t = TensorCodec.tensor(com.google.protobuf.ByteString.copyFrom(data), "uint8", new long[] {2, 3, 4}, "ZYX");
        ImagePlus imp = TensorCodec.toImagePlus(t, "classes");
        assertEquals(8, imp.getBitDepth());
        assertEquals(2, imp.getNSlices());
        assertEquals(4, imp.getWidth());
        assertEquals(data[12 + 4 + 3], (byte) imp.getStack().getProcessor(2).get(3, 1));
    }

    @Test
    public void contentIdMatchesThePythonFormula() {
        // python: content_id(TensorHeader(dtype="uint8", shape=[2, 2], axes="YX"), sha256(b"\x00\x01\x02\x03"))
        Tensor t = TensorCodec.tensor(com.google.protobuf.ByteString.copyFrom(new byte[] {0, 1, 2, 3}), "uint8",
                new long[] {2, 2}, "YX");
        String id = TensorUploadClient.contentId(t);
        assertEquals("sha256:765c1b3a140bf0e19c23c3f1dd62dc298fef7925be85a0121c43294cddd58bdc", id);
    }
}
