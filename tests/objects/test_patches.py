"""Patch extraction vs np.pad of the image, context suppression, and patch-size heuristics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from phenosort.errors import InvalidInputError
from phenosort.objects import patches as patches_module
from phenosort.objects.normalize import Normalization
from phenosort.objects.patches import (
    PatchSpec,
    dilate_masks,
    estimate_patch_size,
    extract_patches,
    patch_shape_for,
    patch_starts,
)
from phenosort.objects.table import ObjectTable, object_table

NONE = Normalization("none")


def _scene_2d():
    """3-channel image and a mask with objects in the interior and touching every border."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 1000, size=(3, 20, 24)).astype(np.uint16)
    labels = np.zeros((20, 24), np.uint32)
    labels[8:12, 9:14] = 5  # interior
    labels[0:3, 0:2] = 70  # top-left corner
    labels[15:20, 20:24] = 12  # bottom-right corner
    labels[9:11, 0] = 3  # left edge, one column
    labels[0, 10:13] = 900  # top edge, one row
    labels[10, 12] = 0  # hole
    return image, labels


def _expected_patch(image_cf, labels, label_id, shape, padding):
    """Brute force: centre the bbox, cut the patch out of np.pad'ed image and mask."""
    coords = np.argwhere(labels == label_id)
    lo, hi = coords.min(0), coords.max(0) + 1
    start = np.floor((lo + hi - np.asarray(shape)) / 2).astype(int)
    pad = max(shape)
    mode = {"constant": "constant", "reflect": "reflect", "edge": "edge"}[padding]
    padded = np.pad(image_cf, [(0, 0)] + [(pad, pad)] * labels.ndim, mode=mode)
    mask = np.pad(labels == label_id, pad)
    sl = tuple(slice(s + pad, s + pad + n) for s, n in zip(start, shape))
    return padded[(slice(None), *sl)].astype(np.float32), mask[sl].astype(np.float32), start


@pytest.mark.parametrize("padding", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("shape", [(9, 10), (8, 8), (4, 3), (6, 30)])  # 30: wider than the image
def test_patches_equal_padded_image_and_object_mask_2d(padding, shape):
    image, labels = _scene_2d()
    table = object_table(labels)
    out = extract_patches(image, labels, table, PatchSpec(shape, padding), NONE)
    assert out.shape == (len(table), 4, *shape)
    assert out.dtype == np.float32
    for row, label_id in enumerate(table.label_id):
        pixels, mask, _ = _expected_patch(image, labels, label_id, shape, padding)
        np.testing.assert_array_equal(out[row, :3], pixels)
        np.testing.assert_array_equal(out[row, 3], mask)  # 0 outside the image in every mode
        assert set(np.unique(out[row, 3])) <= {0.0, 1.0}


LAYOUTS = {
    "channel-first": lambda a: a,
    "channel-last view": lambda a: np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 0, -1)), -1, 0),
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "every other column of a wider image": lambda a: np.repeat(a, 2, axis=-1)[..., ::2],
    "flipped twice (negative strides)": lambda a: np.ascontiguousarray(a[..., ::-1])[..., ::-1],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("padding", ["reflect", "constant"])  # constant: from a padded copy
def test_patches_are_the_same_in_every_memory_layout(layout, channels, padding):
    """Patch rows are copied whole where they are one run of memory (one channel, or
    channel-last pixels) and element by element otherwise: every layout cuts the same."""
    image, labels = _scene_2d()
    image = image[:channels]
    table = object_table(labels)
    spec = PatchSpec((9, 10), padding)
    expected = extract_patches(image, labels, table, spec, NONE)
    view = LAYOUTS[layout](image)
    mask_view = LAYOUTS[layout](labels[np.newaxis])[0]
    np.testing.assert_array_equal(view, image)  # the same values, laid out differently
    out = extract_patches(view, mask_view, table, spec, NONE)
    np.testing.assert_array_equal(out, expected)
    for row, label_id in enumerate(table.label_id):
        pixels, mask, _ = _expected_patch(image, labels, label_id, (9, 10), padding)
        np.testing.assert_array_equal(out[row, :channels], pixels)
        np.testing.assert_array_equal(out[row, channels], mask)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("context_radius", [None, 1.5])
