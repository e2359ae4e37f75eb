"""Symmetries chosen from the labels (model/symmetry.py) and the chance check (metrics)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from conftest import REPO, accuracy, sample_of
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.errors import ChanceLevelWarning
from phenosort.model.augment import Augmentation, augment
from phenosort.model.config import ModelConfig
from phenosort.model.metrics import chance_check, drop_test
from phenosort.model.symmetry import (
    PROBE_WIDTH,
    ProbeEpoch,
    probe_config,
    transform,
)
from phenosort.model.train import EpochEvent
from phenosort.model.tta import tta_views
from phenosort.testing import make_objects

# the engine's defaults, shortened where it does not change what is tested
QUICK = {"train_epochs": 30, "train_patience": 0}


def _labels_per_class(data, n: int, seed: int = 0) -> dict[int, int]:
    rng = np.random.default_rng(seed)
    chosen = {}
    for k in range(1, len(data.class_names) + 1):
        ids = sorted(i for i, c in data.classes.items() if c == k)
        chosen.update({int(i): k for i in rng.choice(ids, n, replace=False)})
    return chosen


def _train(task: str, n: int, make=None, **settings):
    make = {"grid": (8, 8), **(make or {})}
    train = make_objects(task, seed=11, **make)
    test = make_objects(task, seed=12, **{**make, "grid": (8, 8)})
    clf = ObjectClassifier(train.class_names, **{**QUICK, **settings})
    annotations = _labels_per_class(train, n)
    events: list = []
    sample = Sample(train.image, train.labels, annotations, train.axes, train.voxel_size)
    clf.fit([sample], progress=events.append, probe_progress=events.append)
    _check_probe_progress(clf, events)
    pred = clf.predict(test.image, test.labels, axes=test.axes, voxel_size=test.voxel_size)
    return clf, accuracy(pred, test.classes)


def _check_probe_progress(clf, events: list) -> None:
    """Every epoch of every probe run was reported, in order and before the training's."""
    probes = [e for e in events if isinstance(e, ProbeEpoch)]
    assert events[: len(probes)] == probes
    assert all(isinstance(e, EpochEvent) for e in events[len(probes) :])
    runs = clf.symmetry["probe_epochs"]
    assert [(e.run, e.epoch) for e in probes] == [
        (run, epoch) for run, n in enumerate(runs, 1) for epoch in range(1, n + 1)
    ]
    longest = min(clf.config.symmetry_probe_epochs, clf.config.most_epochs)
    assert all(e.n_epochs == longest and e.seconds > 0 for e in probes)
    # the runs planned: the first probe's 2, then (if it learnt nothing) all of them
    assert all(e.n_runs == (2 if e.run <= 2 else len(runs)) for e in probes)


def _kept(clf) -> dict[str, bool]:
    return {t["name"]: t["kept"] for t in clf.symmetry["tests"]}


@pytest.mark.parametrize(
    ("task", "broken"),
    [("texture", {"rot90"}), ("elongation", {"rot90"}), ("chirality", {"flip_x"})],
)
def test_orientation_tasks_leave_out_the_symmetry_that_swaps_classes(task, broken):
    """5 labels per class, default settings: the symmetry that turns one class into the
    other is left out, with its evidence, and the model learns the task."""
    clf, acc = _train(task, 5)
    kept = _kept(clf)
    assert {n for n, k in kept.items() if not k} >= broken
    for test in clf.symmetry["tests"]:
        if test["name"] in broken:
            assert test["drop"] > 0.15 and test["p_value"] < 0.05
    assert acc >= 0.95
    # training and test-time augmentation use only what was kept
    assert clf.augmentation.rot90 == kept["rot90"]
    assert ("x" in clf.augmentation.flip_axes) == kept["flip_x"]


