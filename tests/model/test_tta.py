"""Test-time augmentation: the views are the symmetries that training allowed, and averaging
over them changes nothing for an input that is already symmetric."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from phenosort.classifier import ObjectClassifier
from phenosort.model.augment import Augmentation
from phenosort.model.tta import predict_proba, tta_views


def _aug(flip: bool, rot90: bool) -> Augmentation:
    return Augmentation("zyx" if flip else "", rot90, 0.0, 0.0, 0.0, 0.0, 0.0)


def _distinct(views, x: torch.Tensor) -> int:
    outs = [v(x) for v in views]
    return len({tuple(o.flatten().tolist()) for o in outs})


@pytest.mark.parametrize(
    "flip, rot90, shape, expected",
    [(True, True, (6, 6), 8), (True, False, (6, 6), 4), (False, True, (6, 6), 4),
     (False, False, (6, 6), 1), (True, True, (3, 6, 6), 8), (True, True, (4, 6), 4)],
)  # fmt: skip
def test_views_are_the_distinct_allowed_symmetries(flip, rot90, shape, expected):
    x = torch.arange(float(np.prod(shape))).reshape(1, 1, *shape)
    views = tta_views(_aug(flip, rot90), shape, 8)
    assert len(views) == expected
    assert _distinct(views, x) == expected  # no view repeats another
    assert torch.equal(views[0](x), x)  # the identity comes first
    assert len(tta_views(_aug(flip, rot90), shape, 2)) == min(2, expected)


def test_symmetric_input_gets_the_plain_prediction():
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    x = torch.rand(4, 2, 8, 8)
    x = x + x.flip(-1)
    x = x + x.flip(-2)
    x = x + x.transpose(-1, -2)  # invariant under all 8 views
    plain = predict_proba(net, x, tta_views(_aug(True, True), (8, 8), 1))
    averaged = predict_proba(net, x, tta_views(_aug(True, True), (8, 8), 8))
    torch.testing.assert_close(plain, averaged)


def test_tta_keeps_classes_on_a_learned_task_and_is_recorded(trained, brightness_data, tmp_path):
    _, test = brightness_data
    clf = ObjectClassifier.load(trained.save(tmp_path / "m.phenosort"))  # a private copy
    assert clf.config.predict_tta == 1  # off by default (8x the prediction cost)
    plain = clf.predict(test.image, test.labels, axes=test.axes)
    clf.config = clf.config.updated(predict_tta=8)
    with_tta = clf.predict(test.image, test.labels, axes=test.axes)
    clf.save(tmp_path / "tta.phenosort")
    assert ObjectClassifier.load(tmp_path / "tta.phenosort").config.predict_tta == 8  # recorded
    assert with_tta.probabilities.shape == plain.probabilities.shape
    np.testing.assert_allclose(with_tta.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # brightness does not depend on orientation: the classes agree
    assert (with_tta.class_index == plain.class_index).mean() >= 0.95