def test_border_patches_from_a_padded_copy_equal_those_gathered_voxel_by_voxel(
    monkeypatch, ndim, context_radius
):
    """A small image whose border objects cross is padded once and its patches copied row
    by row; a large one's border patches are gathered voxel by voxel. Both cut the same
    patches, normalised, with zeros outside the image (also under context suppression)."""
    rng = np.random.default_rng(3)
    spatial = (20, 24) if ndim == 2 else (5, 20, 24)
    image = rng.integers(0, 4000, size=(2, *spatial)).astype(np.uint16)
    labels = np.zeros(spatial, np.uint32)
    for k, (y, x) in enumerate([(0, 0), (10, 11), (17, 3), (5, 22), (19, 19)], start=1):
        labels[..., max(y - 1, 0) : y + 2, max(x - 2, 0) : x + 2] = k * 1000
    table = object_table(labels)
    spec = PatchSpec((9, 12) if ndim == 2 else (3, 9, 12), "constant", context_radius)
    norm = Normalization("percentile")
    image_range = norm.image_range(image)
    padded_calls = []
    real_padded = patches_module._padded
    monkeypatch.setattr(
        patches_module, "_padded", lambda *a: padded_calls.append(1) or real_padded(*a)
    )
    cuts = {}
    for ratio in (0, 10**9):  # never pad / pad whenever a patch crosses the border
        monkeypatch.setattr(patches_module, "_PAD_RATIO", ratio)
        cuts[ratio] = extract_patches(image, labels, table, spec, norm, image_range)
    assert len(padded_calls) == 2  # the image and the mask, once, in the second cut only
    np.testing.assert_array_equal(cuts[0], cuts[10**9])
    for row, label_id in enumerate(table.label_id):
        _, mask, start = _expected_patch(image, labels, label_id, spec.shape, "constant")
        inside = np.pad(np.ones(spatial, bool), max(spec.shape))[
            tuple(slice(s + max(spec.shape), s + max(spec.shape) + n)
                  for s, n in zip(start, spec.shape))
        ]  # fmt: skip
        assert not inside.all() or label_id == 2000  # every other object crosses a border
        assert (cuts[0][row, :2][:, ~inside] == 0).all()
        np.testing.assert_array_equal(cuts[0][row, 2], mask)


@pytest.mark.parametrize("padding", ["constant", "reflect", "edge"])
def test_patches_equal_padded_image_3d(padding):
    rng = np.random.default_rng(1)
    image = rng.normal(size=(2, 6, 11, 13)).astype(np.float32)
    labels = np.zeros((6, 11, 13), np.uint16)
    labels[0:2, 0:4, 3:6] = 40_000
    labels[2:6, 5:9, 9:13] = 2
    labels[3, 5, 5] = 7
    table = object_table(labels)
    shape = (5, 7, 6)
    out = extract_patches(image, labels, table, PatchSpec(shape, padding), NONE)
    for row, label_id in enumerate(table.label_id):
        pixels, mask, _ = _expected_patch(image, labels, label_id, shape, padding)
        np.testing.assert_array_equal(out[row, :2], pixels)
        np.testing.assert_array_equal(out[row, 2], mask)


def test_object_bbox_is_centred_in_its_patch():
    image, labels = _scene_2d()
    table = object_table(labels)
    out = extract_patches(image, labels, table, PatchSpec((16, 15)), NONE)
    for row in range(len(table)):
        inside = np.argwhere(out[row, -1] > 0)
        ext = table.bbox_stop[row] - table.bbox_start[row]
        assert ((inside.max(0) + 1) - inside.min(0)).tolist() == ext.tolist()
        if np.all(table.bbox_start[row] > 0) and np.all(table.bbox_stop[row] < labels.shape):
            before = inside.min(0)
            after = np.array([16, 15]) - (inside.max(0) + 1)
            assert np.all(np.abs(before - after) <= 1), (before, after)


