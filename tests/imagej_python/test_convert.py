"""ImagePlus <-> numpy in a real ImageJ 1: layout checked against ImageJ's own pixel access,
calibration, dtype rules, label images above 65535 as 32-bit float."""

from __future__ import annotations

import numpy as np
import pytest

from phenosort.errors import InvalidInputError
from phenosort.imagej import (
    calibration_of,
    from_imageplus,
    labels_from_imageplus,
    labels_to_imageplus,
    to_imageplus,
)

RNG = np.random.default_rng(0)


def _pixel(imp, c: int, z: int, t: int, x: int, y: int) -> float:
    """ImageJ's own value of one pixel (1-based c, z, t), independent of our conversion."""
    ip = imp.getStack().getProcessor(imp.getStackIndex(c, z, t))
    return float(ip.getPixelValue(x, y))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_2d_round_trip_with_calibration(jvm, dtype):
    a = (RNG.random((5, 7)) * 200).astype(dtype)
    imp = to_imageplus(a, "YX", title="a.tif", voxel_size=(0.5, 0.25), unit="µm")
    assert (imp.getWidth(), imp.getHeight(), imp.getBitDepth()) == (7, 5, a.itemsize * 8)
    assert _pixel(imp, 1, 1, 1, 6, 4) == pytest.approx(float(a[4, 6]))
    back = from_imageplus(imp)
    assert back.axes == "YX" and back.array.dtype == dtype and back.title == "a.tif"
    np.testing.assert_array_equal(back.array, a)
    assert back.voxel_size == (0.5, 0.25) and back.unit == "µm"


def test_3d_anisotropic_stack(jvm):
    a = RNG.integers(0, 4000, (4, 6, 9), dtype=np.uint16)
    imp = to_imageplus(a, "ZYX", voxel_size=(2.0, 0.3, 0.3), unit="micron")
    assert (imp.getNSlices(), imp.getNChannels(), imp.getNFrames()) == (4, 1, 1)
    assert _pixel(imp, 1, 3, 1, 8, 5) == a[2, 5, 8]
    assert calibration_of(imp) == ((2.0, 0.3, 0.3), "micron")
    back = from_imageplus(imp)
    assert back.axes == "ZYX" and back.voxel_size == (2.0, 0.3, 0.3)
    np.testing.assert_array_equal(back.array, a)


def test_multichannel_3d_in_any_axis_order(jvm):
    a = RNG.random((3, 2, 5, 4)).astype(np.float32)  # Z, C, Y, X
    imp = to_imageplus(np.transpose(a, (3, 1, 0, 2)), "XCZY")  # accepted in any order
    assert (imp.getNChannels(), imp.getNSlices(), imp.isHyperStack()) == (2, 3, True)
    assert _pixel(imp, 2, 3, 1, 3, 4) == pytest.approx(a[2, 1, 4, 3])
    back = from_imageplus(imp)
    assert back.axes == "ZCYX" and back.voxel_size is None
    np.testing.assert_array_equal(back.array, a)


def test_rgb_is_yxc_uint8(jvm):
    a = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    imp = to_imageplus(a, "YXC", voxel_size=(1.5, 1.5), unit="nm")
    assert imp.getBitDepth() == 24
    assert int(imp.getProcessor().getPixel(4, 2)) & 0xFFFFFF == (
        int(a[2, 4, 0]) << 16 | int(a[2, 4, 1]) << 8 | int(a[2, 4, 2])
    )
    back = from_imageplus(imp)
    assert back.axes == "YXC" and back.voxel_size == (1.5, 1.5)
    np.testing.assert_array_equal(back.array, a)
    # a 3-channel uint8 image with C first stays a composite, not RGB
    assert to_imageplus(np.moveaxis(a, -1, 0), "CYX").getNChannels() == 3


def test_time_series_axes(jvm):
    a = RNG.integers(0, 255, (2, 3, 4, 5), dtype=np.uint8)  # T, Z, Y, X
    back = from_imageplus(to_imageplus(a, "TZYX"))
    assert back.axes == "TZYX"
    np.testing.assert_array_equal(back.array, a)


def test_dtype_rules(jvm):
    small = np.array([[0, 70000 - 69000], [5, 65535]], np.int64)
    assert to_imageplus(small, "YX").getBitDepth() == 16
    assert to_imageplus(np.ones((2, 2), bool), "YX").getBitDepth() == 8
    doubles = to_imageplus(np.full((2, 2), 0.1), "YX")
    assert doubles.getBitDepth() == 32 and from_imageplus(doubles).array[0, 0] == np.float32(0.1)
    negative = from_imageplus(to_imageplus(np.array([[-3, 100000]], np.int32), "YX")).array
    assert negative.dtype == np.float32 and negative.tolist() == [[-3, 100000]]
    with pytest.raises(InvalidInputError, match="2\\^24"):
        to_imageplus(np.array([[0, (1 << 24) + 1]], np.uint32), "YX")
    with pytest.raises(InvalidInputError, match="complex"):
        to_imageplus(np.zeros((2, 2), np.complex64), "YX")
    with pytest.raises(InvalidInputError, match="axes 'ZYX'"):
        to_imageplus(np.zeros((2, 2)), "ZYX")


def test_labels_above_65535_are_exact_float(jvm):
    labels = np.zeros((4, 6), np.uint32)
    labels[1, 1:3], labels[2, 4], labels[3, 0] = 70001, (1 << 24) - 1, 1 << 24
    imp = labels_to_imageplus(labels, title="big")
    assert imp.getBitDepth() == 32
    assert _pixel(imp, 1, 1, 1, 4, 2) == (1 << 24) - 1
    back = labels_from_imageplus(imp)
    assert back.dtype == np.uint32
    np.testing.assert_array_equal(back, labels)  # never relabelled
    assert labels_to_imageplus(labels.clip(0, 60000)).getBitDepth() == 16
    with pytest.raises(InvalidInputError, match="2\\^24"):
        labels_to_imageplus(labels + (1 << 24))


def test_bad_float_labels_name_the_pixel(jvm):
    imp = to_imageplus(np.array([[0, 1], [2.5, 3]], np.float32), "YX", title="frac")
    with pytest.raises(InvalidInputError, match=r"'frac' has the value 2\.5 at y=1, x=0"):
        labels_from_imageplus(imp)
    stack = to_imageplus(np.array([[[1]], [[-4]]], np.float32), "ZYX", title="neg")
    with pytest.raises(InvalidInputError, match="at z=1, y=0, x=0"):
        labels_from_imageplus(stack)
    with pytest.raises(InvalidInputError, match="channels"):
        labels_from_imageplus(to_imageplus(np.zeros((2, 3, 3), np.uint16), "CYX"))


def test_not_an_imageplus(jvm):
    with pytest.raises(InvalidInputError, match=r"expected an ij\.ImagePlus"):
        from_imageplus(np.zeros((2, 2)))
