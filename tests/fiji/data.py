"""Synthetic data for the plugin tests, written as ImageJ would read it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from phenosort.annotations import rois_for_objects, write_roi_zip
from phenosort.testing import make_objects


def write_pair(folder: Path, stem: str, seed: int, grid=(6, 6)) -> dict:
    """A 2-class brightness image (uint16), its label image and point ROIs for every object."""
    data = make_objects("brightness", grid=grid, seed=seed)
    image = np.round(data.image / data.image.max() * 60000).astype(np.uint16)
    labels = data.labels.astype(np.uint16)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"image": folder / f"{stem}.tif", "labels": folder / f"{stem}-labels.tif"}
    tifffile.imwrite(paths["image"], image, imagej=True)
    tifffile.imwrite(paths["labels"], labels, imagej=True)
    ids = np.array(sorted(data.classes))
    classes = np.array([data.classes[i] for i in ids])
    paths["rois"] = folder / f"{stem}-rois.zip"
    rois = rois_for_objects(labels, ids, classes, data.class_names, kind="point")
    write_roi_zip(paths["rois"], rois)
    return {"paths": paths, "image": image, "labels": labels, "data": data}
