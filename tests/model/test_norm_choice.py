"""Per-image or training-set intensity ranges, chosen from the labels (model/norm_choice.py)."""

from __future__ import annotations

import warnings

import numpy as np

from conftest import accuracy
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.model.norm_choice import one_class_range
from phenosort.model.symmetry import ProbeEpoch
from phenosort.objects.normalize import Normalization, channel_percentiles
from phenosort.objects.prepared import prepare_image
from phenosort.report_text import decisions
from phenosort.testing import make_objects
from phenosort.training_summary import training_summary

QUICK = {"train_epochs": 30, "train_patience": 0}


def _some(classes: dict[int, int], n: int, seed: int = 0) -> dict[int, int]:
    rng = np.random.default_rng(seed)
    chosen = {}
    for k in sorted(set(classes.values())):
        ids = sorted(i for i, c in classes.items() if c == k)
        chosen.update({int(i): k for i in rng.choice(ids, min(n, len(ids)), replace=False)})
    return chosen


def _fit(names, samples, **settings) -> tuple[ObjectClassifier, list]:
    clf = ObjectClassifier(names, **{**QUICK, **settings})
    events: list = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a chance-level warning is not what is tested
        clf.fit(samples, progress=events.append, probe_progress=events.append)
    return clf, events


def test_one_class_range_is_that_of_the_image_with_one_class():
    """Dim and bright discs of one size: the range measured for the dim ones is the range
    of the same image with the bright discs dim, in each of 2 channels."""
    yy, xx = np.mgrid[:96, :96]
    labels = np.zeros((96, 96), np.uint16)
    for n, (y, x) in enumerate([(y, x) for y in (16, 48, 80) for x in (16, 48, 80)], 1):
        labels[(yy - y) ** 2 + (xx - x) ** 2 <= 36] = n
    bright = labels % 2 == 0
    image = np.full((2, 96, 96), 10, np.uint16)
    image[:, labels > 0] = [[50], [70]]
    image[:, bright & (labels > 0)] = [[200], [90]]
    norm = Normalization("percentile")
    prep = prepare_image(image, labels, "CYX", None, norm)
    dim_rows = prep.table.rows([n for n in range(1, 10) if n % 2])
    dim_image = np.where(labels > 0, np.array([50, 70])[:, None, None], 10).astype(np.uint16)
    expected = channel_percentiles(dim_image, norm.low, norm.high)
    got = one_class_range(prep, dim_rows, norm)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert not np.array_equal(got[1], prep.image_range[1])  # the mixed image's is other


def test_brightness_classes_get_training_set_ranges_and_a_dim_only_image_stays_dim():
    """Per-image ranges read the dim cells of an image without bright ones as bright: the
    probes find it on one mixed training image, and the model keeps absolute intensity."""
    train = make_objects("brightness", grid=(8, 8), seed=100)
    test = make_objects("brightness", grid=(8, 8), seed=200)
    sample = Sample(train.image, train.labels, _some(train.classes, 10), train.axes)
    clf, _ = _fit(train.class_names, [sample])
    assert clf.normalization.mode == "fixed"
    record = clf.symmetry["normalization"]
    assert record["chosen"] == "fixed"
    one_class = record["tests"]["one_class"]
    assert one_class["drop"] > 0.15 and one_class["p_value"] < 0.05
    # one training image: its range is the training set's, so one probe tested both
    assert len(clf.symmetry["probe_epochs"]) == 2
    for keep in (1, 2):
        alone = test.only(keep)
        assert (
            accuracy(clf.predict(alone.image, alone.labels, axes=test.axes), alone.classes) >= 0.9
        )
    # the per-image ranges would call every dim cell bright
    pct, _ = _fit(train.class_names, [sample], norm_mode="percentile")
    dim = test.only(1)
    assert accuracy(pct.predict(dim.image, dim.labels, axes=test.axes), dim.classes) < 0.5
    assert pct.symmetry.get("normalization") is None  # a setting is not tested
    # the model file's report and the training summary say why
    summary = "\n".join(training_summary({"symmetry": clf.symmetry}))
    assert "normalisation fixed: per-image ranges change the class when an image holds one" in (
        summary
    )
    row = next(r for r in decisions(clf.metadata()) if r[0] == "normalisation")
    assert row[1].startswith("fixed") and "true-class probability drop +0." in row[2]


def test_texture_classes_keep_per_image_ranges_without_another_probe():
    train = make_objects("texture", grid=(8, 8), seed=100)
    sample = Sample(train.image, train.labels, _some(train.classes, 10), train.axes)
    clf, _ = _fit(train.class_names, [sample])
    assert clf.normalization.mode == "percentile"
    record = clf.symmetry["normalization"]
    assert record["chosen"] == "percentile" and "fixed_true_probability" not in record
    assert all(t["drop"] < 0.15 for t in record["tests"].values())
    assert len(clf.symmetry["probe_epochs"]) == 2


def test_images_of_one_class_each_get_training_set_ranges():
    """A dim-only and a bright-only training image: under their own ranges the classes
    differ only in noise, which the probe learns and a mixed image does not show. The
    training set's mix in each image gives it away; a probe on training-set ranges runs as
    runs 3 and 4, and a mixed test image is classified right."""
    data = make_objects("brightness", grid=(8, 8), seed=100)
    test = make_objects("brightness", grid=(8, 8), seed=200)
    samples = []
    for k in (1, 2):
        alone = data.only(k)
        annotations = _some(alone.classes, 10, k)
        samples.append(Sample(alone.image, alone.labels, annotations, data.axes, name=f"only {k}"))
    clf, events = _fit(data.class_names, samples)
    record = clf.symmetry["normalization"]
    assert record["tests"]["mixed"]["drop"] > 0.15 and record["fixed_learnt"]
    assert clf.normalization.mode == "fixed"
    runs = clf.symmetry["probe_epochs"]
    assert len(runs) == 4
    probes = [e for e in events if isinstance(e, ProbeEpoch)]
    assert [(e.run, e.epoch) for e in probes] == [
        (run, epoch) for run, n in enumerate(runs, 1) for epoch in range(1, n + 1)
    ]
    assert [e.n_runs for e in probes] == [2] * (runs[0] + runs[1]) + [4] * (runs[2] + runs[3])
    assert accuracy(clf.predict(test.image, test.labels, axes=test.axes), test.classes) >= 0.9