def test_invariant_task_keeps_every_symmetry():
    clf, acc = _train("brightness", 5)
    assert all(_kept(clf).values())
    assert acc >= 0.95
    assert clf.assessment["verdict"] == "better"
    # one probe, one run per fold; each ended once it had learnt its fold
    epochs = clf.symmetry["probe_epochs"]
    assert len(epochs) == 2 and max(epochs) < clf.config.symmetry_probe_epochs


def test_progress_counts_the_probe_runs_added_when_the_first_probe_learnt_nothing():
    """Classes drawn at random: the first probe learns nothing, so one probe per symmetry
    group (flips, turns) follows, 6 runs in all; the events count them as they come."""
    data = make_objects("brightness", grid=(8, 8), seed=11)
    rng = np.random.default_rng(0)
    ids = sorted(data.classes)
    shuffled = dict(zip(ids, rng.permutation([data.classes[i] for i in ids]).tolist()))
    clf = ObjectClassifier(data.class_names, train_epochs=3, train_patience=0)
    events: list = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)  # nothing to learn, as intended
        clf.fit(
            [Sample(data.image, data.labels, shuffled, data.axes)],
            progress=events.append,
            probe_progress=events.append,
        )
    assert len(clf.symmetry["probe_epochs"]) == 6
    _check_probe_progress(clf, events)
    assert [e.n_runs for e in events if isinstance(e, ProbeEpoch) and e.epoch == 1] == [
        2, 2, 6, 6, 6, 6
    ]  # fmt: skip


def test_z_polarity_leaves_out_the_z_flip_only():
    """A 3D task whose cue lies along Z: flips in Z swap the classes, in-plane ones do not."""
    make = {"z_planes": 8, "voxel_size": (2.0, 1.0, 1.0), "cell": 20}
    clf, acc = _train("polarity_z", 5, make=make, net_width=16, train_epochs=15)
    kept = _kept(clf)
    assert not kept["flip_z"]
    assert kept["rot90"] and kept["flip_x"] and kept["flip_y"]
    assert "z" not in clf.augmentation.flip_axes
    assert acc >= 0.95


def test_decision_is_deterministic_for_a_seed():
    a, _ = _train("texture", 5, train_epochs=2)
    b, _ = _train("texture", 5, train_epochs=2)
    assert a.symmetry["tests"] == b.symmetry["tests"]
    assert a.symmetry["estimate"] == b.symmetry["estimate"]


