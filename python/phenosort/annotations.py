"""Class annotations: CSV tables and ImageJ ROI sets in, ImageJ ROI sets out.

Class indices are 1..K and ``class_names[k - 1]`` names class ``k``. The annotations of one
image are a ``dict[int, int]`` (object label ID -> class index).

ImageJ ROI coordinates are ``x, y`` with pixel ``(row, col)`` spanning ``[col, col + 1) x
[row, row + 1)``: a point annotates the pixel ``(floor(y), floor(x))`` and an area ROI covers
the pixels whose centres ``(col + 0.5, row + 0.5)`` lie inside it (as ImageJ's masks do).

The class of a ROI, in order of precedence:

1. its ``group`` when non-zero: class index = group; a ``class`` property (below) names it;
2. its ``class`` property (``roi.setProperty("class", name)`` in ImageJ, stored as a
   ``"class: name"`` line): an integer is a class index, anything else a class name;
3. its name: ``"<class>-<digits>"`` (as written by :func:`rois_for_objects`) gives
   ``<class>``, any other name is the class name itself, except names made only of digits and
   hyphens (ImageJ's automatic ``"0012-0345"`` names) and UUIDs (roifile's default names),
   which carry no class.

Class names are resolved against ``class_names``; names it lacks are appended in order of
first appearance and groups without a name are called ``"class k"``.
"""

from __future__ import annotations

import csv
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
from scipy import ndimage
from skimage import draw, measure

from .axes import check_labels
from .errors import InvalidInputError

_INT = re.compile(r"^\+?\d+$")
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


def _check_class_names(class_names: Sequence[str]) -> list[str]:
    names = list(class_names)
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip() or "\n" in name:
            raise InvalidInputError(f"class name {i + 1} is {name!r}; expected a non-empty line")
        if _INT.match(name.strip()):
            # an integer-looking name would read back as a class index
            raise InvalidInputError(f"class name {name!r} looks like a class index; add a letter")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"class names {names!r} are not unique")
    return names


def _open_new(path: Path, overwrite: bool):
    # "x" refuses an existing file without a race between the check and the write
    try:
        return path.open("w" if overwrite else "x", newline="", encoding="utf-8")
    except FileExistsError:
        raise InvalidInputError(f"{path} exists; pass overwrite=True to replace it") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc}") from exc


def _row_problem(image: str, label: str, value: str) -> str | None:
    if not image:
        return "the image is empty"
    if not _INT.match(label):
        kind = "negative" if re.match(r"^-\d+$", label) else "not an integer"
        return f"label {label!r} is {kind}; expected an object ID >= 1"
    if int(label) == 0:
        return "label 0 is the background, not an object"
    return None if value else "the class is empty"


def read_annotations_csv(
    path: str | os.PathLike[str], class_names: Sequence[str] | None = None
) -> tuple[dict[str, dict[int, int]], list[str]]:
    """Read object class annotations from a CSV table.

    Parameters
    ----------
    path : str or PathLike
        CSV file whose header names the columns ``image`` (file stem), ``label`` (or
        ``label_id``) and ``class`` (a class name or 1-based index) in any order; other
        columns are ignored. Errors number rows as lines of the file (header = 1).
    class_names : sequence of str, optional
        The classes. Without them, integer classes give ``"class 1".."class K"`` (K = the
        largest index) and named classes the distinct names sorted alphabetically.

    Returns
    -------
    tuple of (dict[str, dict[int, int]], list[str])
        Image stem -> {label ID: class index}, and the K class names.

    Raises
    ------
    InvalidInputError
        Unreadable file, missing column, bad label or class, no rows, or conflicting rows.
    """
    table, names, _ = read_annotations_csv_lines(path, class_names)
    return table, names


