"""Fixed-size patches around objects, built for a whole batch with array operations.

A patch holds the image channels (normalised) plus one channel that is the object's binary
mask. Each object's bounding box is centred in its patch. Gathering uses one fancy-indexing
call per batch, so there is no per-object Python work; the image is never padded or copied.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from ..errors import InvalidInputError
from .normalize import Normalization
from .table import ObjectTable

PADDING_MODES = ("constant", "reflect", "edge")


@dataclass(frozen=True)
class PatchSpec:
    """Patch geometry and content; stored in the model file.

    Attributes
    ----------
    shape : tuple of int
        Patch size in voxels per spatial axis, ``([Z,] Y, X)``.
    padding : str
        Values outside the image: ``constant`` (0 after normalisation), ``reflect`` or ``edge``.
    context_radius : float or None
        None keeps the surroundings; r multiplies the image by the object mask dilated by r
        pixels (in-plane; Z scaled by the voxel anisotropy), suppressing neighbours.
    """

    shape: tuple[int, ...]
    padding: str = "constant"
    context_radius: float | None = None

    def __post_init__(self) -> None:
        if len(self.shape) not in (2, 3) or any(int(s) < 1 for s in self.shape):
            raise InvalidInputError(
                f"patch shape {self.shape} must be 2 or 3 positive sizes ([Z,] Y, X)"
            )
        if self.padding not in PADDING_MODES:
            raise InvalidInputError(
                f"padding {self.padding!r} is unknown; use one of {', '.join(PADDING_MODES)}"
            )
        if self.context_radius is not None and self.context_radius < 0:
            raise InvalidInputError(f"context_radius must be >= 0, got {self.context_radius}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PatchSpec:
        data = dict(data)
        data["shape"] = tuple(int(s) for s in data["shape"])
        return cls(**data)


def patch_shape_for(size: int, voxel_size: tuple[float, ...] | None, ndim: int) -> tuple:
    """Patch shape of in-plane edge ``size``; in 3D the Z extent covers the same physical
    length, so an anisotropic stack gets fewer planes (at least 1)."""
    if ndim == 2:
        return (int(size), int(size))
    vz, vy, vx = voxel_size or (1.0, 1.0, 1.0)
    planes = max(1, int(round(size * min(vy, vx) / vz)))
    return (planes, int(size), int(size))


def estimate_patch_size(
    tables: list[ObjectTable],
    voxel_size: tuple[float, ...] | None = None,
    *,
    percentile: float = 90.0,
    margin: float = 1.5,
    multiple: int = 8,
    minimum: int = 16,
    maximum: int = 256,
) -> int:
    """In-plane patch edge (pixels) from object extents: a high percentile, not the maximum.

    Extents are measured in in-plane pixel units (Z converted through the voxel size), the
    ``percentile`` of the objects' largest extent is multiplied by ``margin`` and rounded up
    to a multiple of ``multiple``, within [minimum, maximum].
    """
    extents = []
    for table in tables:
        if len(table):
            ext = table.extent(voxel_size) / (min(voxel_size[-2:]) if voxel_size else 1.0)
            extents.append(ext.max(axis=1))
    if not extents:
        raise InvalidInputError("cannot estimate a patch size: the label masks hold no objects")
    edge = np.percentile(np.concatenate(extents), percentile) * margin
    edge = int(np.ceil(edge / multiple) * multiple)
    return int(min(max(edge, minimum), maximum))


def _axis_indices(start: np.ndarray, size: int, length: int, padding: str):
    """Per-object indices ``(B, size)`` along one axis and where they fall inside the image."""
    idx = start[:, None] + np.arange(size)
    valid = (idx >= 0) & (idx < length)
    if padding == "reflect" and length > 1:
        period = 2 * (length - 1)
        idx = np.abs(np.mod(idx, period))
        idx = np.where(idx >= length, period - idx, idx)
    return np.clip(idx, 0, length - 1), valid


def patch_starts(table: ObjectTable, shape: tuple[int, ...]) -> np.ndarray:
    """Top-left corner ``(B, ndim)`` of each object's patch (its bbox centred)."""
    return (table.bbox_start + table.bbox_stop - np.asarray(shape)) // 2


def extract_patches(
    image_cf: np.ndarray,
    labels: np.ndarray,
    table: ObjectTable,
    spec: PatchSpec,
    normalization: Normalization,
    image_range=None,
    voxel_size: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Patches ``(B, C + 1, *spec.shape)`` float32 for the objects of ``table``.

    Parameters
    ----------
    image_cf : ndarray, shape (C, [Z,] Y, X)
        Channel-first image (see :func:`phenosort.axes.to_channel_first`).
    labels : ndarray
        Instance mask of the image's spatial shape.
    table : ObjectTable
        Rows of the objects to cut (typically a batch of a larger table).
    image_range : tuple or None
        Per-channel (low, high) from ``normalization.image_range(image_cf)``; computed once
        per image by the caller so batches do not recompute it.
    """
    shape = tuple(spec.shape)
    ndim = labels.ndim
    if len(shape) != ndim:
        raise InvalidInputError(
            f"patch shape {shape} has {len(shape)} axes but the labels are {ndim}D"
        )
    starts = patch_starts(table, shape)
    idx, valid = [], None
    for axis in range(ndim):
        i, v = _axis_indices(starts[:, axis], shape[axis], labels.shape[axis], spec.padding)
        expand = (slice(None),) + tuple(
            slice(None) if a == axis else np.newaxis for a in range(ndim)
        )
        idx.append(i[expand])
        v = v[expand]
        valid = v if valid is None else valid & v
    idx = tuple(idx)

    n = len(table)
    out = np.empty((n, image_cf.shape[0] + 1) + shape, np.float32)
    # (C, B, *shape) gathered in one call, then moved to (B, C, *shape)
    out[:, :-1] = np.moveaxis(np.asarray(image_cf[(slice(None),) + idx]), 0, 1)
    normalization.apply(out[:, :-1], image_range)
    mask = (labels[idx] == table.label_id.reshape((-1,) + (1,) * ndim)) & valid
    if spec.padding == "constant":
        out[:, :-1] *= valid[:, np.newaxis]
    if spec.context_radius is not None:
        keep = dilate_masks(mask, spec.context_radius, voxel_size)
        out[:, :-1] *= keep[:, np.newaxis]
    out[:, -1] = mask
    return out


def dilate_masks(
    masks: np.ndarray, radius: float, voxel_size: tuple[float, ...] | None = None
) -> np.ndarray:
    """Dilate a batch of binary masks ``(B, ...)`` by ``radius`` in-plane pixels each."""
    if radius <= 0:
        return masks
    spatial = masks.ndim - 1
    scale = np.ones(spatial)
    if voxel_size is not None:
        scale = np.asarray(voxel_size, float) / min(voxel_size[-2:])
    r = np.maximum(np.floor(radius / scale), 0).astype(int)
    grids = np.ogrid[tuple(slice(-k, k + 1) for k in r)]
    ball = sum((g * s / radius) ** 2 for g, s in zip(grids, scale)) <= 1.0 + 1e-9
    return ndimage.binary_dilation(masks, structure=ball[np.newaxis])
