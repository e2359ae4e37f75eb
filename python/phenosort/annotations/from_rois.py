"""ImageJ ROIs (``.roi`` files, ``.zip`` ROI sets, roifile objects) -> object class annotations.

ImageJ ROI coordinates are ``x, y`` with pixel ``(row, col)`` spanning ``[col, col + 1) x
[row, row + 1)``: a point annotates the pixel ``(floor(y), floor(x))`` and an area ROI covers
the pixels whose centres ``(col + 0.5, row + 0.5)`` lie inside it (as ImageJ's masks do).

The class of a ROI, in order of precedence:

1. its ``group`` when non-zero: class index = group; a ``class`` property (below) names it;
2. its ``class`` property (``roi.setProperty("class", name)`` in ImageJ, stored as a
   ``"class: name"`` line): an integer is a class index, anything else a class name;
3. its name: ``"<class>-<digits>"`` (as written by :func:`~.to_rois.rois_for_objects`) gives
   ``<class>``, any other name is the class name itself, except names made only of digits and
   hyphens (ImageJ's automatic ``"0012-0345"`` names) and UUIDs (roifile's default names),
   which carry no class.

Class names are resolved against ``class_names``; names it lacks are appended in order of
first appearance and groups without a name are called ``"class k"``.

A ROI set saved from Fiji may hold the ROIs of several images: the plugin gives each ROI an
``image`` property, the title of its image. When the image is named (``image=``), a ROI whose
``image`` property names another one is left out (and said so in ``skipped``); a title
matches the image's file name with or without its extension.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import roifile
from roifile import ROI_SUBTYPE, ROI_TYPE, ImagejRoi
from skimage import draw

from ..errors import InvalidInputError
from .checks import INTEGER, check_class_names, check_label_mask

_NAME_WITH_ID = re.compile(r"^(.+?)-\d+$")
_NO_CLASS_NAME = re.compile(
    r"^[\d-]*$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)
_AREA_TYPES = {ROI_TYPE.POLYGON, ROI_TYPE.RECT, ROI_TYPE.OVAL, ROI_TYPE.FREEHAND, ROI_TYPE.TRACED}
_ROI_READ_ERRORS = (OSError, ValueError, IndexError, KeyError, struct.error, zipfile.BadZipFile)


@dataclass(frozen=True)
class RoiAnnotations:
    """Annotations read from ImageJ ROIs.

    Attributes
    ----------
    annotations : dict[int, int]
        Object label ID -> class index (1..K); ``class_names`` the K names; ``skipped`` one
        message per ROI (or point of a multi-point ROI) that annotated no object.
    """

    annotations: dict[int, int]
    class_names: list[str]
    skipped: list[str] = field(default_factory=list)


def _roi_class(roi: ImagejRoi) -> tuple[int, str | None]:
    """(class index or 0, class name or None) that the ROI states, by the module's rules."""
    prop = None
    for line in roi.props.splitlines():  # own parser: roifile's turns "1.0" into a float
        key, _, value = line.partition(":")
        if key.strip() == "class" and value.strip():
            prop = value.strip()
    if roi.group > 0:
        return roi.group, prop if prop and not INTEGER.match(prop) else None
    if prop is not None:
        return (int(prop), None) if INTEGER.match(prop) else (0, prop)
    name = roi.name.strip()
    if _NO_CLASS_NAME.match(name):
        return 0, None
    match = _NAME_WITH_ID.match(name)
    return 0, match.group(1).strip() if match else name


def _other_image(roi: ImagejRoi, image: str | None) -> str | None:
    """The title in ``roi``'s ``image`` property when it names an image other than
    ``image`` (compared with and without extensions), else None."""
    title = (roi.properties or {}).get("image", "") if image else ""
    if not title:
        return None
    return None if _bare(title) == _bare(image or "") else title


def _bare(name: str) -> str:
    """A file name or title without folder and extensions ("a.ome.tif" -> "a")."""
    base = Path(name.replace("\\", "/")).name
    return base.split(".", 1)[0] if "." in base[1:] else base


