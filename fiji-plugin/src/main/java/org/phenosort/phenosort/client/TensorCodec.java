package org.phenosort.phenosort.client;

import com.google.protobuf.ByteString;
import ij.ImagePlus;
import ij.ImageStack;
import ij.measure.Calibration;
import ij.process.ByteProcessor;
import ij.process.ColorProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.ShortProcessor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.phenosort.phenosort.proto.v1.Tensor;

/**
 * ImageJ images to and from phenosort wire tensors: raw bytes in C order, little-endian.
 *
 * <ul>
 * <li>8-bit: uint8, 16-bit: uint16, 32-bit: float32, RGB: uint8 with a trailing C axis of 3.</li>
 * <li>Axes: "YX", stacks "ZYX", channels "CYX" / "ZCYX", RGB "YXC" / "ZYXC". Time points are not
 * supported (one time point per request).</li>
 * <li>Label images ({@link #labelsToTensor}): 8-bit: uint8, 16-bit: uint16, 32-bit float (how ImageJ
 * holds more than 65535 objects): uint32, exact up to 2^24.</li>
 * </ul>
 */
public final class TensorCodec {
    /** Largest integer a 32-bit float holds exactly together with all smaller ones. */
    public static final long MAX_FLOAT_LABEL = 1L << 24;

    private TensorCodec() {}

    // ------------------------------------------------------------------ images -> tensors