def read_annotations_csv_lines(
    path: str | os.PathLike[str], class_names: Sequence[str] | None = None
) -> tuple[dict[str, dict[int, int]], list[str], dict[tuple[str, int], int]]:
    """:func:`read_annotations_csv`, and the line of the file (header = 1) that first gives
    each ``(image, label)``, for messages that point into the file."""
    path = Path(path)
    names = None if class_names is None else _check_class_names(class_names)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except FileNotFoundError:
        raise InvalidInputError(f"annotation file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInputError(f"cannot read annotation file {path}: {exc}") from exc
    header = [c.strip().lower() for c in rows[0][1]] if rows else []
    alias = "label_id" in header and "label" not in header
    wanted = ("image", "label_id" if alias else "label", "class")
    missing = [c for c in wanted if c not in header]  # the documented names: image,label,class
    if rows and missing:
        raise InvalidInputError(
            f"{path} lacks the column(s) {', '.join(missing)}; its header {rows[0][1]!r} must "
            "name the columns image, label and class (label_id is accepted for label)"
        )
    records: list[tuple[int, str, int, str]] = []  # (line, image, label, class value)
    for line, row in rows[1:]:
        image, label_text, value = (
            row[c].strip() if c < len(row) else "" for c in map(header.index, wanted)
        )
        if not (image or label_text or value):
            continue
        problem = _row_problem(image, label_text, value)
        if problem:
            raise InvalidInputError(f"{path} row {line}: {problem}")
        records.append((line, image, int(label_text), value))
    if not records:
        raise InvalidInputError(f"{path} has no annotations")

    is_int = [bool(_INT.match(r[3])) for r in records]
    if names is None:
        if all(is_int):
            names = [f"class {k}" for k in range(1, max(int(r[3]) for r in records) + 1)]
        elif not any(is_int):
            names = sorted({r[3] for r in records})
        else:
            i, j = is_int.index(True), is_int.index(False)
            raise InvalidInputError(
                f"{path} mixes class indices (row {records[i][0]}: {records[i][3]!r}) and "
                f"class names (row {records[j][0]}: {records[j][3]!r}); pass class_names"
            )
    out: dict[str, dict[int, int]] = {}
    seen: dict[tuple[str, int], int] = {}
    for (line, image, label, value), integer in zip(records, is_int, strict=True):
        where = f"{path} row {line}"
        if integer:
            index = int(value)
            if not 1 <= index <= len(names):
                raise InvalidInputError(f"{where}: class index {index} is outside 1..{len(names)}")
        elif value in names:
            index = names.index(value) + 1
        else:
            raise InvalidInputError(f"{where}: unknown class {value!r}; expected one of {names}")
        old = out.setdefault(image, {}).setdefault(label, index)
        if old != index:
            raise InvalidInputError(
                f"{path} rows {seen[image, label]} and {line} give object {label} of image "
                f"{image!r} two classes: {names[old - 1]!r} and {names[index - 1]!r}"
            )
        seen.setdefault((image, label), line)
    return out, names, seen


def write_annotations_csv(
    path: str | os.PathLike[str],
    annotations: dict[str, dict[int, int]],
    class_names: Sequence[str],
    *,
    overwrite: bool = False,
) -> None:
    """Write annotations as ``image,label,class`` rows (class names), by image then label.

    Parameters
    ----------
    path : str or PathLike
        The CSV file; an existing file is replaced only with ``overwrite=True``.
    annotations : dict[str, dict[int, int]]
        Image stem -> {label ID: class index (1..K)}.
    class_names : sequence of str
        The K class names.
    """
    path = Path(path)
    names = _check_class_names(class_names)
    rows = []
    for image in sorted(annotations, key=str):
        if not isinstance(image, str) or not image.strip():
            raise InvalidInputError(f"image name {image!r} is not a non-empty string")
        for label, index in sorted(annotations[image].items()):
            if int(label) < 1 or not 1 <= int(index) <= len(names):
                raise InvalidInputError(
                    f"image {image!r}: label {label} -> class {index}; expected a label >= 1 "
                    f"and a class in 1..{len(names)}"
                )
            rows.append((image, int(label), names[int(index) - 1]))
    with _open_new(path, overwrite) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("image", "label", "class"))
        writer.writerows(rows)


