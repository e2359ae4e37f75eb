"""ObjectClassifier: model files, determinism, continued training, explanation, bad input."""

from __future__ import annotations

import os
import stat
import threading

import numpy as np
import pytest
import torch

from conftest import FAST, accuracy, sample_of
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.errors import Cancelled, InvalidInputError, ModelFileError
from phenosort.model.config import ModelConfig
from phenosort.model.file import read_metadata
from phenosort.model.networks import build_network
from phenosort.model.train import validation_index
from phenosort.testing import make_objects


def test_trained_model_classifies_held_out_image(trained, brightness_data):
    _, test = brightness_data
    pred = trained.predict(test.image, test.labels, axes=test.axes)
    assert accuracy(pred, test.classes) >= 0.95
    assert pred.probabilities.shape == (len(test.classes), 2)
    np.testing.assert_allclose(pred.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert not pred.in_training_set.any()


def test_in_training_set_marks_exactly_the_annotated_objects(trained, brightness_data):
    train, _ = brightness_data
    pred = trained.predict(train.image, train.labels, axes=train.axes)
    assert pred.in_training_set.all()  # every object of the training image was annotated
    partial = {k: v for i, (k, v) in enumerate(train.classes.items()) if i % 2}
    clf = ObjectClassifier(train.class_names, **{**FAST, "train_epochs": 2})
    clf.fit([Sample(train.image, train.labels, partial, train.axes)])
    pred = clf.predict(train.image, train.labels, axes=train.axes)
    assert set(pred.label_id[pred.in_training_set].tolist()) == set(partial)


def test_in_training_set_reads_another_image_whole_only_when_its_objects_match(
    trained, brightness_data, monkeypatch
):
    """An image of the training image's shape and object count (single-cell crops: all of
    them) is told apart by its objects' IDs and sizes, without the whole-image checksum;
    the training image itself, the same mask under other pixels, and a model whose records
    predate the objects' checksum still go through it, with the same answers."""
    import copy

    from phenosort.objects import prepared

    train, test = brightness_data
    assert train.labels.shape == test.labels.shape and len(train.classes) == len(test.classes)
    hashed = []
    real = prepared.checksum_of
    monkeypatch.setattr(prepared, "checksum_of", lambda *a: hashed.append(a) or real(*a))

    def whole_image_checksums() -> int:
        return sum(any(x.ndim >= 2 for x in arrays) for arrays in hashed)

    pred = trained.predict(test.image, test.labels, axes=test.axes)
    assert not pred.in_training_set.any() and whole_image_checksums() == 0
    pred = trained.predict(train.image, train.labels, axes=train.axes)
    assert pred.in_training_set.all() and whole_image_checksums() == 1
    brighter = train.image + np.ones_like(train.image)  # the same objects, other pixels
    pred = trained.predict(brighter, train.labels, axes=train.axes)
    assert not pred.in_training_set.any() and whole_image_checksums() == 2
    old = copy.copy(trained)  # a model saved before: records without the objects' checksum
    old.training_data = [
        {k: v for k, v in entry.items() if k != "objects_checksum"}
        for entry in trained.training_data
    ]
    assert old.predict(train.image, train.labels, axes=train.axes).in_training_set.all()
    assert not old.predict(test.image, test.labels, axes=test.axes).in_training_set.any()
    assert whole_image_checksums() == 4


def test_predict_subset_keeps_ids_and_leaves_others_unpainted(trained, brightness_data):
    _, test = brightness_data
    ids = sorted(test.classes)[:5]
    pred = trained.predict(test.image, test.labels, axes=test.axes, label_ids=ids[::-1])
    assert sorted(pred.label_id.tolist()) == ids
    class_map = pred.class_map()
    assert set(np.unique(test.labels[class_map > 0]).tolist()) == set(ids)
    with pytest.raises(InvalidInputError, match="not present"):
        trained.predict(test.image, test.labels, axes=test.axes, label_ids=[999_999])


def test_model_file_round_trip(trained, brightness_data, tmp_path):
    _, test = brightness_data
    path = trained.save(tmp_path / "m.phenosort")
    loaded = ObjectClassifier.load(path)
    a = trained.predict(test.image, test.labels, axes=test.axes).probabilities
    b = loaded.predict(test.image, test.labels, axes=test.axes).probabilities
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    meta = read_metadata(path)
    assert meta["class_names"] == trained.class_names
    assert meta["patch"]["shape"] == list(trained.patch_spec.shape)
    # a brightness task: the default (auto) chose training-set ranges, stored with the file
    assert meta["normalization"]["mode"] == loaded.normalization.mode == "fixed"
    assert loaded.normalization == trained.normalization
    assert meta["symmetry"]["normalization"]["chosen"] == "fixed"
    assert meta["config"] == trained.config.to_dict()
    assert meta["training_data"][0]["per_class"] == {"dim": 32, "bright": 32}
    assert len(meta["training_data"][0]["checksum"]) == 32
    assert meta["validation"]["confusion_matrix"]
    assert meta["format_version"] == 1 and meta["torch_version"] == torch.__version__
    assert len(meta["class_colors"]) == 2 and meta["class_colors"][0].startswith("#")
    with pytest.raises(InvalidInputError, match="already exists"):
        trained.save(path)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_model_file_mode_follows_the_umask(trained, tmp_path, umask):
    """A saved model file is readable as any new file would be (issue 18: mkstemp made the
    CLI's files -rw------- while the service's exports were -rw-r--r--)."""
    old = os.umask(umask)
    try:
        path = trained.save(tmp_path / "m.phenosort")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["m.phenosort"]  # no temporary file left


def test_tampered_truncated_and_foreign_files_fail_clearly(trained, tmp_path):
    path = trained.save(tmp_path / "m.phenosort")
    data = bytearray(path.read_bytes())
    tampered = tmp_path / "tampered.phenosort"
    data[-100] ^= 0xFF  # flip bits inside the weights
    tampered.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        ObjectClassifier.load(tampered)
    truncated = tmp_path / "truncated.phenosort"
    truncated.write_bytes(path.read_bytes()[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupted"):
        ObjectClassifier.load(truncated)
    junk = tmp_path / "junk.phenosort"
    junk.write_bytes(b"not a model at all" * 10)
    with pytest.raises(ModelFileError):
        ObjectClassifier.load(junk)
    with pytest.raises(ModelFileError, match="not found"):
        ObjectClassifier.load(tmp_path / "missing.phenosort")


def test_newer_format_version_is_refused(trained, tmp_path, monkeypatch):
    import phenosort.model.file as model_file

    monkeypatch.setattr(model_file, "FORMAT_VERSION", 99)
    path = trained.save(tmp_path / "future.phenosort")
    monkeypatch.setattr(model_file, "FORMAT_VERSION", 1)
    with pytest.raises(ModelFileError, match="format version 99"):
        ObjectClassifier.load(path)


def test_training_is_deterministic_for_a_seed(brightness_data):
    train, _ = brightness_data
    settings = {**FAST, "train_epochs": 3}
    states = []
    for _ in range(2):
        clf = ObjectClassifier(train.class_names, **settings)
        clf.fit([sample_of(train)])
        states.append(clf.net.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    other = ObjectClassifier(train.class_names, **{**settings, "train_seed": 1})
    other.fit([sample_of(train)])
    assert not torch.equal(other.net.state_dict()["head.weight"], states[0]["head.weight"])


def test_progress_events_and_cancellation(brightness_data):
    train, _ = brightness_data
    clf = ObjectClassifier(train.class_names, **{**FAST, "train_epochs": 10})
    cancel = threading.Event()
    seen = []

    def progress(event):
        seen.append(event)
        if event.epoch == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        clf.fit([sample_of(train)], progress=progress, cancel=cancel)
    assert [e.epoch for e in seen] == [1, 2]
    assert seen[0].val_accuracy is not None and seen[0].n_epochs == 10
    assert not clf.is_trained  # a cancelled run leaves no half-trained model


def test_continue_training_makes_a_new_version(trained, tmp_path):
    more = make_objects("brightness", grid=(5, 5), seed=9)
    clf = ObjectClassifier.load(trained.save(tmp_path / "v1.phenosort"))
    clf.config = clf.config.updated(train_epochs=3)
    clf.fit([sample_of(more, "more")], warm_start=True)
    assert clf.version == 2
    assert clf.patch_spec == trained.patch_spec
    clf.save(tmp_path / "v2.phenosort")
    assert read_metadata(tmp_path / "v2.phenosort")["version"] == 2
    clf.config = clf.config.updated(net_width=64)
    with pytest.raises(InvalidInputError, match="net_width 16 -> 64"):
        clf.fit([sample_of(more, "more")], warm_start=True)
    assert read_metadata(tmp_path / "v1.phenosort")["version"] == 1


@pytest.mark.parametrize("ndim", [2, 3])
def test_explain_returns_heatmap_aligned_with_patch(ndim):
    make = {"grid": (4, 4), "cell": 16}
    if ndim == 3:
        make.update(z_planes=6, voxel_size=(1.0, 0.5, 0.5))
    data = make_objects("brightness", seed=3, **make)
    clf = ObjectClassifier(data.class_names, **{**FAST, "train_epochs": 2})
    clf.fit([sample_of(data)])
    label = sorted(data.classes)[0]
    exp = clf.explain(data.image, data.labels, label, axes=data.axes, voxel_size=data.voxel_size)
    assert exp.heatmap.shape == clf.patch_spec.shape
    assert np.isfinite(exp.heatmap).all() and exp.heatmap.min() >= 0 and exp.heatmap.max() <= 1
    # the offset is the patch's first voxel: the object's bbox is centred in the patch
    coords = np.argwhere(data.labels == label)
    centre = (coords.min(0) + coords.max(0) + 1) / 2
    assert np.all(
        np.abs(np.asarray(exp.offset) + np.asarray(clf.patch_spec.shape) / 2 - centre) <= 1
    )
    assert exp.class_index == int(np.argmax(exp.probabilities)) + 1
    with pytest.raises(InvalidInputError, match="out of range"):
        clf.explain(data.image, data.labels, label, axes=data.axes, voxel_size=data.voxel_size,
                    class_index=5)  # fmt: skip


def test_explain_leaves_the_shared_network_untouched(trained, brightness_data):
    """Grad-CAM hooks a network and fills its gradients: explain() runs it on a copy, so a
    shared model explains while it serves predictions (the servicer does not copy it)."""
    _, test = brightness_data
    net = trained.net
    before = {k: v.clone() for k, v in net.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in net.parameters()]
    trained.explain(test.image, test.labels, sorted(test.classes)[0], axes=test.axes)
    for g, p in zip(grads, net.parameters()):
        assert (g is None and p.grad is None) or torch.equal(g, p.grad)
    assert not any(m._forward_hooks or m._backward_hooks for m in net.modules())
    assert not any(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_resnet18_trains_in_2d():
    data = make_objects("brightness", grid=(4, 4), seed=4)
    clf = ObjectClassifier(data.class_names, net_name="resnet18", train_epochs=1, patch_size=32,
                           train_min_epoch_samples=8)  # fmt: skip
    clf.fit([sample_of(data)])
    pred = clf.predict(data.image, data.labels, axes=data.axes)
    assert pred.probabilities.shape == (16, 2)


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 32)])
@pytest.mark.parametrize("name", ["resnet34", "resnet50", "densenet121"])
def test_monai_networks_take_any_channel_count(name, shape):
    net = build_network(name, len(shape), 4, 3, shape).eval()
    with torch.no_grad():
        assert net(torch.zeros((2, 4, *shape))).shape == (2, 3)


def test_patch_too_flat_for_a_network_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="does not fit network 'densenet121'"):
        build_network("densenet121", 3, 2, 2, (4, 32, 32))


def test_resnet_in_3d_and_initial_weights(tmp_path):
    data = make_objects("brightness", grid=(3, 3), cell=16, seed=5, z_planes=16)
    settings = {"net_name": "resnet18", "train_epochs": 1, "patch_size": 16,
                "train_min_epoch_samples": 4, "train_val_fraction": 0.0}  # fmt: skip
    first = ObjectClassifier(data.class_names, **settings)
    first.fit([sample_of(data)])
    weights = tmp_path / "init.pt"
    torch.save(first.net.state_dict(), weights)
    second = ObjectClassifier(data.class_names, **{**settings, "net_weights": str(weights)})
    second.fit([sample_of(data)])
    assert second.is_trained
    bad = tmp_path / "bad.pt"
    torch.save({"unrelated": torch.zeros(3)}, bad)
    with pytest.raises(InvalidInputError, match="no tensor"):
        ObjectClassifier(data.class_names, **{**settings, "net_weights": str(bad)}).fit(
            [sample_of(data)]
        )


# ---------------------------------------------------------------- bad input, clear errors
@pytest.fixture(scope="module")
def small():
    return make_objects("brightness", grid=(4, 4), seed=6)


def _fit(small, annotations=None, **kw):
    image = kw.pop("image", small.image)
    labels = kw.pop("labels", small.labels)
    axes = kw.pop("axes", small.axes)
    clf = ObjectClassifier(small.class_names, **{**FAST, "train_epochs": 1, **kw})
    ann = small.classes if annotations is None else annotations
    clf.fit([Sample(image, labels, ann, axes)])
    return clf


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"annotations": {}}, "empty"),
        ({"annotations": {1: 1}}, "not present in the label mask"),
        ({"labels": np.zeros((10, 10), np.uint16)}, "does not match"),
        ({"labels": np.zeros((96, 96), np.float32)}, "not an integer type"),
        ({"axes": "ZYX"}, "dimensions"),
        ({"axes": "QYX"}, "not supported"),
        ({"patch_size": 4}, "too small for net_depth"),
        ({"net_name": "vgg"}, "net_name"),
        ({"train_val_fraction": 1.5, "net_depth": 0}, "net_depth.*train_val_fraction"),
        ({"train_label_smoothing": 1.0}, "train_label_smoothing must be in"),
        ({"train_mixup": -0.5}, "train_mixup must be in"),
        ({"train_val_min_per_class": 0}, "train_val_min_per_class must be >= 1"),
    ],
)
def test_bad_training_input_is_named(small, change, message):
    annotations = change.pop("annotations", None)
    with pytest.raises(InvalidInputError, match=message):
        _fit(small, annotations, **change)


