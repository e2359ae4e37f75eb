"""Axis handling: any supported axes string -> channel-first arrays ``(C, [Z,] Y, X)``.

phenosort works internally on channel-first images with 2 or 3 spatial axes. Views are
returned whenever possible so a huge image is never copied just to reorder its axes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .errors import InvalidInputError

SUPPORTED_AXES = ("YX", "YXC", "CYX", "ZYX", "ZCYX", "CZYX", "ZYXC")
_INTENSITY_KINDS = "uifb"
_LABEL_KINDS = "ui"
MAX_LABEL_ID = 2**32 - 1
MAX_PIXEL = 1e38  # float pixels beyond it would overflow float32 arithmetic


def normalize_axes(axes: str) -> str:
    """Upper-case an axes string; ``S`` (tifffile's RGB samples) means ``C``."""
    return axes.upper().replace("S", "C")


def spatial_axes(axes: str) -> str:
    """The spatial part of an axes string, e.g. ``"ZCYX" -> "ZYX"``."""
    return normalize_axes(axes).replace("C", "")


def to_channel_first(image: np.ndarray, axes: str, *, finite: bool = True) -> np.ndarray:
    """Return ``image`` as ``(C, Y, X)`` or ``(C, Z, Y, X)`` (a view when possible).

    Parameters
    ----------
    image : ndarray
        Pixels of any integer, float or bool dtype; float pixels must be finite.
    axes : str
        One of :data:`SUPPORTED_AXES` (``S`` is accepted for ``C``).
    finite : bool
        Check that float pixels are finite (see :func:`check_finite`); False only where
        the image was checked before.
    """
    image = np.asarray(image)
    ax = normalize_axes(axes)
    if ax not in SUPPORTED_AXES:
        raise InvalidInputError(
            f"image axes {axes!r} are not supported; use one of {', '.join(SUPPORTED_AXES)}"
        )
    if image.ndim != len(ax):
        raise InvalidInputError(
            f"image has {image.ndim} dimensions {image.shape} but axes {axes!r} name {len(ax)}"
        )
    if image.dtype.kind not in _INTENSITY_KINDS:
        raise InvalidInputError(
            f"image dtype {image.dtype} is not supported; expected an integer, float or bool type"
        )
    if image.size == 0:
        raise InvalidInputError(f"image is empty (shape {image.shape})")
    if finite:
        check_finite(image)
    if "C" not in ax:
        return image[np.newaxis]
    target = "C" + ax.replace("C", "")
    return np.moveaxis(image, ax.index("C"), 0) if ax != target else image


def check_finite(image: np.ndarray, what: str = "image") -> None:
    """Refuse NaN, infinite and out-of-range (|x| > 1e38) float pixels, naming how many.

    One NaN pixel makes the percentile range and every patch that touches it NaN, and the
    network then answers NaN probabilities (every object in class 1): an error is the only
    honest answer. Read in blocks, so a memory-mapped image is never copied whole.
    """
    if image.dtype.kind != "f":
        return

    # the engine computes in float32, and normalisation subtracts the low percentile: any
    # |value| up to MAX_PIXEL keeps every difference finite in float32
    def count(block: np.ndarray) -> int:
        if block.dtype.itemsize < 4:  # float16 cannot hold MAX_PIXEL: finite is enough
            return int(np.count_nonzero(~np.isfinite(block)))
        return int(np.count_nonzero(~(np.abs(block) <= MAX_PIXEL)))

    bad = sum(count(b) for b in c_order_blocks(image))
    if bad:
        raise InvalidInputError(
            f"{what} has {bad} NaN, infinite or out-of-range pixel value(s) of {image.size} "
            f"(float pixels must be finite and within +-{MAX_PIXEL:g}); replace them first "
            "(e.g. numpy.nan_to_num)"
        )


def check_labels(labels: np.ndarray, spatial_shape: tuple[int, ...]) -> np.ndarray:
    """Validate an instance label mask against the image's spatial shape; never modifies it."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in _LABEL_KINDS:
        raise InvalidInputError(
            f"labels dtype {labels.dtype} is not an integer type; an instance label mask "
            "holds integer object IDs (0 = background)"
        )
    if labels.shape != tuple(spatial_shape):
        raise InvalidInputError(
            f"labels shape {labels.shape} does not match the image's spatial shape "
            f"{tuple(spatial_shape)}"
        )
    if labels.dtype.kind == "i" and labels.size and labels.min() < 0:
        raise InvalidInputError("labels contain negative IDs; object IDs must be >= 0")
    if labels.dtype.itemsize > 4 and labels.size and labels.max() > MAX_LABEL_ID:
        raise InvalidInputError(f"labels contain IDs above {MAX_LABEL_ID} (2^32-1)")
    return labels


def check_voxel_size(voxel_size: Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    """Return a validated voxel size of ``ndim`` positive floats (1.0 each when ``None``)."""
    if voxel_size is None:
        return (1.0,) * ndim
    vs = tuple(float(v) for v in voxel_size)
    if len(vs) != ndim or not all(np.isfinite(v) and v > 0 for v in vs):
        raise InvalidInputError(
            f"voxel_size {voxel_size!r} must be {ndim} positive numbers "
            f"({'z, y, x' if ndim == 3 else 'y, x'})"
        )
    return vs


def c_order_blocks(array: np.ndarray, max_bytes: int = 16 << 20) -> Iterator[np.ndarray]:
    """``array``'s C-order bytes as contiguous blocks of at most ~``max_bytes`` (one row
    may exceed it): hashing them gives the digest of the whole array without a full copy
    of a channel-first view or a memory map."""
    if array.ndim <= 1 or array.nbytes <= max_bytes:
        yield np.ascontiguousarray(array)
        return
    step = max_bytes // max(array[0].nbytes, 1)
    if step == 0:
        for sub in array:
            yield from c_order_blocks(sub, max_bytes)
        return
    for start in range(0, array.shape[0], step):
        yield np.ascontiguousarray(array[start : start + step])