def test_neighbour_voxels_are_not_in_the_mask_channel():
    image = np.ones((1, 10, 10), np.float32)
    labels = np.zeros((10, 10), np.uint8)
    labels[2:5, 2:5] = 1
    labels[5:8, 5:8] = 2  # touches object 1 diagonally, inside its patch
    table = object_table(labels)
    out = extract_patches(image, labels, table, PatchSpec((8, 8)), NONE)
    assert out[0, 1].sum() == out[1, 1].sum() == 9  # the neighbour's 9 voxels are not in it
    np.testing.assert_array_equal(out[0, 1, 3:6, 3:6], 1)  # patch of 1 starts at (-1, -1)
    np.testing.assert_array_equal(out[1, 1, 3:6, 3:6], 1)  # patch of 2 starts at (2, 2)
    # surroundings kept when context_radius is None; constant padding outside the image
    assert out[0, 0].sum() == 7 * 7
    assert out[1, 0].sum() == 8 * 8


@pytest.mark.parametrize("radius", [0.0, 1.0, 2.5, 3.0])
def test_context_radius_keeps_object_and_zeroes_far_pixels(radius):
    rng = np.random.default_rng(2)
    image = rng.uniform(1, 2, size=(2, 24, 24)).astype(np.float32)
    labels = np.zeros((24, 24), np.uint16)
    labels[9:14, 8:12] = 4
    labels[11, 12:15] = 4
    labels[2:6, 15:20] = 8  # neighbour
    table = object_table(labels)
    spec = PatchSpec((20, 20), context_radius=radius)
    out = extract_patches(image, labels, table, spec, NONE)
    plain = extract_patches(image, labels, table, PatchSpec((20, 20)), NONE)
    for row in range(len(table)):
        mask = out[row, -1] > 0
        distance = ndimage.distance_transform_edt(~mask)
        keep = distance <= radius + 1e-9
        np.testing.assert_array_equal(out[row, :2], np.where(keep, plain[row, :2], 0))
        assert np.all(out[row, :2][:, mask] >= 1)  # the object itself is untouched
        assert np.all(out[row, :2][:, distance > radius + 1e-9] == 0)


def test_dilation_is_anisotropic_in_3d():
    masks = np.zeros((1, 9, 11, 11), bool)
    masks[0, 4, 5, 5] = True
    out = dilate_masks(masks, 4.0, voxel_size=(2.0, 1.0, 1.0))
    z, y, x = np.ogrid[-4:5, -5:6, -5:6]
    expected = ((2.0 * z) ** 2 + y**2 + x**2) <= 16
    np.testing.assert_array_equal(out[0], expected)
    assert dilate_masks(masks, 0.0) is masks


def test_anisotropic_patch_shape_for():
    assert patch_shape_for(32, (2.0, 0.5, 0.5), 3) == (8, 32, 32)
    assert patch_shape_for(32, None, 3) == (32, 32, 32)
    assert patch_shape_for(32, (1.0, 0.5, 0.5), 3) == (16, 32, 32)
    assert patch_shape_for(16, (50.0, 0.5, 0.5), 3) == (1, 16, 16)
    assert patch_shape_for(24, None, 2) == (24, 24)


def _table_of_extents(extents) -> ObjectTable:
    ext = np.asarray(extents, np.int64)
    n = ext.shape[0]
    start = np.zeros_like(ext)
    return ObjectTable(np.arange(1, n + 1), np.prod(ext, 1), ext / 2.0, start, start + ext)


def test_estimate_patch_size_uses_a_percentile_not_the_maximum():
    typical = [[10, 8]] * 20
    assert estimate_patch_size([_table_of_extents(typical)]) == 16  # ceil(10 * 1.5 / 8) * 8
    outlier = _table_of_extents([*typical, [200, 150]])
    assert estimate_patch_size([outlier]) == 16
    assert estimate_patch_size([outlier], percentile=100) == 256  # 300 capped at maximum
    # objects of several tables are pooled
    big = _table_of_extents([[30, 30]] * 30)
    assert estimate_patch_size([_table_of_extents(typical), big], percentile=50) == 48


