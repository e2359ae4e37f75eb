"""k-fold cross-validation over annotated objects: an estimate that uses every label once
as a test object (useful when labels are too few for a hold-out set)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from .classifier import ObjectClassifier, Sample
from .errors import InvalidInputError
from .model.config import ModelConfig
from .model.metrics import confusion_matrix, report


def score_samples(classifier: ObjectClassifier, samples: Sequence[Sample]) -> dict:
    """Predict the annotated objects of ``samples`` and report against their annotations
    (accuracy, macro-F1, per class, confusion matrix). Use images the model never saw."""
    n = len(classifier.class_names)
    truth, predicted = [], []
    for s in samples:
        if not s.annotations:
            continue
        expected = {
            int(label): classifier.resolve_class(v, s.name, label)
            for label, v in s.annotations.items()
        }
        pred = classifier.predict(s.image, s.labels, axes=s.axes, voxel_size=s.voxel_size,
                                  label_ids=sorted(expected))  # fmt: skip
        truth += [expected[int(i)] - 1 for i in pred.label_id]
        predicted += list(pred.class_index - 1)
    return report(confusion_matrix(np.array(truth), np.array(predicted), n), classifier.class_names)


def stratified_folds(classes: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k-1) of each object, each class spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    folds = np.empty(classes.size, int)
    offset = 0
    for cls in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == cls))
        folds[members] = (np.arange(members.size) + offset) % k
        offset += members.size  # the next class starts where this one ended: balanced folds
    return folds


def cross_validate(
    class_names: Sequence[str],
    samples: Sequence[Sample],
    k: int = 5,
    config: ModelConfig | None = None,
    *,
    cancel: threading.Event | None = None,
) -> dict:
    """Train ``k`` models, each without one fold of the annotated objects, and score every
    object with the model that did not see it. Returns :func:`metrics.report` of the pooled
    confusion matrix plus ``per_fold`` accuracies. Objects of one image can fall in
    different folds: for an estimate across images, hold out whole images instead."""
    if k < 2:
        raise InvalidInputError(f"k-fold needs k >= 2, got {k}")
    config = (config or ModelConfig()).updated(train_val_fraction=0.0)
    probe = ObjectClassifier(class_names, config)
    keys = [(i, int(label)) for i, s in enumerate(samples) for label in s.annotations]
    classes = np.array(
        [
            probe.resolve_class(samples[i].annotations[label], samples[i].name, label)
            for i, label in keys
        ]
    )
    if np.bincount(classes).max(initial=0) < k or len(keys) < 2 * k:
        raise InvalidInputError(f"{k}-fold cross-validation needs at least {k} labels per class")
    folds = stratified_folds(classes, k, config.train_seed)
    n = len(class_names)
    pooled = np.zeros((n, n), np.int64)
    per_fold = []
    for fold in range(k):
        train = []
        for i, s in enumerate(samples):
            kept = {
                label: v
                for (j, label), f in zip(keys, folds)
                if j == i and f != fold
                for v in [s.annotations[label]]
            }
            train.append(Sample(s.image, s.labels, kept, s.axes, s.voxel_size, s.name))
        clf = ObjectClassifier(class_names, config)
        clf.fit(train, cancel=cancel)
        truth, predicted = [], []
        for i, s in enumerate(samples):
            test = [label for (j, label), f in zip(keys, folds) if j == i and f == fold]
            if not test:
                continue
            pred = clf.predict(s.image, s.labels, axes=s.axes, voxel_size=s.voxel_size,
                               label_ids=test)  # fmt: skip
            lookup = {label: c for (j, label), c in zip(keys, classes) if j == i}
            truth += [lookup[int(v)] - 1 for v in pred.label_id]
            predicted += list(pred.class_index - 1)
        cm = confusion_matrix(np.array(truth), np.array(predicted), n)
        per_fold.append(report(cm)["accuracy"])
        pooled += cm
    result = report(pooled, list(class_names))
    result["per_fold_accuracy"] = per_fold
    result["k"] = k
    return result