def test_settings_impose_symmetries_and_a_forced_rotation_is_reported_at_chance(tmp_path):
    """Rotations forced on for an orientation task: the model learns nothing, and says so
    (warning, model file, ``phenosort info``), but is kept. A hold-out of 30 objects: with
    10, a model that learnt nothing scores 7 of 10 often enough to be called "uncertain"."""
    with pytest.warns(ChanceLevelWarning, match="not clearly better than chance"):
        clf, acc = _train(
            "texture", 50, make={"grid": (12, 12)}, aug_rot90=True, aug_flip=True,
            train_val_fraction=0.3,
        )  # fmt: skip
    assert acc < 0.75
    assert all(t["source"] == "setting" for t in clf.symmetry["tests"])
    assert clf.assessment["source"] == "hold-out"
    assert clf.assessment["verdict"] == "chance" and not clf.assessment["better_than_chance"]
    path = clf.save(tmp_path / "m.phenosort")
    loaded = ObjectClassifier.load(path)
    assert loaded.assessment == clf.assessment and loaded.symmetry == clf.symmetry
    info = subprocess.run(
        [sys.executable, "-m", "phenosort.cli", "info", str(path)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert "NOT better than chance" in info.stdout
    assert "rot90 on (setting)" in info.stdout
    assert "warning: this model is not clearly better than chance" in info.stdout


def test_without_hold_out_the_2_fold_estimate_judges_the_model():
    clf, _ = _train("texture", 5)
    assert clf.validation is None
    assert clf.assessment["source"] == "2-fold estimate"
    estimate = np.asarray(clf.symmetry["estimate"]["confusion_matrix"])
    assert estimate.sum() == 10  # every label predicted once by a probe that never saw it
    assert clf.assessment["n"] == 10


def test_no_probe_when_switched_off():
    clf, _ = _train("brightness", 5, symmetry_probe_epochs=0, train_epochs=2)
    assert all(t["kept"] and t["drop"] is None for t in clf.symmetry["tests"])
    assert clf.symmetry["estimate"] is None and clf.assessment is None


def test_cli_training_summary_names_the_decision(tmp_path):
    import tifffile

    data = make_objects("texture", grid=(6, 6), seed=3)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    tifffile.imwrite(tmp_path / "images" / "a.tif", data.image)
    tifffile.imwrite(tmp_path / "masks" / "a.tif", data.labels)
    annotations = _labels_per_class(data, 5)
    rows = ["image,label,class"] + [
        f"a,{i},{data.class_names[c - 1]}" for i, c in annotations.items()
    ]
    (tmp_path / "ann.csv").write_text("\n".join(rows) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "phenosort.cli", "train", str(tmp_path), "--annotations",
         str(tmp_path / "ann.csv"), "--classes", ",".join(data.class_names), "--model",
         str(tmp_path / "m.phenosort"), "--quiet", "--set", "train_epochs=20", "--json"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    kept = {t["name"]: t["kept"] for t in result["symmetry"]["tests"]}
    assert kept["rot90"] is False
    assert result["assessment"]["source"] == "2-fold estimate"


def test_old_model_records_read_as_before():
    aug = Augmentation.from_dict(
        {"flip": True, "rot90": False, "rotate_degrees": 0.0, "scale": 0.0, "intensity": 0.0,
         "gamma": 0.0, "noise": 0.0}
    )  # fmt: skip
    assert aug.flip_axes == "zyx" and not aug.rot90
    assert Augmentation.from_config(ModelConfig(aug_flip=True), 2).flip_axes == "yx"
    assert Augmentation.from_config(ModelConfig(aug_flip=False), 3).flip_axes == "z"


def test_config_accepts_auto_true_false_only():
    with pytest.raises(ValueError, match="aug_rot90 must be true, false or auto"):
        ModelConfig(aug_rot90="sometimes").validated()
    assert ModelConfig(aug_flip_z=False).validated().aug_flip_z is False


def test_tta_views_use_only_kept_symmetries():
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(1, 2, 8, 8)
    keep_flips = Augmentation("yx", False, 0, 0, 0, 0, 0)
    views = [v(x) for v in tta_views(keep_flips, (8, 8), 8)]
    assert len(views) == 4
    turned = torch.rot90(x, 1, dims=(-2, -1))
    assert not any(torch.equal(v, turned) for v in views)
    only_x = Augmentation("x", False, 0, 0, 0, 0, 0)
    assert len(tta_views(only_x, (8, 8), 8)) == 2


def test_augment_flips_only_the_named_axes():
    x = torch.arange(64, dtype=torch.float32).reshape(1, 1, 1, 8, 8).repeat(64, 2, 2, 1, 1)
    x[:, :, 1] += 100  # plane 1 differs from plane 0: a Z flip would show
    aug = Augmentation("x", False, 0, 0, 0, 0, 0)
    out = augment(x, (2, 8, 8), aug, torch.Generator().manual_seed(0))
    flipped = x.flip(-1)
    for sample in out:
        assert torch.equal(sample, x[0]) or torch.equal(sample, flipped[0])
    assert any(torch.equal(sample, flipped[0]) for sample in out)


def test_transform_is_the_named_symmetry():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(transform(x, "flip_x"), x.flip(-1))
    assert torch.equal(transform(x, "flip_y"), x.flip(-2))
    assert torch.equal(transform(x, "rot90"), torch.rot90(x, 1, dims=(-2, -1)))


def test_drop_test_separates_a_drop_from_noise():
    rng = np.random.default_rng(0)
    classes = np.repeat([0, 1], 10)
    p = rng.uniform(0.6, 1.0, 20)
    drop, p_value = drop_test(p, p - rng.uniform(0.3, 0.6, 20), classes, 0)
    assert drop > 0.3 and p_value < 0.01
    drop, p_value = drop_test(p, p + rng.normal(0, 0.05, 20), classes, 0)
    assert abs(drop) < 0.05 and p_value > 0.05


@pytest.mark.parametrize(
    ("cm", "verdict"),
    [
        ([[10, 0], [0, 10]], "better"),
        ([[5, 5], [5, 5]], "chance"),
        ([[4, 1], [1, 4]], "uncertain"),  # 80 % of 10: too few to show it
        ([[9, 1, 0], [0, 9, 1], [1, 0, 9]], "better"),
    ],
)
def test_chance_check_verdicts(cm, verdict):
    result = chance_check(np.array(cm), "hold-out")
    assert result["verdict"] == verdict
    assert result["better_than_chance"] == (verdict == "better")
    assert bool(result["warning"]) == (verdict != "better")


def test_existing_fixture_model_records_the_decision(trained, brightness_data):
    """The shared small model (FAST settings) carries a decision and an assessment."""
    assert {t["name"] for t in trained.symmetry["tests"]} == {"flip_x", "flip_y", "rot90"}
    assert trained.assessment is not None
    _, test = brightness_data
    pred = trained.predict(test.image, test.labels, axes=test.axes)
    assert accuracy(pred, test.classes) >= 0.9
    assert sample_of(test) is not None


def test_the_order_of_annotations_does_not_change_the_model():
    """A CSV lists labels in any order; the model (hold-out, batches, weights) is the same."""
    data = make_objects("brightness", grid=(6, 6), seed=5)
    annotations = _labels_per_class(data, 6)
    shuffled = dict(reversed(list(annotations.items())))
    models = []
    for ann in (annotations, shuffled):
        clf = ObjectClassifier(data.class_names, train_epochs=3, symmetry_probe_epochs=2)
        clf.fit([Sample(data.image, data.labels, ann, data.axes)])
        models.append(clf)
    a, b = (m.net.state_dict() for m in models)
    assert all(torch.equal(a[k], b[k]) for k in a)
    first, second = (m.symmetry for m in models)
    assert first["tests"] == second["tests"] and first["estimate"] == second["estimate"]


def test_continued_training_keeps_the_models_symmetries_per_axis():
    """A warm start neither re-tests nor widens the symmetries the model trained with."""
    from dataclasses import replace

    data = make_objects("brightness", grid=(6, 6), seed=7)
    sample = Sample(data.image, data.labels, _labels_per_class(data, 6), data.axes)
    clf = ObjectClassifier(data.class_names, train_epochs=2, symmetry_probe_epochs=1)
    clf.fit([sample])
    clf.augmentation = replace(clf.augmentation, flip_axes="x", rot90=False)
    clf.fit([sample], warm_start=True)
    assert clf.augmentation.flip_axes == "x" and not clf.augmentation.rot90
    kept = {t["name"]: (t["kept"], t["source"]) for t in clf.symmetry["tests"]}
    assert kept == {
        "flip_x": (True, "setting"),
        "flip_y": (False, "setting"),
        "rot90": (False, "setting"),
    }


def test_the_probes_network_is_fixed_whatever_the_models():
    """The probes (symmetries, the 2-fold chance estimate) train the same small light
    network for any model: a ResNet, initial weights or dropout do not change it."""
    cfg = ModelConfig(net_name="resnet18", net_width=64, net_weights="w.pt", net_dropout=0.5)
    probe = probe_config(cfg)
    assert (probe.net_name, probe.net_weights, probe.net_dropout) == ("light", None, 0.0)
    assert probe.net_width == PROBE_WIDTH
    assert probe_config(ModelConfig(net_width=8)).net_width == 8  # a narrower model's own
