"""The settled live model: a full training on the session's labels, once they stop changing.

A live model warm-started at every label and trained a few steps each time stays below a
full training on the same labels (pannuke_breast25:10, 3 seeds: 0.672 against 0.741), and
more steps on the same network did not close the gap (944 more steps with a decaying
learning rate: 0.677 before, 0.672 after; docs/benchmarks.md). So when the labels settle,
the session trains a new classifier exactly as ``ObjectClassifier.fit`` does (symmetries
tested on the labels, the one-cycle schedule, the chance check), cancelled by the next
change, and the live model adopts it (:meth:`LiveModel.adopt`).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..classifier import ObjectClassifier, Sample

if TYPE_CHECKING:
    from .live_update import LiveModel


def full_training(
    model: LiveModel, labels: Mapping[str, Mapping[int, int]], cancel: threading.Event
) -> ObjectClassifier:
    """A classifier trained on ``labels`` (``{image key: {label ID: class 1..K}}``) of the
    session's images, as a full training would: from the starting version's weights when the
    session started from one (``warm_start``), from scratch otherwise. Raises ``Cancelled``
    when ``cancel`` is set."""
    samples = []
    for key in sorted(labels):
        image, mask, axes, voxel_size, name = model.images[key].raw
        samples.append(Sample(image, mask, dict(labels[key]), axes, voxel_size, name))
    if model.warm:
        clf = copy.deepcopy(model.clf)
    else:
        clf = ObjectClassifier(model.clf.class_names, model.clf.config)
    clf.fit(samples, warm_start=model.warm, cancel=cancel)
    return clf