def test_single_class_and_unknown_class_are_refused(small):
    one_class = {k: 1 for k in small.classes}
    with pytest.raises(InvalidInputError, match="at least 2 classes"):
        _fit(small, one_class)
    named = {k: "mitotic" for k in small.classes}
    with pytest.raises(InvalidInputError, match="unknown class 'mitotic'"):
        _fit(small, named)
    with pytest.raises(InvalidInputError, match="out of range"):
        _fit(small, {k: 3 for k in small.classes})


def test_class_names_by_name_are_accepted(small):
    """Annotations by class name train the same model as the same annotations by index:
    each name resolves to its class (issue 18: this test used to assert nothing)."""
    names = {k: small.class_names[v - 1] for k, v in small.classes.items()}
    by_name, by_index = _fit(small, names), _fit(small, small.classes)
    per_class = {
        n: sum(v == k for v in small.classes.values()) for k, n in enumerate(small.class_names, 1)
    }
    assert by_name.training_data[0]["per_class"] == per_class
    assert by_name.training_data == by_index.training_data
    a, b = by_name.net.state_dict(), by_index.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(InvalidInputError, match="no_such_class"):
        _fit(small, {**names, next(iter(names)): "no_such_class"})


def test_unknown_setting_lists_known_ones():
    with pytest.raises(InvalidInputError, match="unknown settings: epochs"):
        ObjectClassifier(["a", "b"], epochs=3)
    with pytest.raises(InvalidInputError, match="at least 2 class names"):
        ObjectClassifier(["a"])
    with pytest.raises(InvalidInputError, match="distinct"):
        ObjectClassifier(["a", "a"])
    assert ModelConfig().errors() == []


