"""CPU prediction batches sized to the cache (model/inference.py): the batch is as large as
keeps its largest activation under the budget, and neither the split nor the threads that
cut the patches and run the network (CPU streams, a GPU's cutting thread) change the
outputs."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
import torch

import phenosort.model.device as device_module
import phenosort.model.inference as inference_module
from phenosort.classifier import ObjectClassifier
from phenosort.errors import Cancelled, InvalidInputError
from phenosort.model.inference import (
    CPU_BATCH_BYTES,
    MIN_CPU_BATCH,
    cpu_batch_size,
    largest_activation_bytes,
)
from phenosort.model.networks import build_network, inference_network


def _light(shape: tuple[int, ...], width: int = 32):
    net = build_network("light", len(shape), 4, 3, shape, width=width, block="conv-relu-bn")
    return inference_network(net.eval())


@pytest.mark.parametrize("shape", [(64, 64), (32, 32), (8, 24, 24)])
def test_the_largest_activation_is_the_first_convolutions_output(shape):
    net = _light(shape)
    # 32 float32 maps at the patch's full resolution; every later map is smaller
    assert largest_activation_bytes(net, (4, *shape)) == 32 * int(np.prod(shape)) * 4


def test_cpu_batches_fill_the_cache_budget_within_the_setting():
    net = _light((64, 64))
    per_object = 32 * 64 * 64 * 4
    size = cpu_batch_size(net, (4, 64, 64), 256)
    assert size * per_object <= CPU_BATCH_BYTES < (size + 1) * per_object
    assert size < 256  # the old fixed batch was 64 MB of activations here
    assert cpu_batch_size(net, (4, 64, 64), 3) == 3  # predict_batch_size stays the most
    big = _light((32, 64, 64))  # one object alone is over the budget
    assert cpu_batch_size(big, (4, 32, 64, 64), 256) == MIN_CPU_BATCH


def test_the_activation_size_is_measured_once_per_architecture(monkeypatch):
    """A live model's updates change the weights, never the activation sizes: one
    measurement serves them all; another patch shape or width is measured anew."""
    measured: list[tuple[int, ...]] = []
    real = inference_module.largest_activation_bytes

    def spy(net, sample_shape):
        measured.append(sample_shape)
        return real(net, sample_shape)

    monkeypatch.setattr(inference_module, "largest_activation_bytes", spy)
    monkeypatch.setattr(inference_module, "_ACTIVATION_BYTES", {})
    net = _light((48, 48))
    first = cpu_batch_size(net, (4, 48, 48), 256)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2.0)  # an update: new weights, the same architecture
    assert cpu_batch_size(net, (4, 48, 48), 256) == first
    assert cpu_batch_size(_light((48, 48)), (4, 48, 48), 256) == first  # a new copy too
    assert measured == [(4, 48, 48)]
    cpu_batch_size(_light((40, 40)), (4, 40, 40), 256)
    cpu_batch_size(_light((48, 48), width=16), (4, 48, 48), 256)
    assert len(measured) == 3


def test_cache_sized_batches_give_the_outputs_of_full_batches(
    trained, brightness_data, tmp_path, monkeypatch
):
    _, test = brightness_data
    clf = ObjectClassifier.load(trained.save(tmp_path / "copy.phenosort"), device="cpu")
    copied: list[int] = []
    real = device_module.to_device

    def spy(batch, device):
        copied.append(batch.shape[0])
        return real(batch, device)

    monkeypatch.setattr(inference_module, "to_device", spy)
    monkeypatch.setattr(inference_module, "CPU_BATCH_BYTES", 2**20)  # small: several batches
    small = clf.predict(test.image, test.labels, axes=test.axes).probabilities
    sizes, copied[:] = list(copied), []
    monkeypatch.setattr(inference_module, "CPU_BATCH_BYTES", 2**40)  # all objects at once
    whole = clf.predict(test.image, test.labels, axes=test.axes).probabilities

    n = len(test.classes)
    assert len(sizes) > 1 and max(sizes) < n and copied == [min(n, 256)]
    np.testing.assert_allclose(small, whole, rtol=1e-5, atol=1e-6)


@pytest.fixture
def several_batches(trained, brightness_data, tmp_path, monkeypatch):
    """A CPU model whose batches are small, the brightness test image's objects and a
    ``cut(rows)`` that records the thread it ran in and that thread's torch thread count."""
    _, test = brightness_data
    clf = ObjectClassifier.load(trained.save(tmp_path / "copy.phenosort"), device="cpu")
    monkeypatch.setattr(inference_module, "CPU_BATCH_BYTES", 2**20)  # several batches
    prep = clf._prepare(test.image, test.labels, test.axes, None)
    seen: set[tuple[str, int]] = set()

    def cut(rows):
        seen.add((threading.current_thread().name, torch.get_num_threads()))
        return clf._patches(prep, prep.table.subset(rows))

    inference = clf._batched_inference()
    assert len(prep.table) >= 4 * inference.batch_size  # 4 batches or more
    return inference, len(prep.table), cut, seen


