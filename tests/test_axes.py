"""Axes strings -> channel-first views, and validation of labels and voxel sizes."""

from __future__ import annotations

import numpy as np
import pytest

from phenosort.axes import (
    MAX_LABEL_ID,
    SUPPORTED_AXES,
    c_order_blocks,
    check_labels,
    check_voxel_size,
    normalize_axes,
    spatial_axes,
    to_channel_first,
)
from phenosort.errors import InvalidInputError

# size of each named axis, all distinct so a wrong permutation cannot go unnoticed
SIZES = {"Z": 3, "C": 2, "Y": 5, "X": 7}


def _image(axes: str) -> np.ndarray:
    shape = tuple(SIZES[a] for a in axes)
    return np.arange(int(np.prod(shape)), dtype=np.uint16).reshape(shape)


def _expected_channel_first(image: np.ndarray, axes: str) -> np.ndarray:
    """Independent reference: transpose by axis names, add a unit C axis when missing."""
    if "C" not in axes:
        image, axes = image[np.newaxis], "C" + axes
    target = "C" + ("Z" if "Z" in axes else "") + "YX"
    return np.transpose(image, [axes.index(a) for a in target]).copy()


@pytest.mark.parametrize("axes", SUPPORTED_AXES)
def test_every_supported_axes_string_gives_channel_first_view(axes):
    image = _image(axes)
    out = to_channel_first(image, axes)
    n_channels = SIZES["C"] if "C" in axes else 1
    spatial = tuple(SIZES[a] for a in axes if a != "C")
    assert out.shape == (n_channels, *spatial)
    np.testing.assert_array_equal(out, _expected_channel_first(image, axes))
    assert np.shares_memory(out, image)
    assert out.dtype == image.dtype


@pytest.mark.parametrize(("given", "canonical"), [("yxc", "YXC"), ("YXS", "YXC"), ("zcyx", "ZCYX")])
def test_lower_case_and_samples_axis_are_accepted(given, canonical):
    image = _image(canonical)
    assert normalize_axes(given) == canonical
    np.testing.assert_array_equal(
        to_channel_first(image, given), _expected_channel_first(image, canonical)
    )


def test_spatial_axes():
    assert spatial_axes("ZCYX") == "ZYX"
    assert spatial_axes("yxs") == "YX"
    assert spatial_axes("CYX") == "YX"


def test_channel_first_view_writes_through_to_the_source():
    image = _image("ZYXC")
    out = to_channel_first(image, "ZYXC")
    out[1, 2, 3, 4] = 999
    assert image[2, 3, 4, 1] == 999


@pytest.mark.parametrize(
    ("shape", "axes"),
    [((5, 7), "YXC"), ((2, 5, 7), "YX"), ((3, 5, 7), "ZCYX"), ((3, 2, 5, 7, 1), "CZYX")],
)
def test_wrong_ndim_is_rejected_naming_shape_and_axes(shape, axes):
    with pytest.raises(InvalidInputError, match="dimensions") as err:
        to_channel_first(np.zeros(shape, np.uint8), axes)
    assert str(shape) in str(err.value)
    assert axes in str(err.value)


@pytest.mark.parametrize("axes", ["XY", "TYX", "YXZ", "CXY", "ZYCX", "", "YXCC"])
def test_unsupported_axes_are_rejected(axes):
    with pytest.raises(InvalidInputError, match="not supported"):
        to_channel_first(np.zeros((4,) * max(len(axes), 1), np.uint8), axes)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, object, "U3", "datetime64[s]"])
def test_non_numeric_dtypes_are_rejected(dtype):
    with pytest.raises(InvalidInputError, match="dtype"):
        to_channel_first(np.zeros((4, 5), dtype=dtype), "YX")


def test_bool_image_is_accepted_as_binary_intensity():
    assert to_channel_first(np.zeros((4, 5), dtype=bool), "YX").shape == (1, 4, 5)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.uint64, np.float16, np.float64])
