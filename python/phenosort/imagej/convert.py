"""ImageJ 1 ImagePlus <-> numpy with axes and calibration, through JPype array buffers.

The rules are the plugin's (``TensorCodec``), so an image means the same on both sides:

- ImageJ -> numpy: 8-bit -> uint8, 16-bit -> uint16, 32-bit -> float32, RGB -> uint8 with a
  trailing ``C`` of 3. Axes are the non-singleton ones of ``TZCYX`` (RGB: ``TZYXC``), e.g.
  ``YX``, ``ZYX``, ``CYX``, ``ZCYX``. Label images (:func:`labels_from_imageplus`): 8/16-bit
  as they are; 32-bit float (ImageJ's only way above 65535) -> uint32, exact up to 2^24.
- numpy -> ImageJ: uint8, uint16 and float32 as they are; bool -> 8-bit 0/1; float64 ->
  32-bit; other integers -> 16-bit when all values fit 0..65535, else 32-bit float when all
  are exact there (|v| <= 2^24), else an error. Values are never rescaled or relabelled.
- Calibration: ``voxel_size`` is ``(y, x)`` or, with a Z axis, ``(z, y, x)``; None when the
  image is uncalibrated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from .jvm import jclass

MAX_FLOAT_LABEL = 1 << 24  # largest integer below which float32 holds every integer
_AXES = "TZCYX"


@dataclass(frozen=True)
class ImageArray:
    """A numpy image with its axes (e.g. ``"ZCYX"``), voxel size ((z,) y, x) and unit."""

    array: np.ndarray
    axes: str
    voxel_size: tuple[float, ...] | None = None
    unit: str | None = None
    title: str = ""


def _is_imageplus(obj) -> bool:
    try:
        return isinstance(obj, jclass("ij.ImagePlus"))
    except Exception:
        return False


def _plane(pixels, dtype: np.dtype) -> np.ndarray:
    """A view of a Java primitive array (no copy) with ImageJ's unsigned meaning."""
    raw = np.asarray(pixels)
    if dtype == np.uint8 and raw.dtype == np.int32:  # RGB int[]: bytes B, G, R, A (little-endian)
        return raw.view(np.uint8).reshape(-1, 4)[:, 2::-1]
    return raw.view(dtype)


def from_imageplus(imp) -> ImageArray:
    """The pixels of an ImagePlus as numpy (one copy), axes and calibration; see module doc."""
    if not _is_imageplus(imp):
        raise InvalidInputError(f"expected an ij.ImagePlus, got {type(imp).__name__}")
    kind = int(imp.getType())
    ImagePlus = jclass("ij.ImagePlus")
    dtypes = {
        int(ImagePlus.GRAY8): np.uint8,
        int(ImagePlus.GRAY16): np.uint16,
        int(ImagePlus.GRAY32): np.float32,
        int(ImagePlus.COLOR_RGB): np.uint8,
    }
    if kind not in dtypes:
        raise InvalidInputError(
            f"image '{imp.getTitle()}' is 8-bit colour (indexed); convert it to RGB first"
        )
    dtype = np.dtype(dtypes[kind])
    rgb = kind == int(ImagePlus.COLOR_RGB)
    w, h = int(imp.getWidth()), int(imp.getHeight())
    nc, nz, nt = int(imp.getNChannels()), int(imp.getNSlices()), int(imp.getNFrames())
    if nc * nz * nt != int(imp.getStackSize()):  # e.g. a stack whose dimensions were not set
        nc, nz, nt = 1, int(imp.getStackSize()), 1
    out = np.empty((nt, nz, nc, h, w, 3) if rgb else (nt, nz, nc, h, w), dtype)
    stack = imp.getStack()
    for t in range(nt):
        for z in range(nz):
            for c in range(nc):
                index = t * nz * nc + z * nc + c + 1  # ImageJ's czt order, 1-based
                pixels = stack.getProcessor(index).getPixels()
                out[t, z, c] = _plane(pixels, dtype).reshape(out.shape[3:])
    keep = [i for i, n in enumerate((nt, nz, nc)) if n > 1]
    axes = "".join(_AXES[i] for i in keep) + "YX" + ("C" if rgb else "")
    drop = tuple(i for i in range(3) if i not in keep)
    return ImageArray(out.squeeze(axis=drop), axes, *calibration_of(imp), title=str(imp.getTitle()))


