"""ImageJ ROIs (RoiManager, overlay, a list, a ROI zip) -> object class annotations.

Java ROIs are encoded with ImageJ's own ``RoiEncoder`` (the bytes a ROI zip holds) and read
by :func:`phenosort.annotations.annotations_from_rois`, so ROIs in the manager mean exactly
what the same ROIs saved as a zip mean: group = class, else the ``class`` property, else the
name ``<class>-<id>``. Group names (Edit > Options > Roi Defaults) name the groups when no
``class_names`` are given, since they are an ImageJ preference that no ROI file holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from roifile import ImagejRoi

from ..annotations.from_rois import RoiAnnotations, annotations_from_rois, read_roi_annotations
from ..errors import InvalidInputError
from .convert import _is_imageplus, labels_from_imageplus
from .jvm import is_headless, jclass


def _labels(labels) -> np.ndarray:
    return labels_from_imageplus(labels) if _is_imageplus(labels) else np.asarray(labels)


def to_roifile(roi) -> ImagejRoi:
    """A Java ``ij.gui.Roi`` as a roifile ``ImagejRoi`` (through ImageJ's RoiEncoder)."""
    data = jclass("ij.io.RoiEncoder").saveAsByteArray(roi)
    if data is None:
        raise InvalidInputError(
            f"ImageJ cannot encode ROI {roi.getName()!s} ({roi.getTypeAsString()})"
        )
    return ImagejRoi.frombytes(bytes(np.asarray(data).view(np.uint8)))


def group_names(rois: Sequence[ImagejRoi]) -> list[str]:
    """ImageJ's group names for groups 1..max group used by ``rois`` ("class k" where unset)."""
    top = max((r.group for r in rois), default=0)
    if top == 0:
        return []
    Roi = jclass("ij.gui.Roi")
    names = [str(Roi.getGroupName(k) or "") for k in range(1, top + 1)]
    return [n if n.strip() else f"class {k}" for k, n in enumerate(names, 1)]


def annotations_from_java_rois(
    rois: Iterable,
    labels,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> RoiAnnotations:
    """Annotations of ``labels`` (ImagePlus or array) from Java ROIs; rules as for ROI zips
    (``title``: the image's, to leave out ROIs of other images)."""
    encoded = [to_roifile(r) for r in rois]
    names = list(class_names) if class_names is not None else group_names(encoded)
    return annotations_from_rois(encoded, _labels(labels), names, title)


def current_rois(image=None) -> list:
    """The RoiManager's ROIs, else (empty or no manager) the overlay of ``image``."""
    if not is_headless():
        manager = jclass("ij.plugin.frame.RoiManager").getInstance()
        if manager is not None and int(manager.getCount()) > 0:
            return list(manager.getRoisAsArray())
    overlay = image.getOverlay() if image is not None else None
    return list(overlay.toArray()) if overlay is not None else []


def annotations_from_imagej(
    labels,
    rois: Iterable | str | os.PathLike | None = None,
    *,
    image=None,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> RoiAnnotations:
    """Annotations of ``labels`` from ``rois``: Java ROIs, a ``.zip``/``.roi`` path, or None
    for the RoiManager (else the overlay of ``image``, as the plugin does). ROIs whose
    ``image`` property names another image than ``title`` (default: ``image``'s title) are
    left out, as the plugin does with ROI sets of several images."""
    if title is None and image is not None and hasattr(image, "getTitle"):
        title = str(image.getTitle())
    if isinstance(rois, (str, os.PathLike)):
        if not Path(rois).is_file():
            raise InvalidInputError(f"ROI file {rois} does not exist")
        return read_roi_annotations(rois, _labels(labels), class_names, title)
    found = current_rois(image) if rois is None else list(rois)
    if not found:
        raise InvalidInputError(
            "no ROIs: the RoiManager is empty and the image has no overlay; annotate objects "
            "with point or area ROIs (group = class) first"
        )
    return annotations_from_java_rois(found, labels, class_names, title)
