"""Class maps, instance label images and float maps written as ImageJ TIFFs, with their
calibration; a failed write leaves no broken file."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tifffile

from ..axes import check_voxel_size
from ..errors import InvalidInputError
from .calibration import normalize_unit
from .file_names import is_tiff
from .glasbey import glasbey_lut
from .read import codec_threads

#: Images from this size are written compressed, which ImageJ reads: 8-bit ones (class maps)
#: with PackBits, others with zlib level 1 (libdeflate), on the process's share of the cores.
#: Outputs are mostly background: for 20,000 discs on 4096 x 4096 the class map took 1.2 MB
#: instead of 16.8, a class mask 0.8 instead of 33.6, a confidence map 1.8 instead of 67.1.
#: Where fresh page-cache pages are dear (a VM) that is also faster: 0.02-0.04 s against
#: 0.04-0.21 s for the class map in the run, 0.07 against 0.45 s for a class mask
#: (docs/benchmarks.md, issue 15). A small image is faster left as it is (256 x 256 class
#: map: 0.94 against 0.60 ms).
COMPRESS_BYTES = 1 << 20

# the name the module had before dataio became a package: log lines keep their logger name
logger = logging.getLogger("phenosort.dataio")

_MAX_FLOAT32_INT = 2**24  # float32 holds every integer up to here exactly


def _check_output(path: str | os.PathLike, data: np.ndarray, overwrite: bool) -> Path:
    path = Path(path)
    if not is_tiff(path):
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
    """Write through a temporary file, so that a failed write leaves no broken file; from
    ``COMPRESS_BYTES``, compressed (PackBits for 8 bits, else zlib)."""
    metadata = {"axes": "ZYX" if data.ndim == 3 else "YX", **kwargs.pop("metadata", {})}
    if voxel_size is not None:
        vs = check_voxel_size(voxel_size, data.ndim)
        metadata["unit"] = normalize_unit(unit) or "pixel"
        if not metadata["unit"].isascii():
            raise InvalidInputError(f"{path}: expected an ASCII unit such as 'um', got {unit!r}")
        kwargs["resolution"] = (1 / vs[-1], 1 / vs[-2])
        if data.ndim == 3:
            metadata["spacing"] = vs[0]
    if data.nbytes >= COMPRESS_BYTES:
        kwargs["maxworkers"] = codec_threads(data.nbytes)
        if data.dtype == np.uint8:
            kwargs["compression"] = "packbits"  # runs of bytes; 1.4x faster than zlib here
        else:
            kwargs.update(compression="zlib", compressionargs={"level": 1})
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
    From ``COMPRESS_BYTES`` the map is compressed (mostly background: 14x smaller).
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
    ``skimage.segmentation.relabel_sequential``). From ``COMPRESS_BYTES`` the image is
    zlib-compressed. Returns the path written.
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
    origin: pixel ``i`` lies at ``(i - origin) * voxel_size`` in ``unit``. From
    ``COMPRESS_BYTES`` the image is zlib-compressed. Returns the path written.
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