def test_prediction_input_must_match_the_model(trained, brightness_data):
    _, test = brightness_data
    with pytest.raises(InvalidInputError, match="not trained"):
        ObjectClassifier(["a", "b"]).predict(test.image, test.labels)
    two_channel = np.stack([test.image, test.image], axis=-1)
    with pytest.raises(InvalidInputError, match="expects 1 image channel"):
        trained.predict(two_channel, test.labels, axes="YXC")
    volume = np.stack([test.image] * 3)
    with pytest.raises(InvalidInputError, match="trained on 2D"):
        trained.predict(volume, np.stack([test.labels] * 3), axes="ZYX")
    with pytest.raises(InvalidInputError, match="voxel_size"):
        trained.predict(test.image, test.labels, axes="YX", voxel_size=(1.0, -1.0))


def test_k_fold_cross_validation_scores_every_label_once():
    from phenosort.evaluation import cross_validate, stratified_folds

    folds = stratified_folds(np.array([1] * 10 + [2] * 5), 5, seed=0)
    assert np.bincount(folds).tolist() == [3, 3, 3, 3, 3]
    assert all(np.bincount(folds[:10]) == 2)
    data = make_objects("brightness", grid=(5, 5), seed=8)
    result = cross_validate(data.class_names, [sample_of(data)], k=3,
                            config=ModelConfig(**{**FAST, "train_epochs": 8}))  # fmt: skip
    assert result["n"] == 25 and len(result["per_fold_accuracy"]) == 3
    assert result["accuracy"] >= 0.8
    with pytest.raises(InvalidInputError, match="at least 20 labels per class"):
        cross_validate(data.class_names, [sample_of(data)], k=20)


