"""Pseudo-labels: only unlabelled objects are candidates, each class is capped by its labelled
count, and the second round is recorded in the model file."""

from __future__ import annotations

import numpy as np

from conftest import FAST
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.model import pseudo
from phenosort.testing import make_objects


def test_candidates_exclude_labelled_rows_and_are_capped(monkeypatch):
    rows = pseudo.candidate_rows([5, 3], [np.array([0, 3]), np.array([], int)], seed=0)
    assert [r.tolist() for r in rows] == [[1, 2, 4], [0, 1, 2]]
    monkeypatch.setattr(pseudo, "MAX_CANDIDATES", 4)
    capped = pseudo.candidate_rows([5, 3], [np.array([0, 3]), np.array([], int)], seed=0)
    assert sum(r.size for r in capped) == 4
    assert set(capped[0].tolist()) <= {1, 2, 4}


def test_select_keeps_confident_objects_per_class_up_to_the_ratio():
    probs = np.array([[0.95, 0.05], [0.99, 0.01], [0.6, 0.4], [0.1, 0.9], [0.97, 0.03]])
    picked, classes = pseudo.select(probs, np.array([1, 3]), threshold=0.9, ratio=2.0)
    assert picked.tolist() == [1, 4, 3]  # class 0: the two most confident; 0.6 never
    assert classes.tolist() == [0, 0, 1]
    assert pseudo.select(probs[:0], np.array([1, 1]), 0.9, 1.0)[0].size == 0


def test_fit_adds_pseudo_labels_of_unlabelled_objects_only(tmp_path):
    train = make_objects("brightness", grid=(5, 5), seed=1)
    few = dict(list(train.classes.items())[:8])
    settings = {**FAST, "train_epochs": 2, "predict_tta": 1, "train_pseudo_threshold": 0.5}
    clf = ObjectClassifier(train.class_names, **settings)
    events = []
    clf.fit([Sample(train.image, train.labels, few, train.axes)], progress=events.append)
    assert [e.epoch for e in events] == [1, 2, 3]  # 2 + a second round of 1
    assert {e.n_epochs for e in events} == {3}
    entry = clf.training_data[0]
    assert sorted(entry["label_ids"]) == sorted(few)
    assert entry["pseudo_label_ids"] and not set(entry["pseudo_label_ids"]) & set(few)
    assert len(entry["pseudo_label_ids"]) <= 2 * len(few)
    loaded = ObjectClassifier.load(clf.save(tmp_path / "m.phenosort"))
    assert loaded.config.train_pseudo_threshold == 0.5
    assert loaded.training_data[0]["pseudo_label_ids"] == entry["pseudo_label_ids"]
    pred = loaded.predict(train.image, train.labels, axes=train.axes)
    assert set(pred.label_id[pred.in_training_set].tolist()) == set(few)  # user labels only
