"""Object table (sizes, centroids, bounding boxes) and label index vs brute-force numpy."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.measure import regionprops

from phenosort.errors import InvalidInputError
from phenosort.objects import table as table_module
from phenosort.objects.table import LabelIndex, ObjectTable, index_and_table, object_table


def _brute_force(labels: np.ndarray):
    """Per-object geometry with one boolean mask per ID (slow, obviously right)."""
    ids = sorted(int(v) for v in set(labels.ravel().tolist()) if v != 0)
    size, centroid, start, stop = [], [], [], []
    for i in ids:
        coords = np.argwhere(labels == i)
        size.append(len(coords))
        centroid.append(coords.mean(axis=0))
        start.append(coords.min(axis=0))
        stop.append(coords.max(axis=0) + 1)
    return ids, size, centroid, start, stop


def _assert_matches_brute_force(table: ObjectTable, labels: np.ndarray):
    ids, size, centroid, start, stop = _brute_force(labels)
    assert table.label_id.dtype == np.int64
    assert table.label_id.tolist() == ids
    assert table.size.tolist() == size
    assert table.ndim == labels.ndim
    assert len(table) == len(ids)
    if ids:
        np.testing.assert_allclose(table.centroid, np.array(centroid), rtol=0, atol=1e-9)
        np.testing.assert_array_equal(table.bbox_start, np.array(start))
        np.testing.assert_array_equal(table.bbox_stop, np.array(stop))


def _random_mask(shape, ids, seed=0, background=0.6):
    """IDs drawn voxel by voxel: speckle, whose runs along the rows are mostly one voxel."""
    rng = np.random.default_rng(seed)
    mask = rng.choice(np.asarray(ids), size=shape)
    mask[rng.random(shape) < background] = 0
    return mask


def _blocky_mask(shape, ids, seed=0, block=3):
    """IDs drawn block by block (``block`` voxels along every axis): runs of several voxels,
    touching runs of other IDs, objects on every edge, as segmentations have."""
    small = _random_mask(tuple(-(-n // block) for n in shape), ids, seed)
    for axis in range(len(shape)):
        small = np.repeat(small, block, axis=axis)
    return small[tuple(slice(0, n) for n in shape)]


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.uint16, np.uint32, np.int64, np.uint64])
@pytest.mark.parametrize("shape", [(13, 17), (5, 9, 11)])
@pytest.mark.parametrize("make", [_random_mask, _blocky_mask])
def test_table_matches_brute_force(dtype, shape, make):
    labels = make(shape, [3, 9, 10, 42, 200], seed=len(shape)).astype(dtype)
    before = labels.copy()
    _assert_matches_brute_force(object_table(labels), labels)
    np.testing.assert_array_equal(labels, before)


def test_table_matches_skimage_regionprops_on_relabelled_copy():
    labels = _random_mask((6, 12, 14), [5, 77, 1000, 65000], seed=3).astype(np.uint16)
    table = object_table(labels)
    ids, inverse = np.unique(labels, return_inverse=True)
    relabelled = inverse.reshape(labels.shape)  # 0 stays 0 (background present)
    props = regionprops(relabelled)
    assert [int(ids[p.label]) for p in props] == table.label_id.tolist()
    for row, p in enumerate(props):
        assert table.size[row] == p.area
        np.testing.assert_allclose(table.centroid[row], p.centroid, atol=1e-9)
        assert tuple(table.bbox_start[row]) == p.bbox[:3]
        assert tuple(table.bbox_stop[row]) == p.bbox[3:]


@pytest.mark.parametrize(
    "ids, dtype",
    [
        ([3, 9, 42], np.uint16),
        ([1, 70_000], np.uint32),
        ([5, 4_000_000_000], np.uint32),
        ([], np.uint8),
    ],
)
def test_index_and_table_in_one_pass_equal_the_two_step_ones(ids, dtype):
    """With small IDs the index comes from the table's voxel counts (one pass over the
    mask); it equals the one built on its own, and large IDs keep the compact index."""
    labels = _random_mask((9, 40, 30), ids or [0], seed=8).astype(dtype)
    index, table = index_and_table(labels)
    alone = LabelIndex.of(labels)
    assert index.direct == alone.direct and index.ids.tolist() == alone.ids.tolist()
    np.testing.assert_array_equal(index.image, alone.image)
    _assert_matches_brute_force(table, labels)


def test_raster_order_sorts_by_plane_then_row_then_column():
    labels = np.zeros((2, 6, 6), np.uint16)
    labels[1, 0, 0] = 1  # IDs in no spatial order
    labels[0, 4, 3] = 2
    labels[0, 4, 0:2] = 3  # starts left of 2 on the same row
    labels[0, 0:2, 5] = 4
    table = object_table(labels)
    assert table.label_id[table.raster_order()].tolist() == [4, 3, 2, 1]


@pytest.mark.parametrize("threads", [1, 3])
def test_chunked_accumulation_matches_brute_force(monkeypatch, threads):
    """Tiny chunks force many plane blocks (and a last partial block), shared among
    ``threads`` threads whose sums are merged."""
    monkeypatch.setattr(table_module, "cpu_share", lambda: threads)
    monkeypatch.setattr(table_module, "_CHUNK_VOXELS", 2 * 11 * 13 + 5)
    labels = _random_mask((7, 11, 13), [1, 4, 6, 30], seed=5).astype(np.uint16)
    _assert_matches_brute_force(object_table(labels), labels)
    monkeypatch.setattr(table_module, "_CHUNK_VOXELS", 3)
    labels2 = _random_mask((9, 8), [2, 5, 6], seed=6).astype(np.int32)
    _assert_matches_brute_force(object_table(labels2), labels2)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("speckle_first", [False, True])
def test_chunks_read_as_runs_or_voxel_by_voxel_agree(monkeypatch, speckle_first, threads):
    """A chunk of runs of several voxels is read run by run, a chunk of speckle voxel by
    voxel (in any thread's share of the chunks): both agree with brute force."""
    monkeypatch.setattr(table_module, "cpu_share", lambda: threads)
    monkeypatch.setattr(table_module, "_CHUNK_VOXELS", 2 * 9 * 11)  # 2 planes per chunk
    mean_runs = []
    object_runs = table_module._object_runs

    def spy(lines):
        ids, at, length = object_runs(lines)
        mean_runs.append(length.mean())
        return ids, at, length

    monkeypatch.setattr(table_module, "_object_runs", spy)
    labels = _blocky_mask((6, 9, 11), [3, 8, 12, 40], seed=9)
    speckle = _random_mask((2, 9, 11), [3, 8, 12, 41], seed=10, background=0.1)
    if speckle_first:
        labels[:2] = speckle
    else:
        labels[4:] = speckle
    _assert_matches_brute_force(object_table(labels.astype(np.uint16)), labels)
    assert min(mean_runs) < 2 <= max(mean_runs)  # both ways were taken


def test_masks_other_than_2d_or_3d_are_rejected():
    for shape in [(7,), (2, 3, 4, 5)]:
        with pytest.raises(InvalidInputError, match="2D or 3D"):
            object_table(np.ones(shape, np.uint8))


def test_boxes_beyond_their_memory_budget_come_from_find_objects(monkeypatch):
    """Huge sparse IDs would need huge per-ID box arrays: find_objects measures them."""
    monkeypatch.setattr(table_module, "_BOX_BYTES", 0)
    labels = _random_mask((5, 9, 11), [3, 8, 12, 40], seed=11, background=0.8)
    _assert_matches_brute_force(object_table(labels.astype(np.uint16)), labels)


def test_single_voxel_and_full_image_objects():
    labels = np.zeros((4, 6), np.uint8)
    labels[3, 5] = 250
    t = object_table(labels)
    assert t.label_id.tolist() == [250]
    assert t.size.tolist() == [1]
    np.testing.assert_array_equal(t.centroid, [[3.0, 5.0]])
    np.testing.assert_array_equal(t.bbox_start, [[3, 5]])
    np.testing.assert_array_equal(t.bbox_stop, [[4, 6]])
    full = np.full((3, 4), 7, np.uint16)  # no background at all
    _assert_matches_brute_force(object_table(full), full)


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64, np.int64])
def test_huge_ids_use_compact_index_and_are_kept_exactly(dtype):
    top = 4_294_967_295
    ids = [17, 2_000_000_001, top - 1, top]
    labels = _random_mask((10, 12), ids, seed=7).astype(dtype)
    before = labels.copy()
    index = LabelIndex.of(labels)
    assert not index.direct
    assert index.ids.tolist() == ids
    np.testing.assert_array_equal(index.slots, [1, 2, 3, 4])
    table = object_table(labels)
    _assert_matches_brute_force(table, labels)
    assert table.label_id[-1] == top
    np.testing.assert_array_equal(labels, before)


