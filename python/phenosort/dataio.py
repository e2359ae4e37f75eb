"""Reading images and instance masks, pairing them on disk, and writing ImageJ-compatible results.

Images come back with tifffile's axes (``S`` -> ``C``); axes that a plain TIFF cannot state
(tifffile's ``Q``, ``I``) stay in the returned :class:`ImageData` until :func:`match_axes`
resolves them against the mask. Written TIFFs open in ImageJ/Fiji with their calibration, and a
class map shows class k in the colour of ImageJ ROI group k (see :func:`glasbey_lut`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import tifffile

from .axes import MAX_LABEL_ID, SUPPORTED_AXES, check_labels, check_voxel_size, normalize_axes
from .errors import InvalidInputError

logger = logging.getLogger(__name__)

# Longest first, so "a.ome.tif" has the stem "a" and not "a.ome".
IMAGE_EXTENSIONS = (".ome.tiff", ".ome.tif", ".tiff", ".tif", ".png", ".jpeg", ".jpg", ".bmp")
_TIFF_EXTENSIONS = (".tif", ".tiff")
_MICRO = {"micron", "microns", "µm", "μm", "\\u00b5m", "um"}
_MAX_FLOAT32_INT = 2**24  # float32 holds every integer up to here exactly


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


@dataclass(frozen=True)
class Pair:
    """An image file and its instance mask, matched by ``stem``."""

    stem: str
    image_path: Path
    mask_path: Path


_Calibration = tuple[tuple[float, float, float] | None, str | None]


def _stem(name: str) -> str | None:
    """File name without its image extension, or ``None`` if it is not an image file."""
    lower = name.lower()
    ext = next((e for e in IMAGE_EXTENSIONS if lower.endswith(e) and len(name) > len(e)), None)
    return None if ext is None else name[: -len(ext)]


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: file not found")
    return path


def _is_tiff(path: Path) -> bool:
    return path.name.lower().endswith(_TIFF_EXTENSIONS)


def _unit(unit: str | None) -> str | None:
    unit = (unit or "").strip()
    if unit.lower() in ("", "pixel", "pixels"):
        return None
    return "um" if unit.lower() in _MICRO else unit


def _ome_calibration(tif: tifffile.TiffFile) -> _Calibration:
    try:
        root = ET.fromstring(tif.ome_metadata or "")
    except ET.ParseError:
        return None, None
    pixels = next((el for el in root.iter() if el.tag.endswith("}Pixels")), None)
    if pixels is None or "PhysicalSizeX" not in pixels.attrib:
        return None, None
    x = float(pixels.attrib["PhysicalSizeX"])
    size = (float(pixels.get("PhysicalSizeZ", 1.0)), float(pixels.get("PhysicalSizeY", x)), x)
    return size, _unit(pixels.get("PhysicalSizeXUnit", "µm"))  # OME's default unit is µm


def _tiff_calibration(tif: tifffile.TiffFile) -> _Calibration:
    """``(z, y, x)`` and unit, or ``(None, None)`` when the file holds no real calibration."""
    if tif.is_ome:
        return _ome_calibration(tif)
    page = tif.pages.first
    xres, yres = page.resolution
    if xres <= 0 or yres <= 0:
        return None, None
    ij = tif.imagej_metadata or {}
    unit = _unit(ij.get("unit"))  # ImageJ: calibrated iff a unit is set; depth defaults to 1
    if unit is not None:
        return (float(ij.get("spacing", 1.0)), 1 / yres, 1 / xres), unit
    # Plain TIFF: only a physical resolution unit counts; (1, 1) and 72 dpi are writer defaults.
    um_per_unit: dict[int, float] = {
        tifffile.RESUNIT.INCH: 25400.0,
        tifffile.RESUNIT.CENTIMETER: 1e4,
        tifffile.RESUNIT.MILLIMETER: 1e3,
        tifffile.RESUNIT.MICROMETER: 1.0,
    }
    um = um_per_unit.get(page.resolutionunit)
    if um is None or (xres, yres) in ((1, 1), (72, 72)):
        return None, None
    return (1.0, um / yres, um / xres), "um"


def _read_tiff(path: Path) -> tuple[np.ndarray, str, _Calibration]:
    try:
        with tifffile.TiffFile(path) as tif:
            series, page = tif.series[0], tif.series[0].keyframe
            array, axes, calibration = series.asarray(), series.axes, _tiff_calibration(tif)
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
    if _is_tiff(path):
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
    if _is_tiff(path):
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


def _image_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = _stem(path.name)
        if path.name.startswith(".") or stem is None or not path.is_file():
            continue  # hidden files (.DS_Store, ._x.tif), notes, subfolders
        if stem in files:
            raise InvalidInputError(
                f"{folder}: expected one file per stem, got {files[stem].name} and {path.name}"
            )
        files[stem] = path
    return files


def _subdir(data_dir: Path, name: str, given: str | os.PathLike | None) -> Path:
    if given is not None:
        folder = data_dir / given  # an absolute `given` replaces data_dir
        if not folder.is_dir():
            raise InvalidInputError(f"{folder}: folder not found (expected the {name} folder)")
        return folder
    found = [p for p in data_dir.iterdir() if p.is_dir() and p.name.lower() == name]
    if len(found) != 1:
        got = ", ".join(p.name for p in found) or "none"
        raise InvalidInputError(f"{data_dir}: expected one folder {name!r} (any case), found {got}")
    return found[0]


def _listing(names: Sequence[str], limit: int = 20) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def find_pairs(
    data_dir: str | os.PathLike,
    *,
    image_dir: str | os.PathLike | None = None,
    mask_dir: str | os.PathLike | None = None,
) -> list[Pair]:
    """Pair ``data_dir/images/*`` with ``data_dir/masks/*`` by file stem, sorted by stem.

    Folder names match in any case (``Images/``, ``MASKS/``); ``image_dir``/``mask_dir``
    (relative to ``data_dir``, or absolute) replace them. A stem is the file name without
    one of :data:`IMAGE_EXTENSIONS` (in any case; ``.ome.tif`` counts as one). Stems are
    compared case-sensitively, so pairing is the same on every file system. Hidden files,
    subfolders and other files are ignored.

    Raises
    ------
    InvalidInputError
        If a folder is missing or ambiguous, two files share a stem, an image has no mask or
        a mask no image (both are naming mistakes; all such stems are listed), or no images.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InvalidInputError(f"{data_dir}: folder not found (expected images/ and masks/)")
    images_dir = _subdir(data_dir, "images", image_dir)
    masks_dir = _subdir(data_dir, "masks", mask_dir)
    images, masks = _image_files(images_dir), _image_files(masks_dir)
    problems = []
    for what, have, lack, folder in (
        ("image(s) without a mask", images, masks, masks_dir),
        ("mask(s) without an image", masks, images, images_dir),
    ):
        if alone := sorted(set(have) - set(lack)):
            lower = {s.lower() for s in lack}
            hint = " (names differ only in case)" if any(s.lower() in lower for s in alone) else ""
            problems.append(f"{len(alone)} {what} of the same stem in {folder}{hint}: ")
            problems[-1] += _listing(alone)
    if problems:
        raise InvalidInputError("; ".join(problems))
    if not images:
        raise InvalidInputError(f"{images_dir}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return [Pair(s, images[s], masks[s]) for s in sorted(images)]


def find_sample_pairs(samples_dir: str | os.PathLike) -> list[Pair]:
    """Pairs ``samples_dir/<sample>/{image.tif, labels.tif}`` (stem = sample folder name).

    ``samples_dir`` may also be the dataset folder holding ``samples/``. Sorted by stem.
    """
    root = Path(samples_dir)
    root = root / "samples" if (root / "samples").is_dir() else root
    if not root.is_dir():
        raise InvalidInputError(f"{root}: folder not found (expected <sample>/image.tif)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = ("image.tif", "labels.tif")
    if incomplete := [d.name for d in folders if not all((d / f).is_file() for f in files)]:
        raise InvalidInputError(
            f"{root}: sample folders without image.tif and labels.tif: {_listing(incomplete)}"
        )
    if not folders:
        raise InvalidInputError(f"{root}: no sample folders (<sample>/image.tif, labels.tif)")
    return [Pair(d.name, d / files[0], d / files[1]) for d in folders]


def load_pair(pair: Pair) -> tuple[ImageData, np.ndarray]:
    """Read a pair, resolve the image axes and check the mask against its spatial shape.

    A 3D image with only a Y/X calibration gets a Z voxel size of 1.0, as ImageJ assumes.
    """
    image, labels = read_image(pair.image_path), read_labels(pair.mask_path)
    try:
        axes = match_axes(image.array, image.axes, labels.shape)
        spatial = tuple(s for a, s in zip(axes, image.array.shape) if a != "C")
        check_labels(labels, spatial)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{pair.image_path} and {pair.mask_path}: {exc}") from None
    voxel = image.voxel_size  # (z, y, x) while unresolved: fit it to the spatial axes
    voxel = None if voxel is None else ((1.0,) * 3 + voxel)[-len(spatial) :]
    return replace(image, axes=axes, voxel_size=voxel), labels


@functools.cache
def _glasbey_bytes() -> bytes:
    """The LUT file, read once: every class map written needs it."""
    return resources.files("phenosort").joinpath("resources/Glasbey.lut").read_bytes()


def glasbey_lut() -> np.ndarray:
    """The ``(256, 3)`` uint8 LUT whose entry k is the colour ImageJ gives ROI group k.

    ImageJ (``ij.gui.Roi.getGroupColor``) colours group g with entry g of ``luts/Glasbey.lut``
    (Fiji's ``glasbey.lut``; ``glasbey_on_dark.lut`` is a different palette). Entry 0, white in
    that file and no group's colour, is black here so that background shows dark.
    """
    # resources/Glasbey.lut is Fiji's luts/glasbey.lut (Glasbey et al. 2007) in ImageJ's raw
    # format (256 reds, greens, blues); the Fiji plugin ships the same file.
    lut = np.frombuffer(_glasbey_bytes(), np.uint8).reshape(3, 256).T.copy()
    lut[0] = 0
    return lut


def _check_output(path: str | os.PathLike, data: np.ndarray, overwrite: bool) -> Path:
    path = Path(path)
    if not _is_tiff(path):
        raise InvalidInputError(f"{path}: expected a .tif or .tiff file name")
    if path.exists() and not overwrite:
        raise InvalidInputError(f"{path}: file exists; pass overwrite=True to replace it")
    if data.ndim not in (2, 3) or data.size == 0 or data.dtype.kind not in "uifb":
        raise InvalidInputError(
            f"{path}: expected a non-empty 2D (Y, X) or 3D (Z, Y, X) array of numbers, got "
            f"shape {data.shape}, dtype {data.dtype}"
        )
    return path


def _integers(path: Path, array: np.ndarray, what: str) -> np.ndarray:
    if array.dtype.kind not in "uib" or array.min() < 0:
        raise InvalidInputError(
            f"{path}: expected a {what} of integers >= 0, got dtype {array.dtype}, "
            f"min {array.min()}"
        )
    return array


def _write_imagej(path: Path, data: np.ndarray, voxel_size, unit: str, **kwargs) -> Path:
    """Write through a temporary file, so that a failed write leaves no broken file."""
    metadata = {"axes": "ZYX" if data.ndim == 3 else "YX", **kwargs.pop("metadata", {})}
    if voxel_size is not None:
        vs = check_voxel_size(voxel_size, data.ndim)
        metadata["unit"] = _unit(unit) or "pixel"
        if not metadata["unit"].isascii():
            raise InvalidInputError(f"{path}: expected an ASCII unit such as 'um', got {unit!r}")
        kwargs["resolution"] = (1 / vs[-1], 1 / vs[-2])
        if data.ndim == 3:
            metadata["spacing"] = vs[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tifffile.imwrite(tmp, data, imagej=True, metadata=metadata, **kwargs)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    logger.debug("wrote %s (%s %s)", path, data.dtype, data.shape)
    return path


def write_class_map(
    path: str | os.PathLike,
    class_map: np.ndarray,
    class_names: Sequence[str],
    *,
    voxel_size: Sequence[float] | None = None,
    unit: str = "um",
    overwrite: bool = False,
) -> Path:
    """Write a class map (pixel = class 1..K, 0 = background) as an ImageJ TIFF.

    8-bit (16-bit above 255 classes, shown with display range 0-255) with :func:`glasbey_lut`
    as the TIFF palette, which ImageJ applies to a single-channel image, and as ImageJ ``LUTs``
    metadata: class k has the colour of ROI group k (k <= 255). Class names go to ``Info``
    (Image > Show Info) and to the image property ``class_names`` (a JSON list).
    ``voxel_size`` ((y, x) or (z, y, x) in ``unit``) becomes resolution and Z spacing.
    Returns the path written; an existing file is replaced only with ``overwrite=True``.
    """
    class_map = np.asarray(class_map)
    path = _check_output(path, class_map, overwrite)
    names = list(class_names)
    if not 0 < len(names) <= 65535 or not all(isinstance(n, str) and n.strip() for n in names):
        raise InvalidInputError(f"{path}: expected 1-65535 non-empty class names, got {names!r}")
    if _integers(path, class_map, "class map").max() > len(names):
        raise InvalidInputError(
            f"{path}: class map holds class {class_map.max()}, but {len(names)} names came"
        )
    lut = glasbey_lut()
    info = "".join(f"{k}: {n}\n" for k, n in enumerate(["background", *names]))
    metadata = {
        "Info": "phenosort class map\n" + info,
        "LUTs": [lut.T],
        "Properties": {"class_names": json.dumps(names)},
    }
    big = len(names) > 255  # ImageJ maps 16-bit value v to LUT entry v under range 0-255
    return _write_imagej(
        path,
        class_map.astype(np.uint16 if big else np.uint8, copy=False),
        voxel_size,
        unit,
        photometric="minisblack" if big else "palette",
        colormap=lut.T.astype(np.uint16) * 257,  # TIFF palettes hold 16 bits per component
        metadata={**metadata, "min": 0, "max": 255} if big else metadata,
    )


def write_label_image(
    path: str | os.PathLike,
    labels: np.ndarray,
    *,
    voxel_size: Sequence[float] | None = None,
    unit: str = "um",
    overwrite: bool = False,
) -> Path:
    """Write instance labels as an ImageJ TIFF: uint16 up to ID 65535, else float32.

    ImageJ has no 32-bit integer images, so larger IDs go to float32, exact up to 2**24; IDs
    above that raise rather than change silently (relabel them consecutively, e.g. with
    ``skimage.segmentation.relabel_sequential``). Returns the path written.
    """
    labels = np.asarray(labels)
    path = _check_output(path, labels, overwrite)
    top = int(_integers(path, labels, "label image").max())
    if top > _MAX_FLOAT32_INT:
        raise InvalidInputError(
            f"{path}: expected label IDs <= 2^24 (exact in ImageJ's 32-bit float), got {top}; "
            "relabel consecutively (skimage.segmentation.relabel_sequential)"
        )
    data = labels.astype(np.uint16 if top <= 65535 else np.float32, copy=False)
    return _write_imagej(path, data, voxel_size, unit)


def write_float_image(
    path: str | os.PathLike,
    image: np.ndarray,
    *,
    voxel_size: Sequence[float] | None = None,
    unit: str = "um",
    display_range: tuple[float, float] | None = None,
    origin: Sequence[float] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a 2D/3D map (e.g. confidence) as a 32-bit float ImageJ TIFF.

    ``display_range`` (e.g. ``(0, 1)`` for probabilities) fixes ImageJ's display range.
    ``origin`` ((y, x) or (z, y, x), in pixels of this image) becomes ImageJ's calibration
    origin: pixel ``i`` lies at ``(i - origin) * voxel_size`` in ``unit``. Returns the path
    written.
    """
    image = np.asarray(image)
    path = _check_output(path, image, overwrite)
    metadata = {} if display_range is None else dict(zip(("min", "max"), display_range))
    if origin is not None:
        if len(origin) != image.ndim or not all(np.isfinite(origin)):
            raise InvalidInputError(
                f"{path}: expected a finite origin of {image.ndim} values, got {origin}"
            )
        metadata.update({f"{a}origin": float(o) for a, o in zip("zyx"[-image.ndim :], origin)})
    return _write_imagej(
        path, image.astype(np.float32, copy=False), voxel_size, unit, metadata=metadata
    )