def _majority(values: np.ndarray) -> int:
    """The non-zero ID most often in ``values`` (ties -> smallest), 0 if none."""
    values = values[values != 0]
    if values.size == 0:
        return 0
    ids, counts = np.unique(values, return_counts=True)
    return int(ids[np.argmax(counts)])  # argmax takes the first max: the smallest ID


def _plane_of(z: int, labels: np.ndarray) -> np.ndarray | None:
    """The (Z', Y, X) part of 3D labels that a 1-based z (0 = all slices) selects."""
    if z == 0:
        return labels
    return labels[z - 1 : z] if z <= labels.shape[0] else None


def _roi_hits(roi: ImagejRoi, labels: np.ndarray, desc: str) -> tuple[list[int], list[str]]:
    """Object IDs that the ROI (each point of a point ROI) annotates, and skip messages."""
    if roi.subtype in (ROI_SUBTYPE.TEXT, ROI_SUBTYPE.IMAGE):
        return [], [f"{desc}: text and image ROIs do not mark objects"]
    stack = labels if labels.ndim == 3 else labels[np.newaxis]
    z_roi = roi.z_position or roi.position if labels.ndim == 3 else 1
    selected = _plane_of(z_roi, stack)  # all slices when z_roi is 0
    if selected is None:
        return [], [f"{desc}: z position {z_roi} is outside the {stack.shape[0]} slices"]
    height, width = stack.shape[1:]
    hits, skipped = [], []
    if roi.roitype == ROI_TYPE.POINT:
        xy = np.asarray(roi.coordinates(), dtype=float).reshape(-1, 2)
        per_point = roi.counter_positions if roi.counter_positions is not None else None
        for i, (x, y) in enumerate(xy):
            what = f"{desc} point {i + 1} at x={x:g}, y={y:g}" if len(xy) > 1 else desc
            row, col = int(np.floor(y)), int(np.floor(x))
            # a multi-point ROI drawn on a stack keeps each point's slice in its counters
            z = z_roi or (int(per_point[i]) if per_point is not None and labels.ndim == 3 else 0)
            planes = _plane_of(z, stack)
            if not (0 <= row < height and 0 <= col < width) or planes is None:
                skipped.append(f"{what}: lies outside the image")
            elif (obj := _majority(planes[:, row, col])) == 0:
                skipped.append(f"{what}: lies on background")
            else:
                hits.append(obj)
        return hits, skipped
    if roi.roitype not in _AREA_TYPES:
        return [], [f"{desc}: {roi.roitype.name.lower()} ROIs do not mark objects"]
    # even-odd fill of all sub-paths so that holes of composite ROIs stay holes
    try:
        paths = roi.coordinates(multi=True)
    except (RuntimeError, NotImplementedError) as exc:  # roifile: curves in composite shapes
        return [], [f"{desc}: cannot read its shape ({exc})"]
    flat = []
    for path in paths:
        if len(path) >= 3:
            rr, cc = draw.polygon(path[:, 1] - 0.5, path[:, 0] - 0.5, shape=(height, width))
            flat.append(rr.astype(np.int64) * width + cc)
    if len(flat) == 1:  # the usual single path: draw.polygon gives each pixel once
        ids = flat[0]
    else:
        ids, counts = np.unique(np.concatenate(flat or [np.empty(0, np.int64)]), return_counts=True)
        ids = ids[counts % 2 == 1]
    if ids.size == 0:
        return [], [f"{desc}: covers no pixel of the image"]
    obj = _majority(selected[:, ids // width, ids % width])
    return ([obj], []) if obj else ([], [f"{desc}: covers only background"])


def annotations_from_rois(
    rois: ImagejRoi | Iterable[ImagejRoi],
    labels: np.ndarray,
    class_names: Sequence[str] | None = None,
    image: str | None = None,
) -> RoiAnnotations:
    """Turn ImageJ ROIs into object class annotations of one label mask.

    A point ROI (each point of a multi-point ROI) annotates the object under it; an area ROI
    (rectangle, oval, polygon, freehand, traced, composite) the object covering most of its
    pixels (background ignored; ties -> smallest ID). Line and text ROIs are skipped. For 3D
    labels ``(Z, Y, X)`` the ROI's ``z_position``, else its ``position``, else (points) the
    point's own stack position selects the 1-based slice; 0 means "all slices": the ROI is
    extended through the stack and the object with the most voxels in it wins. For 2D labels
    positions are ignored. The class of a ROI follows the rules in the module docstring.

    Parameters
    ----------
    rois : ImagejRoi or iterable of ImagejRoi
        The ROIs, e.g. from ``roifile.roiread``.
    labels : ndarray
        Instance label mask (Y, X) or (Z, Y, X), 0 = background; not modified.
    class_names : sequence of str, optional
        Known classes; other names are appended.
    image : str, optional
        The image's file name or title: ROIs of another image (their ``image`` property) are
        left out.

    Raises
    ------
    InvalidInputError
        Bad labels or class names, a group contradicting the ROI's class property, or two
        ROIs giving one object different classes.
    """
    labels = check_label_mask(labels)
    rois = [rois] if isinstance(rois, ImagejRoi) else list(rois)
    names: list[str | None] = list(check_class_names(class_names or []))
    used, skipped = [], []  # used: (desc, index, name, hits)
    for i, roi in enumerate(rois):
        desc = f"ROI {i + 1}" + (f" ({roi.name!r})" if roi.name else "")
        other = _other_image(roi, image)
        if other is not None:
            skipped.append(f"{desc}: a ROI of image {other!r}, not of {image!r}")
            continue
        index, name = _roi_class(roi)
        if not index and name is None:
            skipped.append(f"{desc}: no class (group 0, no 'class' property, no class name)")
            continue
        hits, why = _roi_hits(roi, labels, desc)
        skipped += why
        if hits:
            used.append((desc, index, name, hits))
    # indices first (they fix positions), then names to existing or new indices
    for desc, index, name, _ in used:
        if index:
            names += [None] * (index - len(names))
            if name is not None and names[index - 1] not in (None, name):
                raise InvalidInputError(
                    f"{desc}: group {index} is class {names[index - 1]!r} but its class "
                    f"property says {name!r}"
                )
            if name is not None and name in names[: index - 1] + names[index:]:
                raise InvalidInputError(
                    f"{desc}: class {name!r} is given to group {index} and to group "
                    f"{names.index(name) + 1}"
                )
            names[index - 1] = name if name is not None else names[index - 1]
    names = [n if n is not None else f"class {k}" for k, n in enumerate(names, 1)]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"class names {names} (unnamed groups = 'class k') repeat")
    annotations: dict[int, int] = {}
    source: dict[int, str] = {}
    for desc, index, name, hits in used:
        if not index:
            if name not in names:
                names.append(name)
            index = names.index(name) + 1
        for obj in hits:
            old = annotations.setdefault(obj, index)
            if old != index:
                raise InvalidInputError(
                    f"object {obj} is given class {names[old - 1]!r} by {source[obj]} and "
                    f"class {names[index - 1]!r} by {desc}"
                )
            source.setdefault(obj, desc)
    return RoiAnnotations(annotations, [str(n) for n in names], skipped)


def read_roi_annotations(
    path: str | os.PathLike[str],
    labels: np.ndarray,
    class_names: Sequence[str] | None = None,
    image: str | None = None,
) -> RoiAnnotations:
    """Read an ImageJ ``.roi`` or ``.zip`` ROI set and turn it into class annotations of
    the mask ``labels`` of ``image`` (its file name or title; None: every ROI is its).

    See :func:`annotations_from_rois` for the rules; errors name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"ROI file {path} does not exist")
    try:
        rois = roifile.roiread(path)
    except _ROI_READ_ERRORS as exc:
        raise InvalidInputError(f"cannot read ImageJ ROIs from {path}: {exc}") from exc
    try:
        return annotations_from_rois(rois, labels, class_names, image)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}") from exc