def check_ids_in_mask(
    label_ids: Iterable[int],
    labels: np.ndarray,
    *,
    image: str,
    mask: str | os.PathLike[str],
    source: str | os.PathLike[str] | None = None,
    lines: dict[tuple[str, int], int] | None = None,
) -> None:
    """Raise naming the ``label_ids`` that ``labels`` (the mask of ``image``, read from the
    file ``mask``) lacks, with the rows of the annotations file ``source`` that give them
    (``lines``: from :func:`read_annotations_csv_lines`)."""
    ids = np.array([int(k) for k in label_ids], np.int64)
    missing = np.sort(ids[~np.isin(ids, labels)])
    if missing.size == 0:
        return
    shown = [int(v) for v in missing[:10]]
    more = f" and {missing.size - 10} more" if missing.size > 10 else ""
    one = missing.size == 1
    where = "" if source is None else f"{source}: "
    if source is not None and lines:
        rows = ", ".join(str(lines[image, v]) for v in shown)
        where = f"{source} row{'' if one else 's'} {rows}{more}: "
    raise InvalidInputError(
        f"{where}label{'' if one else 's'} {', '.join(map(str, shown))}{more} of image "
        f"{image!r} {'is' if one else 'are'} not in its label mask {mask}"
    )


def _check_label_mask(labels: np.ndarray) -> np.ndarray:
    labels = check_labels(labels, np.shape(labels))
    if labels.ndim not in (2, 3):
        raise InvalidInputError(f"labels must be 2D (Y, X) or 3D (Z, Y, X), got {labels.shape}")
    return labels


def _roi_class(roi: ImagejRoi) -> tuple[int, str | None]:
    """(class index or 0, class name or None) that the ROI states, by the module's rules."""
    prop = None
    for line in roi.props.splitlines():  # own parser: roifile's turns "1.0" into a float
        key, _, value = line.partition(":")
        if key.strip() == "class" and value.strip():
            prop = value.strip()
    if roi.group > 0:
        return roi.group, prop if prop and not _INT.match(prop) else None
    if prop is not None:
        return (int(prop), None) if _INT.match(prop) else (0, prop)
    name = roi.name.strip()
    if _NO_CLASS_NAME.match(name):
        return 0, None
    match = _NAME_WITH_ID.match(name)
    return 0, match.group(1).strip() if match else name


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

    Raises
    ------
    InvalidInputError
        Bad labels or class names, a group contradicting the ROI's class property, or two
        ROIs giving one object different classes.
    """
    labels = _check_label_mask(labels)
    rois = [rois] if isinstance(rois, ImagejRoi) else list(rois)
    names: list[str | None] = list(_check_class_names(class_names or []))
    used, skipped = [], []  # used: (desc, index, name, hits)
    for i, roi in enumerate(rois):
        desc = f"ROI {i + 1}" + (f" ({roi.name!r})" if roi.name else "")
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
) -> RoiAnnotations:
    """Read an ImageJ ``.roi`` or ``.zip`` ROI set and turn it into class annotations.

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
        return annotations_from_rois(rois, labels, class_names)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}") from exc


def _object_slices(labels: np.ndarray, ids: np.ndarray) -> list[tuple[slice, ...] | None]:
    """Bounding boxes of the objects ``ids`` (None where absent), memory bounded by the size."""
    if ids.size == 0:
        return []
    if int(ids.max()) <= labels.size:
        boxes = ndimage.find_objects(labels, max_label=int(ids.max()))
        return [boxes[int(i) - 1] for i in ids]
    # find_objects allocates one slot per ID up to the largest: compact huge IDs first
    uniq, inverse = np.unique(labels, return_inverse=True)
    compact = inverse.reshape(labels.shape) + (0 if uniq[0] == 0 else 1)
    pos = np.minimum(np.searchsorted(uniq, ids), uniq.size - 1)
    present = uniq[pos] == ids
    cids = pos + (0 if uniq[0] == 0 else 1)
    boxes = ndimage.find_objects(compact, max_label=int(cids[present].max(initial=0)))
    return [boxes[int(c) - 1] if ok else None for c, ok in zip(cids, present, strict=True)]