def test_huge_ids_without_background_keep_index_zero_for_background():
    labels = np.array([[100_000, 100_000], [300_000, 5]], np.uint32)
    index = LabelIndex.of(labels)
    assert not index.direct
    assert index.ids.tolist() == [5, 100_000, 300_000]
    np.testing.assert_array_equal(index.image, [[2, 2], [3, 1]])
    _assert_matches_brute_force(object_table(labels), labels)


def test_compact_path_when_max_id_exceeds_mask_size_and_65536():
    labels = np.zeros((8, 8), np.uint32)
    labels[1:3, 1:3] = 70_000
    labels[5, 5:7] = 3
    index = LabelIndex.of(labels)
    assert not index.direct
    assert index.ids.tolist() == [3, 70_000]
    expected_image = np.where(labels == 3, 1, np.where(labels == 70_000, 2, 0))
    np.testing.assert_array_equal(index.image, expected_image)


def test_direct_path_uses_the_mask_itself():
    labels = np.zeros((8, 8), np.uint16)
    labels[0, 0], labels[7, 7], labels[3, 4] = 60_000, 9, 1
    index = LabelIndex.of(labels)
    assert index.direct
    assert index.image is labels
    assert index.ids.tolist() == [1, 9, 60_000]
    np.testing.assert_array_equal(index.slots, index.ids)