def test_integer_and_float_dtypes_are_accepted(dtype):
    image = np.ones((4, 5), dtype=dtype)
    assert to_channel_first(image, "YX").dtype == dtype


@pytest.mark.parametrize(
    ("shape", "axes"), [((0, 5), "YX"), ((4, 5, 0), "YXC"), ((0, 4, 5), "ZYX")]
)
def test_empty_image_is_rejected(shape, axes):
    with pytest.raises(InvalidInputError, match="empty"):
        to_channel_first(np.zeros(shape, np.float32), axes)


# --- labels -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, bool])
def test_check_labels_rejects_non_integer_dtypes(dtype):
    with pytest.raises(InvalidInputError, match="not an integer type"):
        check_labels(np.zeros((4, 5), dtype=dtype), (4, 5))


def test_check_labels_shape_mismatch_names_both_shapes():
    with pytest.raises(InvalidInputError) as err:
        check_labels(np.zeros((4, 6), np.uint16), (4, 5))
    assert "(4, 6)" in str(err.value)
    assert "(4, 5)" in str(err.value)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_check_labels_rejects_negative_ids(dtype):
    labels = np.zeros((4, 5), dtype)
    labels[2, 3] = -1
    with pytest.raises(InvalidInputError, match="negative"):
        check_labels(labels, (4, 5))


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_check_labels_rejects_ids_above_uint32(dtype):
    labels = np.zeros((4, 5), dtype)
    labels[1, 1] = MAX_LABEL_ID + 1
    with pytest.raises(InvalidInputError, match="2\\^32-1"):
        check_labels(labels, (4, 5))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.int64, np.uint64])
def test_check_labels_accepts_valid_masks_unchanged(dtype):
    labels = np.zeros((3, 4, 5), dtype)
    labels[0, 1, 2] = np.iinfo(dtype).max if np.iinfo(dtype).max <= MAX_LABEL_ID else MAX_LABEL_ID
    labels[2, 3, 4] = 7
    before = labels.copy()
    out = check_labels(labels, (3, 4, 5))
    assert out is labels
    np.testing.assert_array_equal(labels, before)


def test_check_labels_accepts_a_list_of_ints():
    out = check_labels([[0, 1], [2, 3]], (2, 2))
    np.testing.assert_array_equal(out, [[0, 1], [2, 3]])


def test_check_voxel_size():
    assert check_voxel_size(None, 2) == (1.0, 1.0)
    assert check_voxel_size(None, 3) == (1.0, 1.0, 1.0)
    assert check_voxel_size([2, 0.5, 0.25], 3) == (2.0, 0.5, 0.25)
    assert all(isinstance(v, float) for v in check_voxel_size(np.array([1, 2]), 2))


@pytest.mark.parametrize(
    ("voxel_size", "ndim"),
    [((1.0, 1.0), 3), ((1.0, 1.0, 1.0), 2), ((0.0, 1.0), 2), ((-1.0, 1.0), 2),
     ((np.nan, 1.0), 2), ((np.inf, 1.0, 1.0), 3)],
)  # fmt: skip
def test_check_voxel_size_rejects_bad_values(voxel_size, ndim):
    with pytest.raises(InvalidInputError, match="voxel_size") as err:
        check_voxel_size(voxel_size, ndim)
    assert ("z, y, x" if ndim == 3 else "y, x") in str(err.value)


@pytest.mark.parametrize("max_bytes", [1, 7, 40, 1000, 1 << 20])
def test_c_order_blocks_are_the_c_order_bytes_of_a_view(max_bytes):
    rgb = np.arange(6 * 5 * 3, dtype=np.uint16).reshape(6, 5, 3)
    view = to_channel_first(rgb, "YXC")  # strided: (3, 6, 5)
    blocks = list(c_order_blocks(view, max_bytes))
    assert all(b.flags.c_contiguous for b in blocks)
    assert b"".join(b.tobytes() for b in blocks) == np.ascontiguousarray(view).tobytes()
    if max_bytes < view.nbytes:
        assert len(blocks) > 1 and max(b.nbytes for b in blocks) <= max(max_bytes, 10)