def test_estimate_patch_size_respects_multiple_minimum_maximum():
    table = _table_of_extents([[10, 8]] * 5)  # edge 15
    assert estimate_patch_size([table], multiple=1) == 16  # minimum 16
    assert estimate_patch_size([table], multiple=1, minimum=4) == 15
    assert estimate_patch_size([table], multiple=5, minimum=4) == 15
    assert estimate_patch_size([table], multiple=6, minimum=4) == 18
    assert estimate_patch_size([table], minimum=40) == 40
    assert estimate_patch_size([table], maximum=12, minimum=4) == 12
    assert estimate_patch_size([table], margin=3.0) == 32


def test_estimate_patch_size_converts_z_through_voxel_size():
    table = _table_of_extents([[6, 10, 10]] * 4)  # z: 6 planes * 2.0 / 0.5 = 24 pixels
    assert estimate_patch_size([table], (2.0, 0.5, 0.5), multiple=1, minimum=1) == 36
    assert estimate_patch_size([table], None, multiple=1, minimum=1) == 15


def test_estimate_patch_size_without_objects_raises():
    empty = object_table(np.zeros((4, 4), np.uint8))
    with pytest.raises(InvalidInputError, match="no objects"):
        estimate_patch_size([empty, empty])


def test_patch_shape_and_labels_ndim_mismatch():
    image, labels = _scene_2d()
    with pytest.raises(InvalidInputError, match="3 axes but the labels are 2D"):
        extract_patches(image, labels, object_table(labels), PatchSpec((4, 8, 8)), NONE)


@pytest.mark.parametrize(
    "kwargs",
    [{"shape": (8,)}, {"shape": (8, 0)}, {"shape": (2, 2, 2, 2)},
     {"shape": (8, 8), "padding": "wrap"}, {"shape": (8, 8), "context_radius": -1.0}],
)  # fmt: skip
def test_patch_spec_validation(kwargs):
    with pytest.raises(InvalidInputError):
        PatchSpec(**kwargs)


def test_patch_spec_round_trip():
    spec = PatchSpec((8, 32, 32), "reflect", 4.0)
    data = spec.to_dict()
    data["shape"] = list(data["shape"])  # as after JSON
    assert PatchSpec.from_dict(data) == spec


def test_scaled_patch_samples_every_s_pixels_around_the_object():
    rng = np.random.default_rng(0)
    image = rng.random((1, 80, 90)).astype(np.float32)
    labels = np.zeros((80, 90), np.uint16)
    labels[30:50, 20:44] = 9
    table = object_table(labels)
    spec = PatchSpec((16, 16), scale=2.0)
    patch = extract_patches(image, labels, table, spec, Normalization("none"))[0]
    y0, x0 = patch_starts(table, spec.shape, spec.scale)[0]
    assert (y0, x0) == ((30 + 50 - 32) // 2, (20 + 44 - 32) // 2)
    np.testing.assert_array_equal(patch[0], image[0, y0 : y0 + 32 : 2, x0 : x0 + 32 : 2])
    np.testing.assert_array_equal(patch[1], labels[y0 : y0 + 32 : 2, x0 : x0 + 32 : 2] == 9)


def test_fractional_scale_samples_block_centres_and_stays_binary():
    labels = np.zeros((60, 60), np.uint16)
    labels[10:40, 15:45] = 3
    table = object_table(labels)
    spec = PatchSpec((20, 20), scale=1.5)
    patch = extract_patches(np.ones((1, 60, 60)), labels, table, spec, Normalization("none"))[0]
    assert set(np.unique(patch[1]).tolist()) <= {0.0, 1.0}
    assert patch[1].sum() == pytest.approx(30 * 30 / 1.5**2, rel=0.15)
    with pytest.raises(InvalidInputError, match="scale"):
        PatchSpec((8, 8), scale=0)
