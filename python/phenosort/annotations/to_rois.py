"""Objects of a label mask as ImageJ ROIs (outlines or points named and grouped by class),
and ROI sets written as ImageJ ``.zip`` files, e.g. to export predictions to ImageJ or QuPath.

An array pixel ``(row, col)`` has its centre at ImageJ ``(col + 0.5, row + 0.5)``, the
convention :mod:`.from_rois` reads ROIs back with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import roifile
from roifile import ROI_TYPE, ImagejRoi
from skimage import measure

from ..errors import InvalidInputError
from .checks import check_class_names, check_label_mask


def _object_slices(labels: np.ndarray, ids: np.ndarray) -> list[tuple[slice, ...] | None]:
    """Bounding boxes of the objects ``ids`` (None where absent), memory bounded by the size."""
    from scipy import ndimage  # here: importing it costs every command 0.2-0.3 s

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
    labels = check_label_mask(labels)
    names = check_class_names(class_names)
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
