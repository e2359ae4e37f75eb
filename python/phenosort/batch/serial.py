"""The images one after the other in this process, with a classifier loaded here (one
image, ``--workers 0``/``1``, and each Dask worker on its share of the images).

With an in-process classifier the objects of small images share the network's batches
(:meth:`~phenosort.classifier.ObjectClassifier.predict_images`); each image still gets its
own files and its own failure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..dataio.pairs import Pair
from ..dataio.read import ImageData
from .image_job import (
    ImageResult,
    OutputOptions,
    Predictor,
    describe,
    failed_result,
    load_job,
    predict_image,
    write_outputs,
)

if TYPE_CHECKING:
    from ..classifier import ObjectClassifier
    from ..results import Prediction


def load_classifier(
    path: str | Path, *, device: str | None = None, batch_size: int | None = None
) -> ObjectClassifier:
    """A model file's classifier, predicting ``batch_size`` objects at a time if given."""
    from ..classifier import ObjectClassifier

    clf = ObjectClassifier.load(path, device=device)
    if batch_size:
        clf.config = clf.config.updated(predict_batch_size=batch_size)
    return clf


@dataclass(frozen=True)
class LocalPredictor:
    """Predict with an in-process classifier: one image (a :data:`Predictor`), or many
    whose small images share batches (:meth:`many`)."""

    clf: ObjectClassifier

    def __call__(self, image: ImageData, labels: np.ndarray) -> Prediction:
        return self.clf.predict(image.array, labels, axes=image.axes, voxel_size=image.voxel_size)

    def many(
        self, images: Iterator[tuple[ImageData, np.ndarray]]
    ) -> Iterator[Prediction | Exception]:
        return self.clf.predict_images(images)


def local_predictor(clf: ObjectClassifier) -> LocalPredictor:
    """Predict with an in-process classifier."""
    return LocalPredictor(clf)


def run_serial(
    pairs: Sequence[Pair],
    predict: Predictor,
    options: OutputOptions,
    done: Callable[[ImageResult], None] | None = None,
) -> list[ImageResult]:
    """Every pair with ``predict``, in order; ``done(result)`` after each."""
    if isinstance(predict, LocalPredictor):
        return _run_grouped(pairs, predict, options, done)
    results = []
    for pair in pairs:
        result = predict_image(pair, predict, options)
        results.append(result)
        if done is not None:
            done(result)
    return results


def _run_grouped(
    pairs: Sequence[Pair],
    predict: LocalPredictor,
    options: OutputOptions,
    done: Callable[[ImageResult], None] | None,
) -> list[ImageResult]:
    """:func:`run_serial` with small images' objects in shared batches: the images are
    read one by one as the classifier asks for them, and written as their predictions come."""
    results: dict[int, ImageResult] = {}
    waiting: deque[tuple[int, Pair, ImageData, np.ndarray]] = deque()  # read, not predicted

    def finish(i: int, result: ImageResult) -> None:
        results[i] = result
        if done is not None:
            done(result)

    def failed(i: int, exc: Exception) -> None:
        finish(i, failed_result(pairs[i].stem, options.class_names, describe(exc)))

    def read() -> Iterator[tuple[ImageData, np.ndarray]]:
        for i, pair in enumerate(pairs):
            try:
                image, labels = load_job(pair, options)
            except Exception as exc:  # reported per image, as predict_image does
                failed(i, exc)
                continue
            waiting.append((i, pair, image, labels))
            yield image, labels

    for outcome in predict.many(read()):
        i, pair, image, labels = waiting.popleft()
        if isinstance(outcome, Exception):
            failed(i, outcome)
            continue
        try:
            finish(i, write_outputs(pair, image, labels, outcome, options))
        except Exception as exc:
            failed(i, exc)
    return [results[i] for i in range(len(pairs))]
