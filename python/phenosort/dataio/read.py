"""Reading an image with its axes and calibration, or an instance label mask, from a file; and
resolving the image's axes against the mask's shape."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from ..axes import MAX_LABEL_ID, SUPPORTED_AXES, normalize_axes
from ..cpu_share import cpu_share
from ..errors import InvalidInputError
from .calibration import Calibration, tiff_calibration
from .file_names import is_tiff


@dataclass(frozen=True)
class ImageData:
    """Pixels with their axes and calibration.

    ``axes`` is one of :data:`~phenosort.axes.SUPPORTED_AXES` once resolved by :func:`load_pair`;
    from :func:`read_image` it may still hold letters only the mask can resolve (``Q``, ``I``),
    and ``voxel_size`` is then ``(z, y, x)``. Otherwise ``voxel_size`` is ``(y, x)`` or
    ``(z, y, x)`` in ``unit`` (``"um"`` for micrometres), or ``None`` without calibration.
    """

    array: np.ndarray
    axes: str
    voxel_size: tuple[float, ...] | None
    path: Path | None
    unit: str | None = None


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: file not found")
    return path


#: Smaller images decode (and encode) on one thread: PanNuke's 256 x 256 RGB files (one
#: strip) took 0.75 ms each alone and 1.2 ms with tifffile's thread pool started for them.
THREADED_DECODE_BYTES = 4 * 2**20


def codec_threads(nbytes: int) -> int:
    """Threads that decode (or encode) a compressed TIFF of ``nbytes`` (decoded): for a
    large one this process's share of the cores, which torch's thread count says once torch
    is loaded (a cluster's workers set it per process), else every core; tifffile's own
    default is half the cores, one on 2. A small one: 1."""
    return 1 if nbytes < THREADED_DECODE_BYTES else cpu_share()


def _read_tiff(path: Path) -> tuple[np.ndarray, str, Calibration]:
    try:
        # an open file, not a name, which tifffile would first resolve link by link
        # (realpath): PanNuke's linked 256 x 256 tiles read in 0.88-0.92x the time
        with open(path, "rb") as fh, tifffile.TiffFile(fh) as tif:
            series, page = tif.series[0], tif.series[0].keyframe
            array = series.asarray(maxworkers=codec_threads(series.nbytes))
            axes, calibration = series.axes, tiff_calibration(tif)
            described = tif.is_imagej or tif.is_ome
    except (tifffile.TiffFileError, OSError, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a readable TIFF file ({exc})") from None
    if "S" in axes and page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and not described:
        # Plain tifffile stores any (3|4, Y, X) array as planar RGB(A): planes, not colours.
        axes = axes.replace("S", "Q")
    elif "S" in axes and page.extrasamples and array.dtype == np.uint8:
        array = np.take(array, range(3), axis=axes.index("S"))  # drop the alpha of RGBA
    return array, axes, calibration


def _tidy_axes(path: Path, array: np.ndarray, axes: str) -> tuple[np.ndarray, str]:
    """Reject time series, squeeze singleton non-YX axes, rename ``S`` to ``C``."""
    if "T" in axes and array.shape[axes.index("T")] > 1:
        raise InvalidInputError(
            f"{path}: time series with {array.shape[axes.index('T')]} frames (axes {axes}, "
            f"shape {array.shape}); expected one time point: split it into one file per frame"
        )
    keep = [i for i, a in enumerate(axes) if a in "YX" or array.shape[i] > 1]
    array = array.reshape([array.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    if "S" in axes and "C" in axes:
        raise InvalidInputError(f"{path}: expected channels or RGB, got both (axes {axes})")
    return array, axes.replace("S", "C")


def _imread(path: Path) -> np.ndarray:
    from skimage import io  # here: skimage.io is slow to import

    try:
        return np.asarray(io.imread(path))
    except Exception as exc:  # imageio raises many types for a bad file
        raise InvalidInputError(f"{path}: cannot read the image ({exc})") from None


def read_image(path: str | os.PathLike) -> ImageData:
    """Read an image file with its axes and calibration.

    Parameters
    ----------
    path : str or path-like
        A TIFF (ImageJ hyperstack, OME-TIFF or plain) or a file scikit-image reads (PNG,
        JPEG, BMP: grey -> ``"YX"``, RGB/RGBA -> ``"YXC"``; alpha is dropped).

    Returns
    -------
    ImageData
        With singleton axes squeezed; see :class:`ImageData` for unresolved axes.

    Raises
    ------
    InvalidInputError
        If the file is missing or unreadable, or is a time series (T > 1).
    """
    path = _existing(path)
    voxel: tuple[float, ...] | None = None
    unit = None
    if is_tiff(path):
        array, axes, (voxel, unit) = _read_tiff(path)
    else:
        array = _imread(path)
        if array.ndim == 3 and array.shape[-1] in (2, 3, 4):  # grey+alpha, RGB, RGBA
            array = array[..., :3] if array.shape[-1] > 2 else array[..., 0]
        axes = "YXC" if array.ndim == 3 and array.shape[-1] == 3 else "Q" * (array.ndim - 2) + "YX"
    array, axes = _tidy_axes(path, array, axes)
    if voxel is not None and set(axes) <= set("CYX"):  # no Z (nor an unresolved axis)
        voxel = voxel[1:]
    return ImageData(array, axes, voxel, path, unit if voxel is not None else None)


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read an instance label mask (0 = background), 2D ``(Y, X)`` or 3D ``(Z, Y, X)``.

    Integer masks come back as stored, never relabelled; singleton axes are squeezed. A float
    mask (ImageJ saves 32-bit float above 65535 objects) is accepted when every value is an
    integer in ``0..2**32-1``, and returned as ``uint32``.

    Raises
    ------
    InvalidInputError
        If the file is missing, JPEG (lossy), colour, not 2D/3D, or holds non-integer IDs.
    """
    path = _existing(path)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        raise InvalidInputError(f"{path}: JPEG is lossy and alters label IDs; expected TIFF/PNG")
    if is_tiff(path):
        labels, axes, _ = _read_tiff(path)
    else:
        labels = _imread(path)
        colour = labels.ndim == 3 and labels.shape[-1] in (2, 3, 4)
        axes = "YXS" if colour else "Q" * (labels.ndim - 2) + "YX"
    colour = "S" in axes or ("C" in axes and labels.shape[axes.index("C")] > 1)
    labels = np.squeeze(labels) if labels.ndim > 2 else labels
    if colour or labels.ndim not in (2, 3):
        raise InvalidInputError(
            f"{path}: expected a single-channel 2D (Y, X) or 3D (Z, Y, X) label mask, got "
            f"shape {labels.shape} (axes {axes})"
        )
    if labels.dtype.kind == "f":
        integral = np.isfinite(labels).all() and (labels == np.floor(labels)).all()
        if not (integral and (labels >= 0).all() and (labels <= MAX_LABEL_ID).all()):
            raise InvalidInputError(
                f"{path}: expected integer object IDs 0..{MAX_LABEL_ID} in a float mask, got "
                f"other values (range {np.nanmin(labels)}..{np.nanmax(labels)})"
            )
        labels = labels.astype(np.uint32)
    elif labels.dtype.kind not in "ui":
        raise InvalidInputError(f"{path}: expected integer object IDs, got dtype {labels.dtype}")
    return labels


def match_axes(image: np.ndarray, axes: str, labels_shape: Sequence[int]) -> str:
    """Resolve the axes of ``image`` against the mask's spatial shape.

    Supported axes are checked and returned. Otherwise (e.g. tifffile's ``"QYX"``) the image
    is spatial when it has the mask's shape (``"YX"``, ``"ZYX"``), or has one channel axis
    whose removal gives the mask's shape: ``(3, 64, 64)`` vs ``(64, 64)`` -> ``"CYX"``.

    Raises
    ------
    InvalidInputError
        If the shapes do not fit together, or the channel axis is ambiguous.
    """
    shape, lshape = tuple(image.shape), tuple(int(s) for s in labels_shape)
    ax = normalize_axes(axes)
    mismatch = f"image shape {shape} (axes {axes!r}) does not fit the mask shape {lshape}"
    if len(lshape) not in (2, 3):
        raise InvalidInputError(f"expected a 2D or 3D mask shape, got {lshape}")
    if ax in SUPPORTED_AXES and len(ax) == len(shape):
        if tuple(s for a, s in zip(ax, shape) if a != "C") != lshape:
            raise InvalidInputError(mismatch)
        return ax
    spatial = "ZYX"[-len(lshape) :]
    if shape == lshape:
        return spatial
    found = [  # the axis orders with one C whose removal leaves the mask's shape
        c
        for i in range(len(shape))
        if shape[:i] + shape[i + 1 :] == lshape
        and (c := spatial[:i] + "C" + spatial[i:]) in SUPPORTED_AXES
    ]
    hinted = [c for c in found if "C" in ax and ax.index("C") == c.index("C")]  # a known C
    if len(hinted) == 1 or len(found) == 1:
        return (hinted or found)[0]
    raise InvalidInputError(
        mismatch + (f": the channel axis is ambiguous {found}" if found else "")
    )
