"""Train and classify with a phenosort server straight from ImageJ objects.

Images are ImagePlus objects (any JVM holding ImageJ 1: scyjava or a pyimagej session) or,
with a pyimagej gateway ``ij``, ImageJ2 Datasets. Pixels go to numpy here and then through
the plain gRPC :class:`~phenosort.client.Client`; results come back as ImageJ objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..annotations.from_rois import RoiAnnotations
from ..errors import InvalidInputError
from .convert import ImageArray, _is_imageplus, from_imageplus, labels_from_imageplus
from .display import class_map_imageplus, object_rois, results_table, show_rois
from .rois import annotations_from_imagej

if TYPE_CHECKING:
    from ..classifier import Sample
    from ..client import RemotePrediction


def to_numpy(image, ij=None) -> ImageArray:
    """An ImagePlus (always), or with a pyimagej gateway ``ij`` any image it converts."""
    if _is_imageplus(image):
        return from_imageplus(image)
    if ij is None:
        raise InvalidInputError(
            f"{type(image).__name__} is not an ij.ImagePlus; pass the pyimagej gateway (ij=) "
            "to convert ImageJ2 images"
        )
    from .dataset import from_dataset

    return from_dataset(ij, image)


def _pair(image, labels, ij) -> tuple[ImageArray, np.ndarray]:
    img = to_numpy(image, ij)
    if "T" in img.axes:
        raise InvalidInputError(
            f"image '{img.title}' has time points ({img.axes}); send one time point at a time"
        )
    lab = labels_from_imageplus(labels) if _is_imageplus(labels) else to_numpy(labels, ij).array
    spatial = tuple(n for ax, n in zip(img.axes, img.array.shape, strict=True) if ax in "ZYX")
    if lab.shape != spatial:
        raise InvalidInputError(
            f"labels of shape {lab.shape} do not match image '{img.title}' "
            f"({img.axes} {img.array.shape}: spatial {spatial})"
        )
    return img, lab


def training_sample(
    image,
    labels,
    rois: Iterable | str | os.PathLike | None = None,
    *,
    class_names: Sequence[str] | None = None,
    ij=None,
) -> tuple[Sample, RoiAnnotations]:
    """An image, its labels and the classes its ROIs give, as a
    :class:`~phenosort.classifier.Sample` for :meth:`Client.fit` (annotations by class
    name: the server maps them onto its model's classes), and the annotations read.

    ``rois``: Java ROIs, a ROI zip, or None for the RoiManager (else the image's overlay).
    """
    from ..classifier import Sample

    img, lab = _pair(image, labels, ij)
    found = annotations_from_imagej(lab, rois, image=image, class_names=class_names,
                                    title=img.title)  # fmt: skip
    if not found.annotations:
        raise InvalidInputError(f"the ROIs annotate no object of '{img.title}': {found.skipped}")
    notes = {label: found.class_names[k - 1] for label, k in found.annotations.items()}
    return Sample(img.array, lab, notes, img.axes, img.voxel_size, img.title), found


def add_training_data(
    client,
    model: str,
    image,
    labels,
    rois: Iterable | str | os.PathLike | None = None,
    *,
    class_names: Sequence[str] | None = None,
    ij=None,
    replace: bool = False,
) -> tuple[RoiAnnotations, dict]:
    """Send an image, its labels and the classes its ROIs give to ``model``.

    ``rois``: Java ROIs, a ROI zip, or None for the RoiManager (else the image's overlay).
    Class names default to the model's. Returns the annotations read and the server's
    training set summary.
    """
    names = list(class_names) if class_names is not None else client.get_model(model).class_names
    s, found = training_sample(image, labels, rois, class_names=names, ij=ij)
    summary = client.add_training_data(
        model, s.image, s.labels, s.annotations, axes=s.axes, voxel_size=s.voxel_size,
        name=s.name, replace=replace,
    )  # fmt: skip
    return found, summary


@dataclass
class ImageJClassification:
    """The service's answer and its ImageJ form: class map, table and ROIs by class."""

    prediction: RemotePrediction
    class_map: Any  # ij.ImagePlus, 8-bit, Glasbey LUT
    table: Any  # ij.measure.ResultsTable
    rois: list = field(default_factory=list)  # ij.gui.Roi, grouped by class

    def show(self, image=None, table_title: str = "Results") -> str:
        """Show the class map and table; ROIs to the RoiManager (headless: ``image``'s
        Overlay). Headless, only the ROIs are placed; returns where they went."""
        from .jvm import is_headless

        if not is_headless():
            self.class_map.show()
            self.table.show(table_title)
        names = list(self.prediction.class_names)
        return show_rois(self.rois, names, image=image) if self.rois else "none"


def classify(
    client,
    model: str,
    image,
    labels,
    *,
    version: int = 0,
    rois: bool = True,
    ij=None,
) -> ImageJClassification:
    """Classify every object of ``labels`` in ``image`` with ``model`` (version 0: latest).

    ``labels`` must be an ImagePlus for ``rois=True`` (outlines are drawn from it).
    """
    img, lab = _pair(image, labels, ij)
    pred = client.predict(
        model, img.array, lab, axes=img.axes, voxel_size=img.voxel_size, version=version
    )
    like = image if _is_imageplus(image) else None
    base = img.title.rsplit(".", 1)[0] if "." in img.title[-5:] else img.title
    class_map = class_map_imageplus(
        pred.class_map, pred.class_names, like=like, title=f"{base}-classes"
    )
    found = []
    if rois:
        if not _is_imageplus(labels):
            raise InvalidInputError("rois=True needs the labels as an ImagePlus")
        classes = dict(zip(pred.label_id.tolist(), pred.class_index.tolist(), strict=True))
        found = object_rois(labels, classes, pred.class_names, image=like)
    return ImageJClassification(pred, class_map, results_table(pred), found)
