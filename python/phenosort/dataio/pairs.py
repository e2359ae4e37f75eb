"""Images paired with their instance masks by file stem in a dataset's folders, and a pair
read with the image's axes resolved against its mask."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..axes import check_labels
from ..errors import InvalidInputError
from .file_names import IMAGE_EXTENSIONS, image_stem
from .read import ImageData, match_axes, read_image, read_labels


@dataclass(frozen=True)
class Pair:
    """An image file and its instance mask, matched by ``stem``."""

    stem: str
    image_path: Path
    mask_path: Path


def _image_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = image_stem(path.name)
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