def calibration_of(imp) -> tuple[tuple[float, ...] | None, str | None]:
    """``(voxel_size, unit)`` of an ImagePlus; ``(None, None)`` when uncalibrated."""
    cal = imp.getCalibration()
    if cal is None or not cal.scaled():
        return None, None
    yx = (float(cal.pixelHeight), float(cal.pixelWidth))
    size = (float(cal.pixelDepth), *yx) if int(imp.getNSlices()) > 1 else yx
    return size, str(cal.getUnit())


def labels_from_imageplus(imp) -> np.ndarray:
    """An instance label image as uint8/uint16, or uint32 from 32-bit float (exact to 2^24).

    Raises :class:`InvalidInputError` for colour, several channels, or float values that are
    negative, fractional or above 2^24 (the message names the first such pixel).
    """
    data = from_imageplus(imp)
    if "C" in data.axes:
        raise InvalidInputError(
            f"label image '{data.title}' has channels ({data.axes}); it must be one grey image"
        )
    a = data.array
    if a.dtype != np.float32:
        return a
    bad = ~((a >= 0) & (a <= MAX_FLOAT_LABEL) & (a == np.floor(a)))  # NaN counts as bad
    if bad.any():
        where = np.unravel_index(int(np.argmax(bad)), a.shape)
        pos = ", ".join(f"{ax.lower()}={i}" for ax, i in zip(data.axes, where, strict=True))
        raise InvalidInputError(
            f"label image '{data.title}' has the value {float(a[where]):g} at {pos}: "
            f"labels must be integers in 0..2^24 (= {MAX_FLOAT_LABEL}, exact in 32-bit float)"
        )
    return a.astype(np.uint32)


def _imagej_dtype(array: np.ndarray, what: str) -> np.ndarray:
    """``array`` in a type ImageJ 1 has (see module doc), values unchanged."""
    a = np.asarray(array)
    if a.dtype in (np.uint8, np.uint16, np.float32):
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8)
    if a.dtype == np.float64:
        return a.astype(np.float32)
    if a.dtype.kind not in "ui":
        raise InvalidInputError(f"{what} has dtype {a.dtype}; ImageJ takes integers or floats")
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if 0 <= lo and hi <= 0xFFFF:
        return a.astype(np.uint16)
    if -MAX_FLOAT_LABEL <= lo and hi <= MAX_FLOAT_LABEL:
        return a.astype(np.float32)
    raise InvalidInputError(
        f"{what} ({a.dtype}) holds values in {lo}..{hi}: ImageJ 1 has no 32-bit integers and "
        f"32-bit float is exact only within ±2^24 ({MAX_FLOAT_LABEL})"
    )


def _processor(plane: np.ndarray, rgb: bool):
    import jpype

    h, w = plane.shape[:2]
    if rgb:
        argb = (
            0xFF000000
            | plane[..., 0].astype(np.uint32) << 16
            | plane[..., 1].astype(np.uint32) << 8
            | plane[..., 2].astype(np.uint32)
        )
        pixels = jpype.JArray(jpype.JInt)(argb.view(np.int32).ravel())
        return jclass("ij.process.ColorProcessor")(w, h, pixels)
    flat = np.ascontiguousarray(plane).ravel()
    if plane.dtype == np.uint8:
        return jclass("ij.process.ByteProcessor")(
            w, h, jpype.JArray(jpype.JByte)(flat.view(np.int8))
        )
    if plane.dtype == np.uint16:
        pixels = jpype.JArray(jpype.JShort)(flat.view(np.int16))
        return jclass("ij.process.ShortProcessor")(w, h, pixels, None)
    return jclass("ij.process.FloatProcessor")(w, h, jpype.JArray(jpype.JFloat)(flat))


