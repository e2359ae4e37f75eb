"""One image of a folder run: predict it, write its outputs, return its table rows.

The serial loop and the Dask tasks both run :func:`predict_image`, so a folder gives the same
files either way. A failure is caught here and returned as the image's result: one bad image
must not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..dataio.pairs import Pair, load_pair
from ..dataio.read import ImageData
from ..errors import InvalidInputError, PhenosortError

if TYPE_CHECKING:
    from ..results import Prediction

# (image, labels) -> Prediction: the in-process classifier, a Dask worker's, or a server's
Predictor = Callable[[ImageData, np.ndarray], "Prediction"]

# from this many voxels the class map is painted beside the rows' formatting: below, a
# thread's start costs more than it hides
_THREADED_PAINT_VOXELS = 1 << 20


@dataclass(frozen=True)
class OutputOptions:
    """Where and what ``predict`` writes per image."""

    out: Path
    class_names: tuple[str, ...]
    rois: bool = False
    class_masks: bool = False
    confidence: bool = False


@dataclass(frozen=True)
class ImageResult:
    """An image's rows of objects.csv (formatted where it was predicted, a Dask worker
    included; None if it failed) and their column names, its summary.csv row (without the
    error column, which the table gets only when some image failed)."""

    stem: str
    rows: str | None  # CSV lines: "image" (the stem), then one row per object
    summary: dict
    error: str | None = None
    columns: tuple[str, ...] = ()


def output_paths(stem: str, out: Path, class_names: Sequence[str]) -> dict[str, Path]:
    """Every file ``predict`` may write for image ``stem`` (keys: classes, rois, confidence,
    mask:<class name>)."""
    paths = {
        "classes": out / f"{stem}_classes.tif",
        "rois": out / f"{stem}_classes.zip",
        "confidence": out / f"{stem}_confidence.tif",
    }
    for name in class_names:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        paths[f"mask:{name}"] = out / f"{stem}_{safe}_labels.tif"
    return paths


def predict_image(pair: Pair, predict: Predictor, options: OutputOptions) -> ImageResult:
    """Predict one image pair and write its outputs; errors come back in the result."""
    try:
        return _predict_image(pair, predict, options)
    except Exception as exc:  # reported per image; the caller decides the exit status
        return failed_result(pair.stem, options.class_names, describe(exc))


def failed_result(stem: str, class_names: Sequence[str], message: str) -> ImageResult:
    """The summary row of an image that failed: no counts, the error message."""
    summary = {"image": stem, "n_objects": "", **dict.fromkeys(class_names, "")}
    return ImageResult(stem, None, summary, message)


def describe(exc: BaseException) -> str:
    """A one-line message: phenosort's own errors as they are, others with their type."""
    text = str(exc) if isinstance(exc, PhenosortError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def _predict_image(pair: Pair, predict: Predictor, options: OutputOptions) -> ImageResult:
    image, labels = load_job(pair, options)
    return write_outputs(pair, image, labels, predict(image, labels), options)


def load_job(pair: Pair, options: OutputOptions) -> tuple[ImageData, np.ndarray]:
    """The image and mask of ``pair``, checked against what ``options`` will write."""
    image, labels = load_pair(pair)
    if options.class_masks and labels.size and int(labels.max()) > 2**24:
        raise InvalidInputError(
            f"{pair.mask_path}: label IDs above 2^24 cannot be written as ImageJ class "
            "masks; run without --class-masks (objects.csv keeps every ID)"
        )
    return image, labels


def write_outputs(
    pair: Pair, image: ImageData, labels: np.ndarray, pred: Prediction, options: OutputOptions
) -> ImageResult:
    """Write the files of one predicted image; its rows of the tables.

    A large image's class map is painted in a helper thread while its rows are formatted
    here: painting is one NumPy pass that releases the GIL, formatting holds it."""
    if labels.size < _THREADED_PAINT_VOXELS:
        class_map = pred.class_map()
        result = _result(pair.stem, pred, options.class_names)
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="phenosort-paint") as pool:
            painting = pool.submit(pred.class_map)
            result = _result(pair.stem, pred, options.class_names)
            class_map = painting.result()
    _write_files(pair, image, labels, pred, class_map, options)
    return result


def _write_files(
    pair: Pair,
    image: ImageData,
    labels: np.ndarray,
    pred: Prediction,
    class_map: np.ndarray,
    options: OutputOptions,
) -> None:
    """The image files of one predicted image: its ``class_map``, and as ``options`` say
    the confidence map, the per-class masks and the ROIs."""
    from ..annotations.to_rois import rois_for_objects, write_roi_zip
    from ..dataio.write import write_class_map, write_float_image, write_label_image

    names = list(options.class_names)
    outputs = output_paths(pair.stem, options.out, names)
    vs = image.voxel_size
    write_class_map(outputs["classes"], class_map, names, voxel_size=vs, overwrite=True)
    if options.confidence:
        write_float_image(
            outputs["confidence"], pred.confidence_map(), voxel_size=vs, overwrite=True
        )
    if options.class_masks:
        for name, mask in pred.class_masks().items():
            write_label_image(outputs[f"mask:{name}"], mask, voxel_size=vs, overwrite=True)
    if options.rois:
        rois = rois_for_objects(labels, pred.label_id, pred.class_index, names)
        write_roi_zip(outputs["rois"], rois, overwrite=True)


def _result(stem: str, pred: Prediction, class_names: Sequence[str]) -> ImageResult:
    """The image's rows of objects.csv, formatted here (on a Dask worker, not all at the
    end), and its summary row."""
    from ..results import csv_rows

    cols = {"image": stem, **pred.columns()}
    rows = csv_rows(cols, list(cols))
    counts = np.bincount(pred.class_index, minlength=len(class_names) + 1)[1:]
    summary = {"image": stem, "n_objects": len(pred.label_id), **dict(zip(class_names, counts))}
    return ImageResult(stem, rows, summary, columns=tuple(cols))