@pytest.mark.parametrize("ids", [[2, 7, 31], [4, 99_999, 4_294_967_295]])
def test_label_index_paint_direct_and_compact(ids):
    labels = _random_mask((9, 10), ids, seed=11).astype(np.uint32)
    index = LabelIndex.of(labels)
    assert index.direct == (max(ids) < 100)
    values = np.array([1.5, -2.0, 8.25], np.float32)
    painted = index.paint(values, fill=-7.0)
    expected = np.full(labels.shape, -7.0, np.float32)
    for i, v in zip(ids, values):
        expected[labels == i] = v
    assert painted.dtype == np.float32
    np.testing.assert_array_equal(painted, expected)
    lut = index.lut(values, fill=-7.0)
    assert lut[0] == -7.0


def test_empty_masks_give_empty_tables():
    for labels in (
        np.zeros((5, 6), np.uint16),
        np.zeros((0, 6), np.int32),
        np.zeros((2, 3, 4), np.uint8),
    ):
        t = object_table(labels)
        assert len(t) == 0
        assert t.centroid.shape == (0, labels.ndim)
        assert t.bbox_start.shape == t.bbox_stop.shape == (0, labels.ndim)
        assert t.ndim == labels.ndim
        with pytest.raises(InvalidInputError, match="3"):
            t.rows(np.array([3]))


def test_non_integer_labels_are_rejected():
    with pytest.raises(InvalidInputError, match="not an integer type"):
        object_table(np.zeros((3, 3), np.float32))


def test_rows_finds_ids_and_names_the_missing_ones():
    labels = np.zeros((6, 6), np.uint16)
    for k, i in enumerate([4, 8, 15, 16, 23, 42]):
        labels[k, k] = i
    t = object_table(labels)
    np.testing.assert_array_equal(t.rows([42, 4, 16]), [5, 0, 3])
    with pytest.raises(InvalidInputError) as err:
        t.rows([4, 5, 43, 16])
    message = str(err.value)
    assert "5, 43" in message
    assert "4," not in message.replace("5, 43", "")
    many = np.arange(100, 115)
    with pytest.raises(InvalidInputError, match="and 5 more"):
        t.rows(many)


def test_subset_and_extent():
    labels = np.zeros((4, 10, 12), np.uint16)
    labels[0:2, 1:5, 2:3] = 3
    labels[1:4, 6:10, 4:12] = 9
    t = object_table(labels)
    sub = t.subset(np.array([1]))
    assert sub.label_id.tolist() == [9]
    np.testing.assert_array_equal(t.extent(), [[2, 4, 1], [3, 4, 8]])
    np.testing.assert_allclose(t.extent((2.0, 0.5, 0.25)), [[4, 2, 0.25], [6, 2, 2]])


def test_rows_of_empty_table_rejects_negative_ids():
    t = object_table(np.zeros((3, 3), np.uint8))
    with pytest.raises(InvalidInputError):
        t.rows(np.array([-1]))


def _reference_index(labels: np.ndarray) -> tuple[list[int], np.ndarray]:
    """IDs and compact index image from one whole-mask np.unique (as first written)."""
    ids, inverse = np.unique(labels, return_inverse=True)
    index = inverse.reshape(labels.shape) + (0 if ids[0] == 0 else 1)
    return [int(i) for i in ids if i != 0], index


@pytest.mark.parametrize(
    "ids", [[3, 9, 200], [5, 70_000, 4_294_967_295], [17, 2_000_000_001]]
)  # direct; compact with background; compact without background (background=0)
@pytest.mark.parametrize("transpose", [False, True])
def test_label_index_in_small_blocks_matches_whole_mask_reference(monkeypatch, ids, transpose):
    """Blocks of a few voxels (and a non-contiguous mask) give the same index."""
    monkeypatch.setattr(table_module, "_CHUNK_VOXELS", 7)
    background = 0.0 if len(ids) == 2 else 0.5
    labels = _random_mask((5, 6, 9), ids, seed=12, background=background).astype(np.uint64)
    labels = labels.transpose(2, 0, 1) if transpose else labels
    before = labels.copy()
    index = LabelIndex.of(labels)
    expected_ids, expected_image = _reference_index(labels)
    assert index.ids.tolist() == expected_ids
    if index.direct:
        assert index.image is labels
    else:
        assert index.image.dtype == np.uint32
        np.testing.assert_array_equal(index.image, expected_image)
    np.testing.assert_array_equal(labels, before)
    _assert_matches_brute_force(object_table(labels), labels)