def rois_for_objects(
    labels: np.ndarray,
    label_ids: Sequence[int] | np.ndarray,
    class_index: int | Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    *,
    kind: str = "outline",
) -> list[ImagejRoi]:
    """Make one ImageJ ROI per object, e.g. to export predictions to ImageJ or QuPath.

    In 2D, ``kind="outline"`` gives a sub-pixel polygon along the object's outer boundary
    (its longest contour) and ``kind="point"`` a point ROI; 3D labels always give point ROIs
    with ``position`` and ``z_position`` set to the 1-based slice. A point lies on the
    object's pixel nearest its centroid, so it stays inside non-convex objects. Every ROI is
    named ``"<class>-<label>"``, carries the properties ``class`` and ``label`` and has
    ``group = class index`` when that is in 1..255.

    Parameters
    ----------
    labels : ndarray
        Instance label mask (Y, X) or (Z, Y, X); not modified.
    label_ids : sequence of int
        The objects, each present in ``labels`` and listed once.
    class_index : int or sequence of int
        Class (1..K) of every object, or one class for all; ``class_names`` the K names.
    kind : {"outline", "point"}
        ROI shape in 2D.
    """
    labels = _check_label_mask(labels)
    names = _check_class_names(class_names)
    if kind not in ("outline", "point"):
        raise InvalidInputError(f"kind must be 'outline' or 'point', got {kind!r}")
    ids = np.asarray(label_ids).reshape(-1)
    classes = np.broadcast_to(np.asarray(class_index), ids.shape)
    if ids.size and (ids.dtype.kind not in "ui" or ids.min() < 1):
        raise InvalidInputError("label_ids must be integer object IDs >= 1")
    if np.unique(ids).size != ids.size:
        raise InvalidInputError("label_ids lists an object more than once")
    if classes.size and (
        classes.dtype.kind not in "ui" or not 1 <= classes.min() <= classes.max() <= len(names)
    ):
        raise InvalidInputError(f"class_index must be integers in 1..{len(names)}")
    boxes = _object_slices(labels, ids.astype(np.uint64))
    absent = [int(i) for i, box in zip(ids, boxes, strict=True) if box is None]
    if absent:
        raise InvalidInputError(f"objects {absent[:5]} ({len(absent)} in all) are not in labels")
    rois = []
    for lid, index, box in zip(ids.tolist(), classes.tolist(), boxes, strict=True):
        assert box is not None  # absent objects were refused above
        mask = labels[box] == lid
        start = np.array([s.start for s in box])
        if kind == "outline" and labels.ndim == 2:
            padded = np.zeros(np.add(mask.shape, 2), np.float32)  # np.pad is slow per call
            padded[1:-1, 1:-1] = mask
            contour = max(measure.find_contours(padded, 0.5), key=len)
            rowcol = contour[:-1] - 1 + start  # drop the closing point; undo the padding
            # array (row, col) has its centre at ImageJ (col + 0.5, row + 0.5)
            roi = ImagejRoi.frompoints(rowcol[:, ::-1] + 0.5, name=f"{names[index - 1]}-{lid}")
            roi.roitype = ROI_TYPE.POLYGON
        else:
            pts = np.argwhere(mask)
            near = pts[np.argmin(((pts - pts.mean(axis=0)) ** 2).sum(axis=1))] + start
            z = int(near[0]) if labels.ndim == 3 else None
            roi = ImagejRoi.frompoints(
                [[int(near[-1]), int(near[-2])]],
                name=f"{names[index - 1]}-{lid}",
                position=z,
                z=z,
            )
            roi.roitype = ROI_TYPE.POINT
        roi.group = index if index <= 255 else 0
        roi.properties = {"class": names[index - 1], "label": lid}
        rois.append(roi)
    return rois


def write_roi_zip(
    path: str | os.PathLike[str], rois: Iterable[ImagejRoi], *, overwrite: bool = False
) -> None:
    """Write ROIs to an ImageJ ROI set (``.zip``), one unique entry per ROI.

    Parameters
    ----------
    path : str or PathLike
        Output file ending in ``.zip``; replaced only with ``overwrite=True``.
    rois : iterable of ImagejRoi
        The ROIs, e.g. from :func:`rois_for_objects`.
    """
    path = Path(path)
    if path.suffix.lower() != ".zip":
        raise InvalidInputError(f"ROI set {path} must end in .zip")
    rois = list(rois)
    entries: list[str] = []
    taken: set[str] = set()
    for i, roi in enumerate(rois):
        # entry names must be unique and flat; ImageJ takes the ROI's name from inside it
        base = re.sub(r"[\\/:]", "_", roi.name) or "roi"
        entries.append(base if base not in taken else f"{base}-{i + 1}")
        taken.add(entries[-1])
    try:
        roifile.roiwrite(path, rois, name=entries, mode="w" if overwrite else "x")
    except FileExistsError:
        raise InvalidInputError(f"{path} exists; pass overwrite=True to replace it") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc}") from exc
