"""Device transfers and mixed precision (model/device.py), run through the real loops.

The CUDA decisions are pure functions of the device, so their CUDA branches run here on the
CPU; the tests marked ``cuda`` run the loops on a GPU where one is present.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import phenosort.model.device as device_module
import phenosort.model.inference as inference_module
import phenosort.model.train as train_module
from conftest import FAST, accuracy, sample_of
from phenosort.classifier import ObjectClassifier
from phenosort.errors import InvalidInputError
from phenosort.model.config import ModelConfig
from phenosort.model.device import (
    autocast,
    autocast_dtype,
    grad_scaler,
    host_batch,
    resolve_device,
    to_device,
)

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def _copy(clf: ObjectClassifier, tmp_path, **settings) -> ObjectClassifier:
    """A private copy of a shared model (fixtures are never modified)."""
    copy = ObjectClassifier.load(clf.save(tmp_path / "copy.phenosort"))
    if settings:
        copy.config = copy.config.updated(**settings)
    return copy


def _spy(monkeypatch, module) -> list[tuple[int, ...]]:
    """Record the shape of every batch that ``module.to_device`` copies (the copy still runs)."""
    shapes: list[tuple[int, ...]] = []
    real = device_module.to_device

    def counted(batch, device):
        shapes.append(tuple(batch.shape))
        return real(batch, device)

    monkeypatch.setattr(module, "to_device", counted)
    return shapes


# ---------------------------------------------------------------------- decisions
def test_auto_device_is_cuda_when_available():
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None:
        mps = getattr(torch.backends, "mps", None)
        expected = "mps" if mps and mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert ObjectClassifier(["a", "b"]).device.type == expected  # what both loops run on
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.parametrize(
    "device, precision, bf16, expected",
    [(CPU, "auto", None, None), (CPU, "float32", None, None), (CUDA, "float32", True, None),
     (CUDA, "auto", True, torch.bfloat16), (CUDA, "auto", False, None),
     (CPU, "bfloat16", None, torch.bfloat16), (CUDA, "float16", True, torch.float16),
     (torch.device("mps"), "auto", None, None)],
)  # fmt: skip
def test_autocast_dtype_per_device_and_setting(device, precision, bf16, expected):
    assert autocast_dtype(device, precision, bf16_supported=bf16) == expected


def test_precision_setting_is_validated_and_recorded(trained, tmp_path):
    assert ModelConfig().precision == "auto"
    with pytest.raises(InvalidInputError, match="precision 'half'"):
        ModelConfig(precision="half").validated()
    clf = _copy(trained, tmp_path, precision="bfloat16")
    assert ObjectClassifier.load(clf.save(tmp_path / "bf16.phenosort")).config.precision == (
        "bfloat16"
    )


def test_grad_scaler_only_scales_float16():
    assert grad_scaler(CPU, torch.float16).is_enabled()
    for dtype in (None, torch.bfloat16):
        scaler = grad_scaler(CPU, dtype)
        loss = torch.tensor(2.5)
        assert not scaler.is_enabled() and scaler.scale(loss) is loss and scaler.get_scale() == 1


# ---------------------------------------------------------------------- transfers on the CPU
def test_cpu_transfer_keeps_the_array_memory_and_values():
    batch = np.random.default_rng(0).random((5, 2, 8, 8), dtype=np.float32)
    x = to_device(batch, CPU)
    assert x.device == CPU and x.data_ptr() == batch.ctypes.data  # no copy at all
    assert np.array_equal(x.numpy(), batch)
    rows = np.array([4, 0, 2])
    assert np.array_equal(host_batch(torch.from_numpy(batch), CPU, rows).numpy(), batch[rows])


def test_predict_copies_each_batch_once(trained, brightness_data, tmp_path, monkeypatch):
    _, test = brightness_data
    clf = _copy(trained, tmp_path, predict_batch_size=10)
    expected = clf.predict(test.image, test.labels, axes=test.axes).probabilities
    shapes = _spy(monkeypatch, inference_module)  # batched prediction copies there
    probabilities = clf.predict(test.image, test.labels, axes=test.axes).probabilities
    n = len(test.classes)
    # once per batch (CPU streams finish them in any order)
    assert sorted(s[0] for s in shapes) == sorted(min(10, n - s) for s in range(0, n, 10))
    assert np.array_equal(probabilities, expected)  # the same values through the helper


def test_training_copies_each_batch_once(brightness_data, monkeypatch):
    train, _ = brightness_data
    # no symmetry probes: their short runs would add their own copies to the count
    settings = {**FAST, "train_epochs": 2, "train_val_fraction": 0.0, "device": "cpu",
                "symmetry_probe_epochs": 0}  # fmt: skip
    shapes = _spy(monkeypatch, train_module)
    clf = ObjectClassifier(train.class_names, **settings)
    clf.fit([sample_of(train)])
    cfg, n = clf.config, len(train.classes)
    per_epoch = n * -(-cfg.train_min_epoch_samples // n)  # objects repeated up to the minimum
    batch = min(cfg.train_batch_size, n)
    steps = sum(1 for s in range(0, per_epoch, batch) if min(batch, per_epoch - s) >= 2)
    patches = [s for s in shapes if len(s) > 1 and s[0] > 0]
    targets = [s for s in shapes if len(s) == 1 and s[0] > 0]
    # one copy per batch, + the chunks of the batch-norm recalibration after the last epoch
    recalibration = -(-n // cfg.predict_batch_size)
    assert len(patches) == steps * cfg.train_epochs + recalibration
    assert targets == [(per_epoch,)] * cfg.train_epochs  # the targets once per epoch
    assert len(shapes) == len(patches) + len(targets) + 2  # + the (empty) validation set


# ---------------------------------------------------------------------- autocast
def test_default_precision_on_cpu_runs_no_autocast(trained, brightness_data, tmp_path):
    _, test = brightness_data
    assert autocast_dtype(CPU, trained.config.precision) is None
    with autocast(CPU, None):
        assert not torch.is_autocast_enabled("cpu")
    auto = trained.predict(test.image, test.labels, axes=test.axes).probabilities
    float32 = _copy(trained, tmp_path, precision="float32")
    assert np.array_equal(float32.predict(test.image, test.labels, axes=test.axes).probabilities,
                          auto)  # fmt: skip


def test_bfloat16_prediction_on_cpu_is_close_to_float32(trained, brightness_data, tmp_path):
    _, test = brightness_data
    plain = trained.predict(test.image, test.labels, axes=test.axes)
    clf = _copy(trained, tmp_path, precision="bfloat16")
    with autocast(CPU, torch.bfloat16):
        assert torch.is_autocast_enabled("cpu")
    half = clf.predict(test.image, test.labels, axes=test.axes)
    assert half.probabilities.dtype == np.float32
    assert not np.array_equal(half.probabilities, plain.probabilities)  # autocast did run
    np.testing.assert_allclose(half.probabilities, plain.probabilities, atol=0.05)
    assert (half.class_index == plain.class_index).mean() >= 0.95
    label = int(test.labels[test.labels > 0][0])
    explained = clf.explain(test.image, test.labels, label, axes=test.axes)
    row = half.probabilities[list(half.label_id).index(label)]
    np.testing.assert_array_equal(explained.probabilities, row)  # explain = predict's arithmetic


SHORT = {**FAST, "net_width": 8, "train_epochs": 3, "train_min_epoch_samples": 64}


def _losses(data, precision: str) -> list[float]:
    clf = ObjectClassifier(data.class_names, **SHORT, precision=precision)
    clf.fit([sample_of(data)])
    assert all(torch.isfinite(p).all() for p in clf.net.parameters())
    return [h["train_loss"] for h in clf.history]


@pytest.fixture(scope="module")
def float32_losses(brightness_data) -> list[float]:
    return _losses(brightness_data[0], "float32")


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])  # float16: with loss scaling
def test_mixed_precision_training_on_cpu_tracks_float32(brightness_data, float32_losses, precision):
    losses = _losses(brightness_data[0], precision)
    assert losses != float32_losses  # autocast did run
    np.testing.assert_allclose(losses, float32_losses, atol=0.02)
    assert losses[-1] < losses[0] / 2


# ---------------------------------------------------------------------- on a GPU
@cuda
def test_cuda_transfer_is_pinned_and_asynchronous():
    batch = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert host_batch(batch, CUDA).is_pinned()
    rows = host_batch(torch.from_numpy(batch), CUDA, [1])
    assert rows.is_pinned() and np.array_equal(rows.numpy(), batch[[1]])
    x = to_device(batch, CUDA)
    assert x.is_cuda and np.array_equal(x.cpu().numpy(), batch)


@cuda
def test_cuda_prediction_and_training_match_the_cpu(trained, brightness_data, tmp_path):
    train, test = brightness_data
    on_cpu = trained.predict(test.image, test.labels, axes=test.axes)
    gpu = ObjectClassifier.load(trained.save(tmp_path / "m.phenosort"), device="cuda")
    on_gpu = gpu.predict(test.image, test.labels, axes=test.axes)
    np.testing.assert_allclose(on_gpu.probabilities, on_cpu.probabilities, atol=0.05)
    assert next(gpu.net.parameters()).is_cuda
    clf = ObjectClassifier(train.class_names, **FAST, device="cuda")
    clf.fit([sample_of(train)])
    assert accuracy(clf.predict(test.image, test.labels, axes=test.axes), test.classes) >= 0.95