def to_imageplus(
    array: np.ndarray,
    axes: str,
    *,
    title: str = "image",
    voxel_size: Sequence[float] | None = None,
    unit: str | None = None,
    rgb: bool | None = None,
):
    """An ImagePlus (hyperstack when it has C or T) from a numpy image; see module doc.

    ``axes`` names every axis of ``array`` (any order of T, Z, C, Y, X). ``rgb``: a uint8
    image with a C axis of 3 becomes an RGB image (default: when C is the last axis, as the
    plugin's codec reads it). ``voxel_size`` is ``(y, x)`` or ``(z, y, x)`` in ``unit``.
    """
    axes = axes.upper()
    a = np.asarray(array)
    if len(axes) != a.ndim or len(set(axes)) != len(axes) or set(axes) - set(_AXES):
        raise InvalidInputError(
            f"axes {axes!r} do not name the {a.ndim} axes of an array of shape {a.shape} "
            f"(use each of {_AXES} at most once)"
        )
    if "Y" not in axes or "X" not in axes:
        raise InvalidInputError(f"axes {axes!r} lack Y or X")
    a = _imagej_dtype(a, f"image '{title}'")
    nchan = a.shape[axes.index("C")] if "C" in axes else 1
    if rgb is None:
        rgb = axes.endswith("C") and nchan == 3 and a.dtype == np.uint8
    if rgb and (nchan != 3 or a.dtype != np.uint8):
        raise InvalidInputError(
            f"an RGB image needs uint8 and 3 channels, got {a.dtype}, C={nchan}"
        )
    for ax in _AXES:  # to T, Z, C, Y, X with singleton axes added
        if ax not in axes:
            a, axes = a[np.newaxis], ax + axes
    a = np.transpose(a, [axes.index(ax) for ax in _AXES])
    if rgb:
        a = np.moveaxis(a, 2, -1)[:, :, np.newaxis]  # (T, Z, 1, Y, X, 3)
    nt, nz, nc, h, w = a.shape[:5]
    stack = jclass("ij.ImageStack")(w, h)
    for t in range(nt):
        for z in range(nz):
            for c in range(nc):
                stack.addSlice("", _processor(a[t, z, c], rgb))
    imp = jclass("ij.ImagePlus")(title, stack)
    imp.setDimensions(nc, nz, nt)
    if nc > 1 or nt > 1:
        imp.setOpenAsHyperStack(True)
    set_calibration(imp, voxel_size, unit)
    return imp


def set_calibration(imp, voxel_size: Sequence[float] | None, unit: str | None = None) -> None:
    """Pixel width/height (and depth) from ``(y, x)`` or ``(z, y, x)``; None leaves it."""
    if voxel_size is None or len(voxel_size) == 0:
        return
    if len(voxel_size) not in (2, 3):
        raise InvalidInputError(f"voxel_size {tuple(voxel_size)} must be (y, x) or (z, y, x)")
    cal = imp.getCalibration()
    cal.pixelHeight, cal.pixelWidth = float(voxel_size[-2]), float(voxel_size[-1])
    if len(voxel_size) == 3:
        cal.pixelDepth = float(voxel_size[0])
    if unit:
        cal.setUnit(unit)


def labels_to_imageplus(labels: np.ndarray, axes: str | None = None, *, title: str = "labels"):
    """An instance label image for ImageJ: 16-bit up to 65535, 32-bit float up to 2^24.

    IDs are kept as they are (never relabelled); larger IDs are an error naming the value.
    """
    a = np.asarray(labels)
    if a.dtype.kind not in "uib":
        raise InvalidInputError(f"labels must be integers, got {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) > MAX_FLOAT_LABEL):
        raise InvalidInputError(
            f"labels '{title}' hold IDs in {int(a.min())}..{int(a.max())}: ImageJ keeps IDs "
            f"exactly only in 0..2^24 ({MAX_FLOAT_LABEL}, as 32-bit float)"
        )
    axes = axes or ("ZYX" if a.ndim == 3 else "YX")
    if a.dtype != np.uint8:
        a = _imagej_dtype(a.astype(np.int64), f"labels '{title}'")
    return to_imageplus(a, axes, title=title, rgb=False)