    /** The pixel data of {@code imp} (one time point). */
    public static Tensor toTensor(ImagePlus imp) {
        int w = imp.getWidth(), h = imp.getHeight();
        int nc = imp.getNChannels(), nz = imp.getNSlices(), nt = imp.getNFrames();
        if (nt > 1) {
            throw new IllegalArgumentException("image '" + imp.getTitle() + "' has " + nt
                    + " time points; classify one time point at a time (Image>Duplicate...)");
        }
        int type = imp.getType();
        boolean rgb = type == ImagePlus.COLOR_RGB;
        if (rgb && nc > 1) {
            throw new IllegalArgumentException("RGB images with several channels are not supported");
        }
        if (type == ImagePlus.COLOR_256) {
            throw new IllegalArgumentException("8-bit color images are not supported; convert to RGB");
        }
        String dtype = dtypeOf(imp);
        int bpp = bytesPerSample(dtype);
        String axes;
        long[] shape;
        if (rgb) {
            axes = nz > 1 ? "ZYXC" : "YXC";
            shape = nz > 1 ? new long[] {nz, h, w, 3} : new long[] {h, w, 3};
        } else if (nc > 1) {
            axes = nz > 1 ? "ZCYX" : "CYX";
            shape = nz > 1 ? new long[] {nz, nc, h, w} : new long[] {nc, h, w};
        } else {
            axes = nz > 1 ? "ZYX" : "YX";
            shape = nz > 1 ? new long[] {nz, h, w} : new long[] {h, w};
        }
        long total = (long) w * h * nc * nz * (rgb ? 3 : 1) * bpp;
        if (total > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("image is too large to send in one piece (" + total + " bytes)");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        ImageStack stack = imp.getStack();
        for (int z = 1; z <= nz; z++) {
            for (int c = 1; c <= nc; c++) {
                int index = imp.getStackIndex(c, z, 1);
                putPlane(buf, stack.getProcessor(index), dtype, rgb);
            }
        }
        buf.flip();
        return tensor(ByteString.copyFrom(buf), dtype, shape, axes);
    }

    /**
     * An instance label image: 0 is background, every other value one object. 32-bit float
     * labels become uint32 and must be non-negative integers up to 2^24.
     */
    public static Tensor labelsToTensor(ImagePlus labels) {
        if (labels.getNChannels() > 1 || labels.getNFrames() > 1) {
            throw new IllegalArgumentException("a label image must have one channel and one time point");
        }
        int type = labels.getType();
        if (type == ImagePlus.COLOR_RGB || type == ImagePlus.COLOR_256) {
            throw new IllegalArgumentException("a label image must be 8-bit, 16-bit or 32-bit (not color)");
        }
        if (type != ImagePlus.GRAY32) return toTensor(labels);
        int w = labels.getWidth(), h = labels.getHeight(), nz = labels.getNSlices();
        ByteBuffer buf = ByteBuffer.allocate(w * h * nz * 4).order(ByteOrder.LITTLE_ENDIAN);
        ImageStack stack = labels.getStack();
        for (int z = 1; z <= nz; z++) {
            float[] px = (float[]) stack.getProcessor(labels.getStackIndex(1, z, 1)).getPixels();
            for (int i = 0; i < px.length; i++) {
                float v = px[i];
                if (!(v >= 0) || v != Math.rint(v)) {
                    throw new IllegalArgumentException("label image '" + labels.getTitle() + "' has the value " + v
                            + " at x=" + (i % w) + ", y=" + (i / w) + (nz > 1 ? ", z=" + (z - 1) : "")
                            + ": labels must be non-negative integers");
                }
                if (v > MAX_FLOAT_LABEL) {
                    throw new IllegalArgumentException("label image '" + labels.getTitle() + "' has the label "
                            + (long) v + ": a 32-bit float image holds labels exactly only up to 2^24 = "
                            + MAX_FLOAT_LABEL + "; relabel the objects with fewer IDs");
                }
                buf.putInt((int) v);
            }
        }
        buf.flip();
        long[] shape = nz > 1 ? new long[] {nz, h, w} : new long[] {h, w};
        return tensor(ByteString.copyFrom(buf), "uint32", shape, nz > 1 ? "ZYX" : "YX");
    }

    /** Voxel size from the calibration: (z, y, x) for stacks, (y, x) for 2D; null when uncalibrated. */
    public static double[] voxelSize(ImagePlus imp) {
        Calibration cal = imp.getCalibration();
        if (cal == null || !cal.scaled()) return null;
        if (imp.getNSlices() > 1) return new double[] {cal.pixelDepth, cal.pixelHeight, cal.pixelWidth};
        return new double[] {cal.pixelHeight, cal.pixelWidth};
    }

    // ------------------------------------------------------------------ tensors -> images

    /**
     * An image from a tensor of uint8, uint16, float32 (and uint32 / int32 as 32-bit float, exact up
     * to 2^24). Axes as written by {@link #toTensor}; empty axes: "YX" or "ZYX" by rank.
     */
    public static ImagePlus toImagePlus(Tensor t, String title) {
        return toImagePlus(t.getData(), t.getDtype(), longs(t.getShapeList()), t.getAxes(), title);
    }

    public static ImagePlus toImagePlus(ByteString data, String dtype, long[] shape, String axes, String title) {
        if (axes == null || axes.isEmpty()) {
            if (shape.length == 2) axes = "YX";
            else if (shape.length == 3) axes = "ZYX";
            else throw new IllegalArgumentException("tensor of rank " + shape.length + " needs axes");
        }
        if (axes.length() != shape.length) {
            throw new IllegalArgumentException("axes " + axes + " do not match shape " + Arrays.toString(shape));
        }
        int bpp = bytesPerSample(dtype);
        long n = 1;
        for (long s : shape) n *= s;
        if (data.size() != n * bpp) {
            throw new IllegalArgumentException("tensor has " + data.size() + " bytes; shape "
                    + Arrays.toString(shape) + " " + dtype + " needs " + n * bpp);
        }
        int w = dim(axes, shape, 'X'), h = dim(axes, shape, 'Y');
        int nz = dim(axes, shape, 'Z'), nc = dim(axes, shape, 'C');
        for (char a : axes.toCharArray()) {
            if ("XYZC".indexOf(a) < 0) throw new IllegalArgumentException("unsupported axis " + a + " in " + axes);
        }
        boolean rgb = axes.endsWith("C") && "uint8".equals(dtype) && nc == 3;
        if (axes.endsWith("C") && !rgb) {
            throw new IllegalArgumentException("a trailing C axis is only supported for uint8 RGB (C=3)");
        }
        // strides in samples
        long[] stride = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i];
        }
        long sx = stride[axes.indexOf('X')], sy = stride[axes.indexOf('Y')];
        long sz = axes.indexOf('Z') >= 0 ? stride[axes.indexOf('Z')] : 0;
        long sc = axes.indexOf('C') >= 0 ? stride[axes.indexOf('C')] : 0;
        ByteBuffer buf = data.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        ImageStack stack = new ImageStack(w, h);
        int planes = rgb ? nz : nz * nc;
        for (int p = 0; p < planes; p++) {
            int z = rgb ? p : p / nc, c = rgb ? 0 : p % nc;
            long base = z * sz + c * sc;
            ImageProcessor ip;
            if (rgb) {
                int[] px = new int[w * h];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        long o = base + y * sy + x * sx;
                        int r = buf.get((int) o) & 0xff, g = buf.get((int) (o + sc)) & 0xff, b = buf.get((int) (o + 2 * sc)) & 0xff;
                        px[y * w + x] = 0xff000000 | (r << 16) | (g << 8) | b;
                    }
                }
                ip = new ColorProcessor(w, h, px);
            } else {
                ip = plane(buf, dtype, w, h, base, sy, sx);
            }
            stack.addSlice(ip);
        }
        ImagePlus imp = new ImagePlus(title, stack);
        if (!rgb && (nc > 1 || nz > 1)) imp.setDimensions(nc, nz, 1);
        if (nc > 1 && !rgb) imp.setOpenAsHyperStack(true);
        return imp;
    }

    /** Sets the calibration of {@code imp} from a voxel size ((z,) y, x); null or empty: nothing. */
    public static void setVoxelSize(ImagePlus imp, double[] voxelSize, String unit) {
        if (voxelSize == null || voxelSize.length == 0) return;
        Calibration cal = imp.getCalibration();
        int n = voxelSize.length;
        cal.pixelWidth = voxelSize[n - 1];
        cal.pixelHeight = voxelSize[n - 2];
        if (n > 2) cal.pixelDepth = voxelSize[n - 3];
        if (unit != null) cal.setUnit(unit);
    }

    // ------------------------------------------------------------------ helpers

    public static String dtypeOf(ImagePlus imp) {
        switch (imp.getType()) {
            case ImagePlus.GRAY8:
            case ImagePlus.COLOR_RGB:
                return "uint8";
            case ImagePlus.GRAY16:
                return "uint16";
            case ImagePlus.GRAY32:
                return "float32";
            default:
                throw new IllegalArgumentException("unsupported image type " + imp.getType());
        }
    }

    public static int bytesPerSample(String dtype) {
        switch (dtype) {
            case "bool":
            case "uint8":
            case "int8":
                return 1;
            case "uint16":
            case "int16":
                return 2;
            case "uint32":
            case "int32":
            case "float32":
                return 4;
            case "uint64":
            case "int64":
            case "float64":
                return 8;
            default:
                throw new IllegalArgumentException("unknown dtype " + dtype);
        }
    }

    static Tensor tensor(ByteString data, String dtype, long[] shape, String axes) {
        Tensor.Builder b = Tensor.newBuilder().setData(data).setDtype(dtype).setAxes(axes);
        for (long s : shape) b.addShape(s);
        return b.build();
    }

    static long[] longs(java.util.List<Long> list) {
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) out[i] = list.get(i);
        return out;
    }

    private static int dim(String axes, long[] shape, char axis) {
        int i = axes.indexOf(axis);
        if (i < 0) return 1;
        if (shape[i] > Integer.MAX_VALUE) throw new IllegalArgumentException("axis " + axis + " is too long");
        return (int) shape[i];
    }

    private static void putPlane(ByteBuffer buf, ImageProcessor ip, String dtype, boolean rgb) {
        Object pixels = ip.getPixels();
        if (rgb) {
            for (int v : (int[]) pixels) {
                buf.put((byte) (v >> 16)).put((byte) (v >> 8)).put((byte) v);
            }
        } else if (pixels instanceof byte[]) {
            buf.put((byte[]) pixels);
        } else if (pixels instanceof short[]) {
            buf.asShortBuffer().put((short[]) pixels);
            buf.position(buf.position() + 2 * ((short[]) pixels).length);
        } else if (pixels instanceof float[]) {
            buf.asFloatBuffer().put((float[]) pixels);
            buf.position(buf.position() + 4 * ((float[]) pixels).length);
        } else {
            throw new IllegalArgumentException("unsupported pixel array for " + dtype);
        }
    }

    private static ImageProcessor plane(ByteBuffer buf, String dtype, int w, int h, long base, long sy, long sx) {
        int n = w * h;
        switch (dtype) {
            case "uint8":
            case "bool": {
                byte[] px = new byte[n];
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) px[y * w + x] = buf.get((int) (base + y * sy + x * sx));
                return new ByteProcessor(w, h, px);
            }
            case "uint16": {
                short[] px = new short[n];
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) px[y * w + x] = buf.getShort((int) (2 * (base + y * sy + x * sx)));
                return new ShortProcessor(w, h, px, null);
            }
            case "float32": {
                float[] px = new float[n];
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) px[y * w + x] = buf.getFloat((int) (4 * (base + y * sy + x * sx)));
                return new FloatProcessor(w, h, px);
            }
            case "uint32":
            case "int32": {
                float[] px = new float[n];
                boolean unsigned = "uint32".equals(dtype);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        int v = buf.getInt((int) (4 * (base + y * sy + x * sx)));
                        px[y * w + x] = unsigned ? (float) (v & 0xffffffffL) : (float) v;
                    }
                return new FloatProcessor(w, h, px);
            }
            default:
                throw new IllegalArgumentException("cannot make an ImageJ image from dtype " + dtype
                        + "; supported: uint8, uint16, float32, uint32, int32");
        }
    }
}
