"""Short training runs on the real datasets in ../shared/data, scored on held-out images."""

from __future__ import annotations

import numpy as np

from conftest import shared_dataset
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.evaluation import score_samples
from phenosort.sample_sets import labels_per_class, load_sample_set, split_by_image


def _load(name: str, keep_classes=None):
    return load_sample_set(shared_dataset(name), keep_classes)


def _split_by_image(samples):
    return split_by_image(samples, 0.6, 12345)


def test_split_never_shares_an_image():
    samples, _ = _load("pannuke_breast25")
    train, test = _split_by_image(samples)
    assert not {s.name for s in train} & {s.name for s in test}
    assert len(train) == 15 and len(test) == 10
    assert {s.name for s in train} | {s.name for s in test} == {s.name for s in samples}


def test_labels_per_class_draws_n_per_class_from_training_images_only():
    samples, _ = _load("wbc", keep_classes={1, 2, 3, 4})
    train, _ = _split_by_image(samples)
    picked = labels_per_class(train, 10, seed=0)
    counts = np.bincount([c for s in picked for c in s.annotations.values()], minlength=5)
    assert counts[1:].tolist() == [10, 10, 10, 10]
    assert {s.name for s in picked} <= {s.name for s in train}
    again = labels_per_class(train, 10, seed=0)
    assert [s.annotations for s in again] == [s.annotations for s in picked]


def test_pannuke_short_training_beats_chance_on_held_out_images():
    samples, names = _load("pannuke_breast25")
    train, test = _split_by_image(samples)
    clf = ObjectClassifier(names, train_epochs=12, train_patience=0)
    clf.fit(train)
    metrics = score_samples(clf, test)
    assert metrics["n"] > 150
    assert metrics["macro_f1"] > 0.65  # chance is 0.5 for two classes


def test_wbc_short_training_beats_chance_on_held_out_images():
    samples, names = _load("wbc", keep_classes={1, 2, 3, 4})  # basophil: 4 examples
    train, test = _split_by_image(samples)
    clf = ObjectClassifier(names, train_epochs=8, train_patience=0)
    clf.fit(train)
    metrics = score_samples(clf, test)
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
