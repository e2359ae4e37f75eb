"""Predict a folder's image pairs, one after the other, into an output folder: refuse to
replace outputs, write each image's files (:func:`phenosort.image_job.predict_image`), then
``objects.csv`` and ``summary.csv``; the exit status says whether an image failed.

``phenosort predict`` (serial and ``--server``; its Dask path shares the checks and tables)
and the demo run it with a predictor of their model: in-process or on a server.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .dataio import Pair
from .errors import InvalidInputError
from .image_job import ImageResult, OutputOptions, Predictor, output_paths, predict_image
from .progress_bars import bar
from .results import write_table_csv

if TYPE_CHECKING:
    from .classifier import ObjectClassifier
    from .client import Client


def local_predictor(clf: ObjectClassifier) -> Predictor:
    """Predict with an in-process classifier."""
    return lambda image, labels: clf.predict(
        image.array, labels, axes=image.axes, voxel_size=image.voxel_size
    )


def remote_predictor(client: Client, model: str) -> Predictor:
    """Predict with a server's model; the maps are painted here from the local mask, so
    only the per-object results travel back."""

    def predict(image, labels):
        remote = client.predict(model, image.array, labels, axes=image.axes,
                                voxel_size=image.voxel_size, class_map=False)  # fmt: skip
        return remote.to_prediction(labels)

    return predict


def output_options(
    out: Path,
    class_names: Sequence[str],
    *,
    rois: bool = False,
    class_masks: bool = False,
    confidence: bool = False,
) -> OutputOptions:
    """What each image writes, under ``out`` made absolute (like Dask's pairs)."""
    return OutputOptions(out.resolve(), tuple(class_names), rois, class_masks, confidence)


def predict_folder(
    pairs: Sequence[Pair],
    predict: Predictor,
    out: Path,
    options: OutputOptions,
    *,
    overwrite: bool = False,
    quiet: bool = False,
) -> int:
    """Every pair in this process, its outputs and the tables under ``out``; 2 when an
    image failed (the others finish), else 0."""
    refuse_existing_outputs(out, pairs, options.class_names, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    results = [
        predict_image(pair, predict, options)
        for pair in bar(quiet, iterable=pairs, unit="image", desc="predict")
    ]
    return write_tables(out, results)


def refuse_existing_outputs(
    out: Path, pairs: Sequence[Pair], class_names: Sequence[str], *, overwrite: bool = False
) -> None:
    """Raise before any work when a table or an image's output exists (unless ``overwrite``)."""
    if overwrite:
        return
    tables = [out / "objects.csv", out / "summary.csv"]
    taken = [p for p in tables if p.exists()] + [
        p
        for pair in pairs
        for p in output_paths(pair.stem, out, class_names).values()
        if p.exists()
    ]
    if taken:
        raise InvalidInputError(
            f"outputs exist already ({taken[0]}, ...); use --overwrite or another --out"
        )


def write_tables(out: Path, results: list[ImageResult]) -> int:
    """objects.csv and summary.csv in the order of ``results``; failed images are reported
    (stderr, and an ``error`` column in summary.csv) and make the exit status 2."""
    failed = [r for r in results if r.error is not None]
    summary = [{**r.summary, "error": r.error or ""} if failed else r.summary for r in results]
    rows = [r.rows for r in results if r.rows is not None]
    write_table_csv(out / "objects.csv", rows, overwrite=True)
    write_table_csv(out / "summary.csv", summary, overwrite=True)
    for r in failed:
        print(f"error: {r.stem}: {r.error}", file=sys.stderr)
    total = sum(len(r["label"]) for r in rows)  # printed with --quiet too: it hides only bars
    print(f"{total} objects in {len(rows)} image(s) classified; outputs in {out}")
    if failed:
        print(f"{len(failed)} of {len(results)} image(s) failed (see summary.csv)", file=sys.stderr)
    return 2 if failed else 0