def test_streams_in_turn_and_a_cutting_thread_give_the_same_outputs(several_batches):
    """A CPU runs batches in streams, each stream cutting its own patches on one torch
    thread; one stream cuts inline; a GPU cuts the next batch in a worker thread while the
    network runs. All three give the same probabilities, in the objects' order, and the
    calling thread's and new threads' torch thread counts stay as they were."""
    inference, n, cut, seen = several_batches
    here, threads = threading.current_thread().name, torch.get_num_threads()
    assert not inference.overlap and inference.streams == threads  # the CPU's defaults

    in_turn = dataclasses.replace(inference, streams=1).of_objects(n, cut)
    assert seen == {(here, threads)}
    seen.clear()
    streamed = dataclasses.replace(inference, streams=2).of_objects(n, cut)
    assert seen and all(name.startswith("phenosort-stream") for name, _ in seen)
    assert {count for _, count in seen} == {1}  # one torch thread per stream
    seen.clear()
    overlapped = dataclasses.replace(inference, overlap=True, streams=1).of_objects(n, cut)
    assert here not in {name for name, _ in seen}  # all cut in the worker
    np.testing.assert_array_equal(streamed, in_turn)
    np.testing.assert_array_equal(overlapped, in_turn)

    assert torch.get_num_threads() == threads
    fresh: list[int] = []
    later = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    later.start()
    later.join()
    assert fresh == [threads]
    # the streams are kept for the next prediction: no new threads
    before = {t.ident for t in threading.enumerate() if t.name.startswith("phenosort-stream")}
    dataclasses.replace(inference, streams=2).of_objects(n, cut)
    after = {t.ident for t in threading.enumerate() if t.name.startswith("phenosort-stream")}
    assert after == before and len(before) >= 2


def test_streams_report_progress_cancel_and_raise_a_batch_error(several_batches):
    inference = dataclasses.replace(several_batches[0], streams=2)
    n, cut = several_batches[1], several_batches[2]
    reports: list[tuple[int, int]] = []
    inference.of_objects(n, cut, progress=reports.append)
    done = [d for d, _ in reports]
    assert done == sorted(done) and done[-1] == n and {t for _, t in reports} == {n}
    assert len(reports) == -(-n // inference.batch_size)  # one report per batch

    cuts = 0

    def counted(rows):
        nonlocal cuts
        cuts += 1
        return cut(rows)

    with pytest.raises(Cancelled, match="cancelled"):
        inference.of_objects(n, counted, cancel=lambda: cuts >= 1)
    # stopped once the first batch was done: at most 3 were in line (2 streams + 1), and
    # none of them runs on after the call
    assert 1 <= cuts <= 3 < -(-n // inference.batch_size)
    stopped_at = cuts
    time.sleep(0.2)
    assert cuts == stopped_at

    def failing(rows):
        if rows[0] > 0:
            raise InvalidInputError(f"bad rows from {rows[0]}")
        return cut(rows)

    with pytest.raises(InvalidInputError, match="bad rows from"):
        inference.of_objects(n, failing)
    np.testing.assert_array_equal(inference.of_objects(n, cut), inference.of_objects(n, cut))


def test_objects_cut_in_raster_order_keep_their_own_outputs(
    trained, brightness_data, tmp_path, monkeypatch
):
    """Prediction cuts patches in raster order (nearby image rows one after the other),
    not in the IDs' order; each object still gets its own probabilities: those of its patch
    cut alone, whatever the order of the IDs in space."""
    _, test = brightness_data
    clf = ObjectClassifier.load(trained.save(tmp_path / "copy.phenosort"), device="cpu")
    monkeypatch.setattr(inference_module, "CPU_BATCH_BYTES", 2**20)  # several batches
    ids = np.unique(test.labels)[1:]
    shuffled = np.zeros(ids.max() + 1, test.labels.dtype)
    shuffled[ids] = np.random.default_rng(0).permutation(ids)  # IDs random in space
    labels = shuffled[test.labels]
    prep = clf._prepare(test.image, labels, test.axes, None)
    assert not np.array_equal(prep.table.raster_order(), np.arange(len(ids)))

    got = clf.predict(test.image, labels, axes=test.axes)
    inference = clf._batched_inference()
    alone = np.concatenate(
        [
            inference.of_patches(clf._patches(prep, prep.table.subset([row])))
            for row in range(len(ids))
        ]
    )
    assert got.label_id.tolist() == ids.tolist()
    np.testing.assert_allclose(got.probabilities, alone, rtol=1e-5, atol=1e-6)


def test_two_predictions_at_once_share_the_streams(several_batches):
    """Two callers (a server's two requests) queue their batches on the same streams; each
    gets its own objects' probabilities."""
    inference, n, cut, _ = several_batches
    inference = dataclasses.replace(inference, streams=2)
    expected = dataclasses.replace(inference, streams=1).of_objects(n, cut)
    reversed_rows = np.arange(n)[::-1]
    expected_reversed = expected[reversed_rows]

    def cut_reversed(rows):
        return cut(reversed_rows[rows])

    results: dict[str, np.ndarray] = {}
    callers = [
        threading.Thread(target=lambda: results.update(a=inference.of_objects(n, cut))),
        threading.Thread(target=lambda: results.update(b=inference.of_objects(n, cut_reversed))),
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    np.testing.assert_array_equal(results["a"], expected)
    np.testing.assert_array_equal(results["b"], expected_reversed)
