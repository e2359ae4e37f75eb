"""Short training runs on the real datasets in ../shared/data, scored on held-out images."""

from __future__ import annotations

import csv

import numpy as np

from conftest import shared_dataset
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.dataio import find_sample_pairs, load_pair
from phenosort.model.metrics import confusion_matrix, report


def _load(name: str, keep_classes=None):
    root = shared_dataset(name)
    with open(root / "classes.txt", newline="") as fh:
        names = {int(r["class"]): r["name"] for r in csv.DictReader(fh)}
    samples = []
    for pair in find_sample_pairs(root / "samples"):
        image, labels = load_pair(pair)
        with open(pair.image_path.parent / "classes.csv", newline="") as fh:
            ann = {int(r["label"]): int(r["class"]) for r in csv.DictReader(fh)}
        if keep_classes:
            ann = {k: v for k, v in ann.items() if v in keep_classes}
        samples.append(Sample(image.array, labels, ann, image.axes, image.voxel_size, pair.stem))
    return samples, [names[k] for k in sorted(names) if not keep_classes or k in keep_classes]


def _split_by_image(samples, fraction=0.6, seed=12345):
    """The benchmark protocol's split: shuffled sorted sample ids, first 60 % train."""
    ids = sorted(s.name for s in samples)
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    cut = round(fraction * len(ids))
    train = {n for n in order[:cut]}
    return [s for s in samples if s.name in train], [s for s in samples if s.name not in train]


def _score(clf, test_samples, n_classes):
    truth, predicted = [], []
    for s in test_samples:
        ids = sorted(s.annotations)
        if not ids:
            continue
        pred = clf.predict(s.image, s.labels, axes=s.axes, voxel_size=s.voxel_size, label_ids=ids)
        truth += [s.annotations[int(i)] - 1 for i in pred.label_id]
        predicted += list(pred.class_index - 1)
    return report(confusion_matrix(np.array(truth), np.array(predicted), n_classes))


def test_split_never_shares_an_image():
    samples, _ = _load("pannuke_breast25")
    train, test = _split_by_image(samples)
    assert not {s.name for s in train} & {s.name for s in test}
    assert len(train) == 15 and len(test) == 10


def test_pannuke_short_training_beats_chance_on_held_out_images():
    samples, names = _load("pannuke_breast25")
    train, test = _split_by_image(samples)
    clf = ObjectClassifier(names, train_epochs=12, train_patience=0)
    clf.fit(train)
    metrics = _score(clf, test, len(names))
    assert metrics["n"] > 150
    assert metrics["macro_f1"] > 0.65  # chance is 0.5 for two classes


def test_wbc_short_training_beats_chance_on_held_out_images():
    samples, names = _load("wbc", keep_classes={1, 2, 3, 4})  # basophil: 4 examples
    train, test = _split_by_image(samples)
    clf = ObjectClassifier(names, train_epochs=8, train_patience=0)
    clf.fit(train)
    metrics = _score(clf, test, len(names))
    assert metrics["n"] > 100
    assert metrics["accuracy"] > 0.5 and metrics["macro_f1"] > 0.35  # chance: 0.25


def test_cells3d_volume_plumbing():
    samples, names = _load("cells3d_nuclei")
    (volume,) = samples
    assert volume.voxel_size is None  # the file has no calibration: the README gives it
    voxel = (0.29, 0.26, 0.26)
    ids = sorted(volume.annotations)
    train = Sample(volume.image, volume.labels, {i: volume.annotations[i] for i in ids[::2]},
                   volume.axes, voxel)  # fmt: skip
    clf = ObjectClassifier(names, train_epochs=3, train_val_fraction=0, net_width=8, patch_size=32)
    clf.fit([train])
    planes, rows, _ = clf.patch_spec.shape
    assert planes == round(32 * 0.26 / 0.29) < rows  # same physical extent as in-plane
    pred = clf.predict(volume.image, volume.labels, axes=volume.axes, voxel_size=voxel)
    assert sorted(pred.label_id.tolist()) == sorted(np.unique(volume.labels[volume.labels > 0]))
    assert pred.in_training_set.sum() == len(ids[::2])
