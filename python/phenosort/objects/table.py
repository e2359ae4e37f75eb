"""One pass over an instance mask: every object's ID, bounding box, centroid and size.

The cost is O(voxels) for one comparison of each voxel with its neighbour along the rows,
then O(runs): a mask is read, in chunks of planes (bounded memory), as runs of one ID along
its last axis, and each run adds its voxel count, coordinate sums and extent to its ID's
(``np.bincount``, ``np.minimum.at``). Masks of one-voxel runs (speckle) are read voxel by
voxel instead. IDs are kept exactly as the user gave them; a compact index is used
internally only when the IDs are sparse and large.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..cpu_share import cpu_share
from ..errors import InvalidInputError

# Plane chunks of ~1 M voxels: a chunk's temporaries (1 MB of booleans, its runs) stay
# under 4 MB, which glibc reuses from one chunk to the next and NumPy does not advise as huge
# pages. With 4 M voxels each chunk's ~6 MB arrays were mapped afresh, and the kernel's
# huge-page compaction made the first table of a process take 0.41-0.57 s instead of 0.12 s
# (20,000 discs, 4096 x 4096, read voxel by voxel as then).
_CHUNK_VOXELS = 1 << 20
_BOX_BYTES = 64 << 20  # per-ID bounding-box arrays up to this size are filled run by run
_SHARED_SLOTS = 1 << 22  # up to this many IDs each thread keeps its own sums (~80 B per ID)


@dataclass(frozen=True)
class ObjectTable:
    """Per-object geometry, one row per non-zero label ID (sorted ascending).

    Coordinates are in voxels, axis order ``([plane,] row, col)``; ``bbox_stop`` is exclusive.
    """

    label_id: np.ndarray  # (N,) int64, the user's IDs
    size: np.ndarray  # (N,) int64 voxel count
    centroid: np.ndarray  # (N, ndim) float64
    bbox_start: np.ndarray  # (N, ndim) int64
    bbox_stop: np.ndarray  # (N, ndim) int64

    def __len__(self) -> int:
        return int(self.label_id.size)

    @property
    def ndim(self) -> int:
        return int(self.centroid.shape[1])

    def rows(self, label_ids: npt.ArrayLike) -> np.ndarray:
        """Row indices of ``label_ids``; raises naming the IDs that are not in the mask."""
        ids = np.asarray(label_ids, dtype=np.int64).ravel()
        pos = np.searchsorted(self.label_id, ids)
        pos_clipped = np.minimum(pos, max(len(self) - 1, 0))
        if len(self):
            found = (pos < len(self)) & (self.label_id[pos_clipped] == ids)
        else:
            found = np.zeros(ids.shape, bool)
        if not np.all(found):
            missing = ids[~found]
            shown = ", ".join(str(int(v)) for v in missing[:10])
            more = f" and {missing.size - 10} more" if missing.size > 10 else ""
            raise InvalidInputError(f"label IDs not present in the label mask: {shown}{more}")
        return pos

    def subset(self, rows: np.ndarray) -> ObjectTable:
        return ObjectTable(
            self.label_id[rows],
            self.size[rows],
            self.centroid[rows],
            self.bbox_start[rows],
            self.bbox_stop[rows],
        )

    def raster_order(self) -> np.ndarray:
        """Row indices sorted by where the bounding boxes start, plane by plane, row by row
        (the IDs' order is often random in space). Patches cut in this order read nearby
        image rows one after the other: 0.67x the cutting time of a 4096 x 4096 image."""
        return np.lexsort(self.bbox_start.T[::-1])

    def extent(self, voxel_size: tuple[float, ...] | None = None) -> np.ndarray:
        """Bounding-box extents ``(N, ndim)``, in physical units when ``voxel_size`` is given."""
        ext = (self.bbox_stop - self.bbox_start).astype(np.float64)
        return ext * np.asarray(voxel_size, dtype=np.float64) if voxel_size else ext


def as_intp(values: np.ndarray) -> np.ndarray:
    """``values`` as an array bincount accepts (uint64 cannot be cast to intp safely)."""
    return values if np.can_cast(values.dtype, np.intp) else values.astype(np.intp)


@dataclass(frozen=True)
class LabelIndex:
    """Sorted non-zero IDs of a mask and an image of indices into them (0 = background).

    When the IDs are small (max ID <= voxel count) the mask itself is the index image (no
    copy, ``direct``); otherwise a compact image of 1..N is built with one sort. Per-object
    values are painted back with one lookup-table pass (:meth:`paint`).
    """

    ids: np.ndarray  # (N,) int64 sorted
    image: np.ndarray  # index image, same shape as the mask
    direct: bool

    @classmethod
    def of(cls, labels: np.ndarray) -> LabelIndex:
        # Block by block: a whole-mask bincount or unique would make 8-byte (intp) copies
        # of the mask, 1.6 GB for 200 x 1024 x 1024 voxels.
        labels = np.asarray(labels)
        if labels.size == 0:
            return cls(np.zeros(0, np.int64), labels, True)
        top = int(labels.max())
        if _direct(labels, top):
            present = np.zeros(top + 1, bool)
            for _, block in plane_blocks(labels):
                present[block] = True
            return cls(np.flatnonzero(present[1:]).astype(np.int64) + 1, labels, True)
        ids = np.unique(np.concatenate([np.unique(b) for _, b in plane_blocks(labels)]))
        ids = ids[ids != 0]  # in the mask's dtype: searchsorted then never casts to float
        index = np.empty(labels.shape, np.uint32)
        flat = index.reshape(-1)
        for start, block in plane_blocks(labels):
            # ID ids[k] -> k + 1, and 0 (below every ID) -> 0: background stays 0
            flat[start : start + block.size] = np.searchsorted(ids, block, side="right")
        return cls(ids.astype(np.int64), index, False)

    @property
    def slots(self) -> np.ndarray:
        """The index value of each ID (the ID itself when direct, else 1..N)."""
        return self.ids if self.direct else np.arange(1, self.ids.size + 1)

    def lut(self, values: np.ndarray, fill=0) -> np.ndarray:
        values = np.asarray(values)
        n = int(self.ids[-1]) + 1 if (self.direct and self.ids.size) else self.ids.size + 1
        table = np.full(n, fill, dtype=values.dtype)
        table[self.slots] = values
        return table

    def paint(self, values: np.ndarray, fill=0) -> np.ndarray:
        """Image where each object's voxels hold its value from ``values`` (one per ID).

        One NumPy call, which releases the GIL once: painted in cache-sized pieces it took
        0.4x the time alone, but longer beside the rows' formatting in another thread
        (``batch.image_job``), each piece waiting up to the interpreter's 5 ms switch
        interval for the GIL (docs/benchmarks.md, issue 15)."""
        return self.lut(values, fill)[self.image]


def _direct(labels: np.ndarray, top: int) -> bool:
    """Whether the mask itself can index per-object arrays: its largest ID ``top`` is small."""
    return top <= max(labels.size, 1 << 16)


def _plane_chunks(labels: np.ndarray) -> tuple[int, int]:
    """Voxels per plane (row in 2D) of ``labels`` (at least 1D), and the planes per chunk
    of about ``_CHUNK_VOXELS`` voxels."""
    plane_voxels = int(np.prod(labels.shape[1:]))
    return plane_voxels, min(max(1, _CHUNK_VOXELS // max(plane_voxels, 1)), labels.shape[0])


def plane_blocks(labels: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(first flat offset, 1D block)`` over whole planes (rows in 2D) of about
    ``_CHUNK_VOXELS`` voxels each; only one block is ever copied (non-contiguous input)."""
    labels = np.atleast_1d(labels)
    plane_voxels, step = _plane_chunks(labels)
    for start in range(0, labels.shape[0], step):
        yield start * plane_voxels, np.asarray(labels[start : start + step]).reshape(-1)


def object_table(labels: np.ndarray) -> ObjectTable:
    """Build the :class:`ObjectTable` of an instance label mask in one pass.

    Parameters
    ----------
    labels : ndarray of int, shape ([P,] M, N)
        Instance mask, 0 = background, IDs need not be consecutive (up to 2^32-1).
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "ui":
        raise InvalidInputError(f"labels dtype {labels.dtype} is not an integer type")
    return index_and_table(labels)[1]


def index_and_table(labels: np.ndarray) -> tuple[LabelIndex, ObjectTable]:
    """The :class:`LabelIndex` and :class:`ObjectTable` of a mask. With small IDs (the
    mask is its own index) both come from one pass: the voxel counts say which IDs exist."""
    labels = np.asarray(labels)
    if labels.ndim not in (2, 3):
        raise InvalidInputError(f"label masks must be 2D or 3D, got shape {labels.shape}")
    top = int(labels.max()) if labels.size else 0
    if top and _direct(labels, top):
        counts, sums, boxes = _voxel_sums(labels, top + 1)
        index = LabelIndex(np.flatnonzero(counts[1:]).astype(np.int64) + 1, labels, True)
    else:  # no objects, or IDs so large that a compact index image is built first
        index = LabelIndex.of(labels)
        if index.ids.size == 0:
            return index, _empty_table(labels.ndim)
        counts, sums, boxes = _voxel_sums(index.image, int(index.slots[-1]) + 1)
    return index, _table_of(index, counts, sums, boxes)


def _voxel_sums(labels: np.ndarray, n_slots: int) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """Voxel counts ``(n_slots,)`` and coordinate sums ``(ndim, n_slots)`` of every value
    of the index image ``labels`` below ``n_slots``, and the bounding boxes ``(first,
    last)`` (each ``(ndim, n_slots)``, inclusive), or None when per-ID box arrays would
    exceed ``_BOX_BYTES`` (huge sparse IDs: ``find_objects`` measures them then).

    The chunks of a large mask are shared among this process's cores (:func:`cpu_share`),
    each thread with its own sums, merged at the end (half of the work is NumPy passes that
    release the GIL)."""
    step = _plane_chunks(labels)[1]
    starts = list(range(0, labels.shape[0], step))
    workers = min(len(starts), cpu_share()) if n_slots <= _SHARED_SLOTS else 1
    if workers <= 1:
        return _chunk_sums(labels, n_slots, starts, step)
    with ThreadPoolExecutor(workers, thread_name_prefix="phenosort-table") as pool:
        parts = list(
            pool.map(lambda k: _chunk_sums(labels, n_slots, starts[k::workers], step),
                     range(workers))
        )  # fmt: skip
    counts = np.sum([p[0] for p in parts], axis=0)
    sums = np.sum([p[1] for p in parts], axis=0)  # integers under 2**53: exact in any order
    boxes = [p[2] for p in parts if p[2] is not None]
    if not boxes:  # beyond the budget (the same in every part)
        return counts, sums, None
    first = np.minimum.reduce([b[0] for b in boxes])
    last = np.maximum.reduce([b[1] for b in boxes])
    return counts, sums, (first, last)


def _chunk_sums(
    labels: np.ndarray, n_slots: int, starts: list[int], step: int
) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """:func:`_voxel_sums` of the plane chunks ``labels[s : s + step]`` for ``s`` in
    ``starts`` (coordinates counted from the mask's first plane)."""
    ndim = labels.ndim
    sums = np.zeros((ndim, n_slots))
    counts = np.zeros(n_slots, np.int64)
    boxes = 2 * ndim * n_slots * 8 <= _BOX_BYTES  # else find_objects (sparse huge IDs)
    first = np.full((ndim, n_slots if boxes else 0), np.iinfo(np.int64).max)
    last = np.full((ndim, n_slots if boxes else 0), -1)
    for start in starts:
        lines = np.asarray(labels[start : start + step]).reshape(-1, labels.shape[-1])
        ids, at, runs = _object_runs(lines)
        length: np.ndarray | None = runs
        if 2 * ids.size > runs.sum():  # runs of about one voxel (speckle): voxel by voxel
            at = np.flatnonzero(lines != 0)  # on booleans: 3x faster than on the IDs
            ids, length = lines.reshape(-1)[at], None
        # Every partial sum below is an integer under 2**53, so the float64 sums are exact
        # whatever the order of addition; the background (slot 0) is never read.
        ids = ids.astype(np.intp, copy=False)
        line = at // lines.shape[1]
        x0 = at - line * lines.shape[1]
        if ndim == 2:
            lead = [start + line]
        else:
            plane = line // labels.shape[1]
            lead = [start + plane, line - plane * labels.shape[1]]
        if length is None:  # single voxels
            x1, x_sum = x0, x0
            counts += np.bincount(ids, minlength=n_slots)
        else:
            x1 = x0 + length - 1
            x_sum = (x0 + x1) * length // 2  # x0 + (x0 + 1) + ... + x1
            counts += np.bincount(ids, weights=length, minlength=n_slots).astype(np.int64)
        for axis, coords in enumerate(lead):
            weights = coords if length is None else coords * length
            sums[axis] += np.bincount(ids, weights=weights, minlength=n_slots)
        sums[-1] += np.bincount(ids, weights=x_sum, minlength=n_slots)
        if boxes:
            for axis, (low, high) in enumerate([*zip(lead, lead), (x0, x1)]):
                np.minimum.at(first[axis], ids, low)
                np.maximum.at(last[axis], ids, high)
    return counts, sums, (first, last) if boxes else None


def _object_runs(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of one non-zero ID along each line (row) of ``lines`` ``(L, X)``: their IDs,
    first voxels (flat offsets into ``lines``) and lengths. A segmented mask has far fewer
    runs than voxels: 280,000 for the 3.2 M object voxels of 20,000 discs on 4096 x 4096,
    whose table took 0.30x the time of voxel by voxel (0.11x on a mask covered by objects)."""
    new = np.empty(lines.shape, bool)
    new[:, 0] = True  # a run never continues onto the next line
    np.not_equal(lines[:, 1:], lines[:, :-1], out=new[:, 1:])
    at = np.flatnonzero(new)
    stop = np.empty_like(at)
    stop[:-1] = at[1:]
    stop[-1:] = lines.size
    ids = lines.reshape(-1)[at]
    objects = ids != 0
    return ids[objects], at[objects], (stop - at)[objects]


def _empty_table(ndim: int) -> ObjectTable:
    empty = np.zeros((0, ndim), np.int64)
    no_ids = np.zeros(0, np.int64)
    return ObjectTable(no_ids, no_ids.copy(), empty.astype(np.float64), empty, empty.copy())


def _table_of(
    index: LabelIndex, counts: np.ndarray, sums: np.ndarray, boxes: tuple | None
) -> ObjectTable:
    """The table of ``index``'s objects (at least one) from their voxel counts, coordinate
    sums and (if measured) bounding boxes."""
    ids, labels = index.ids, index.image
    ndim = labels.ndim
    slot_rows = index.slots
    size = counts[slot_rows]
    centroid = (sums[:, slot_rows] / size).T
    if boxes is not None:
        first, last = boxes
        return ObjectTable(ids, size.astype(np.int64), centroid,
                           np.ascontiguousarray(first[:, slot_rows].T),
                           np.ascontiguousarray(last[:, slot_rows].T + 1))  # fmt: skip
    from scipy import ndimage  # here: importing it costs a command 0.2-0.3 s

    slices = ndimage.find_objects(labels)
    n = slot_rows.size
    found = [slices[int(s) - 1] for s in slot_rows]
    bbox_start = np.fromiter((sl.start for box in found for sl in box), np.int64, n * ndim)
    bbox_stop = np.fromiter((sl.stop for box in found for sl in box), np.int64, n * ndim)
    bbox_start, bbox_stop = bbox_start.reshape(n, ndim), bbox_stop.reshape(n, ndim)
    return ObjectTable(ids, size.astype(np.int64), centroid, bbox_start, bbox_stop)
