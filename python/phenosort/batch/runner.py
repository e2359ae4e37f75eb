"""The folder run, start to end: refuse to replace outputs, predict every image (here, on a
server or on Dask) writing its files, then ``objects.csv`` and ``summary.csv``; the exit
status says whether an image failed.

``phenosort predict`` picks the predictor and calls :func:`predict_folder`; so does the demo.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..dataio.pairs import Pair
from ..progress_bars import bar
from .cluster import DaskPredictor
from .image_job import OutputOptions, Predictor
from .outputs import refuse_existing_outputs
from .serial import run_serial
from .status import report_outcome
from .tables import write_tables


def absolute_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    """``pairs`` with absolute paths: Dask workers may run elsewhere, and error messages in
    summary.csv must not depend on how the run was made. Symbolic links stay as the user
    named them (and resolving them cost 0.25 ms per image, 7 % of a folder of one-cell
    crops)."""
    return [replace(p, image_path=Path(os.path.abspath(p.image_path)),
                    mask_path=Path(os.path.abspath(p.mask_path))) for p in pairs]  # fmt: skip


def predict_folder(
    pairs: Sequence[Pair],
    predictor: Predictor | DaskPredictor,
    out: Path,
    class_names: Sequence[str],
    *,
    rois: bool = False,
    class_masks: bool = False,
    confidence: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
) -> int:
    """Every pair's outputs and the tables under ``out``; 2 when an image failed (the
    others finish), else 0.

    ``predictor`` predicts one image in this process (:func:`~.serial.local_predictor`,
    :func:`~.remote.remote_predictor`), or is a :class:`~.cluster.DaskPredictor`.
    ``rois``, ``class_masks`` and ``confidence`` add those files per image.
    """
    refuse_existing_outputs(out, pairs, class_names, overwrite=overwrite)
    # each image's files under out made absolute, like the pairs Dask workers get
    options = OutputOptions(out.resolve(), tuple(class_names), rois, class_masks, confidence)
    out.mkdir(parents=True, exist_ok=True)
    with bar(quiet, total=len(pairs), unit="image", desc="predict") as images:
        if isinstance(predictor, DaskPredictor):
            results = predictor.run(pairs, options, done=lambda _: images.update(1))
        else:
            results = run_serial(pairs, predictor, options, done=lambda _: images.update(1))
    write_tables(out, results)
    return report_outcome(out, results)
