"""Pseudo-labels: the unlabelled objects of the training images that a first model is sure of.

With ten labels per class most objects of the training images carry no label, yet they show
the same staining, scale and neighbourhoods as the test objects. A first model classifies
them; the most confident ones per predicted class join the labelled objects for a shorter
second round of training. Only unlabelled objects are candidates, pseudo-labels never enter
the validation set, and each class gets at most ``ratio`` x its labelled count, so the
balance of the user's labels is kept and the second round stays cheap.

:func:`candidate_rows` picks the objects to score, :func:`pseudo_labels` scores them with the
first model and chooses (:func:`select`); ``model/fit.py`` runs the second round with them.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from ..objects.prepared import Annotated

if TYPE_CHECKING:
    from ..objects.normalize import Normalization
    from ..objects.patches import PatchSpec
    from ..objects.prepared import PreparedImage
    from ..objects.table import ObjectTable
    from .inference import BatchedInference

MAX_CANDIDATES = 4096  # unlabelled objects scored per training run (bounds time on huge images)


def candidate_rows(n_objects: list[int], labelled: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Per image, the rows of unlabelled objects to score: all of them, or a seeded random
    subset of ``MAX_CANDIDATES`` in total (sorted)."""
    free = [np.setdiff1d(np.arange(n), rows) for n, rows in zip(n_objects, labelled)]
    total = sum(f.size for f in free)
    if total <= MAX_CANDIDATES:
        return free
    keep = np.zeros(total, bool)
    keep[np.random.default_rng(seed).permutation(total)[:MAX_CANDIDATES]] = True
    out, start = [], 0
    for f in free:
        out.append(f[keep[start : start + f.size]])
        start += f.size
    return out


def select(
    probabilities: np.ndarray, labelled_counts: np.ndarray, threshold: float, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """(indices into ``probabilities``, 0-based classes) of the pseudo-labels: per predicted
    class the most confident objects with probability >= ``threshold``, at most
    ``round(ratio * labelled_counts[class])`` of them."""
    if probabilities.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    predicted = probabilities.argmax(1)
    confidence = probabilities.max(1)
    chosen, classes = [], []
    for k, count in enumerate(labelled_counts):
        members = np.flatnonzero((predicted == k) & (confidence >= threshold))
        members = members[np.argsort(-confidence[members], kind="stable")]
        members = members[: int(round(ratio * count))]
        chosen.append(members)
        classes.append(np.full(members.size, k))
    return np.concatenate(chosen).astype(np.int64), np.concatenate(classes).astype(np.int64)


def second_round_epochs(epochs: int, candidates: list[np.ndarray]) -> int:
    """Epochs of the second round: half the first round's (at least 1); 0 without
    candidates."""
    return max(1, epochs // 2) if any(c.size for c in candidates) else 0


def pseudo_labels(
    first: BatchedInference,
    data: Annotated,
    candidates: list[np.ndarray],
    spec: PatchSpec,
    norm: Normalization,
    threshold: float,
    ratio: float,
) -> Annotated:
    """The pseudo-labelled objects of the images of ``data``: the ``candidates`` (rows per
    image) classified by the first model, ``first``, then chosen by :func:`select` among
    the candidates of all images, each class capped by its count in ``data``."""
    probabilities = []
    for prep, rows in zip(data.preps, candidates):
        table = prep.table.subset(rows)
        cut = partial(_cut, prep, table, spec, norm)
        probabilities.append(first.of_objects(len(table), cut))
    counts = np.bincount(data.targets, minlength=first.n_classes)
    picked, classes = select(np.concatenate(probabilities), counts, threshold, ratio)
    owner = np.repeat(np.arange(len(candidates)), [c.size for c in candidates])[picked]
    rows = np.concatenate(candidates)[picked]
    per_image = [owner == i for i in range(len(candidates))]
    return Annotated(data.preps, [rows[o] for o in per_image], [classes[o] + 1 for o in per_image])


def _cut(
    prep: PreparedImage, table: ObjectTable, spec: PatchSpec, norm: Normalization, rows: np.ndarray
) -> np.ndarray:
    return prep.patches(table.subset(rows), spec, norm)