def test_large_objects_are_downsampled_to_the_maximum_network_input():
    data = make_objects("brightness", grid=(4, 4), cell=48, seed=10)
    clf = ObjectClassifier(data.class_names, **{**FAST, "train_epochs": 2, "patch_max_size": 16})
    clf.fit([sample_of(data)])
    assert clf.patch_spec.shape == (16, 16)
    assert clf.patch_spec.scale > 2  # the estimated field of view is well above 32 pixels
    label = sorted(data.classes)[0]
    exp = clf.explain(data.image, data.labels, label, axes=data.axes)
    assert exp.scale == clf.patch_spec.scale and exp.heatmap.shape == (16, 16)


def test_hold_out_only_when_every_class_can_spare_enough_objects():
    few = np.repeat([0, 1, 2], [10, 10, 40])  # 0.2 of 10 = 2 objects < 5
    assert validation_index(few, 0.2, 5, seed=0) is None
    many = np.repeat([0, 1, 2], [25, 30, 40])
    val = validation_index(many, 0.2, 5, seed=0)
    assert np.bincount(many[val]).tolist() == [5, 6, 8]
    assert validation_index(many, 0.0, 5, seed=0) is None
    assert validation_index(few, 0.2, 1, seed=0).size == 12  # 1 keeps any hold-out


