"""The images one after the other in this process, with a classifier loaded here (one
image, ``--workers 0``/``1``, and each Dask worker on its share of the images)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..dataio.pairs import Pair
from .image_job import ImageResult, OutputOptions, Predictor, predict_image

if TYPE_CHECKING:
    from ..classifier import ObjectClassifier


def load_classifier(
    path: str | Path, *, device: str | None = None, batch_size: int | None = None
) -> ObjectClassifier:
    """A model file's classifier, predicting ``batch_size`` objects at a time if given."""
    from ..classifier import ObjectClassifier

    clf = ObjectClassifier.load(path, device=device)
    if batch_size:
        clf.config = clf.config.updated(predict_batch_size=batch_size)
    return clf


def local_predictor(clf: ObjectClassifier) -> Predictor:
    """Predict with an in-process classifier."""
    return lambda image, labels: clf.predict(
        image.array, labels, axes=image.axes, voxel_size=image.voxel_size
    )


def run_serial(
    pairs: Sequence[Pair],
    predict: Predictor,
    options: OutputOptions,
    done: Callable[[ImageResult], None] | None = None,
) -> list[ImageResult]:
    """Every pair with ``predict``, in order; ``done(result)`` after each."""
    results = []
    for pair in pairs:
        result = predict_image(pair, predict, options)
        results.append(result)
        if done is not None:
            done(result)
    return results