def test_few_labels_train_on_every_label_without_validation_metrics(brightness_data):
    train, _ = brightness_data
    clf = ObjectClassifier(train.class_names, **{**FAST, "train_epochs": 3})
    per_class = np.bincount(list(train.classes.values()))[1:]
    clf.config = clf.config.updated(train_val_min_per_class=int(per_class.min() * 0.2) + 1)
    events = []
    clf.fit([sample_of(train)], progress=events.append)
    assert [e.val_accuracy for e in events] == [None] * 3
    assert clf.validation is None and all(e.best for e in events)  # the last epoch is kept


def test_label_smoothing_keeps_probabilities_off_certainty(brightness_data):
    train, test = brightness_data
    confidence = {}
    for smoothing in (0.0, 0.3):
        clf = ObjectClassifier(train.class_names, **{**FAST, "train_label_smoothing": smoothing})
        clf.fit([sample_of(train)])
        pred = clf.predict(test.image, test.labels, axes=test.axes)
        assert accuracy(pred, test.classes) >= 0.9
        confidence[smoothing] = float(pred.probabilities.max(axis=1).mean())
    # smoothing 0.3 over 2 classes aims at 0.85 for the true class; plain training nears 1
    assert confidence[0.3] < 0.9 < confidence[0.0]


def test_mixup_blends_targets_but_not_the_symmetry_probes(brightness_data):
    """Mixup keeps an easy task learnt and its probabilities off certainty (blended targets),
    gives the same model twice for a seed, and leaves the probes (which must see each
    object's own cue) and so the symmetry decision and the estimate as they were."""
    train, test = brightness_data
    fitted = {}
    for alpha in (0.0, 1.0, 1.0):
        clf = ObjectClassifier(train.class_names, **{**FAST, "train_mixup": alpha})
        clf.fit([sample_of(train)])
        pred = clf.predict(test.image, test.labels, axes=test.axes)
        assert accuracy(pred, test.classes) >= 0.9
        fitted.setdefault(alpha, []).append((pred.probabilities, clf.symmetry))
    ((plain, plain_symmetry),) = fitted[0.0]
    (mixed, mixed_symmetry), (again, _) = fitted[1.0]
    np.testing.assert_array_equal(mixed, again)
    assert mixed.max(axis=1).mean() < 0.97 < plain.max(axis=1).mean()
    for record in (plain_symmetry, mixed_symmetry):
        record.pop("seconds")
    assert mixed_symmetry == plain_symmetry
