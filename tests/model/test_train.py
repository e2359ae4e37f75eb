"""Training in model/train.py: batch norm's running statistics afterwards
(recalibrate_batch_norm), and the layout the network is given back in."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import accuracy, sample_of
from phenosort.classifier import ObjectClassifier
from phenosort.errors import Cancelled, InvalidInputError
from phenosort.model.config import AUTO_EPOCHS, ModelConfig, dropout_rate, epoch_count
from phenosort.model.networks import build_network
from phenosort.model.train import TrainResult, recalibrate_batch_norm, train_events
from phenosort.report_text import decisions
from phenosort.testing import make_objects


def test_recalibrated_statistics_are_those_of_the_patches():
    """Every batch norm ends with the mean and (unbiased) variance of its inputs over all the
    patches, whatever it held before, computed in near-equal batches."""
    net = build_network("light", 2, 2, 3, (32, 32), width=8, block="conv-bn-relu").eval()
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:  # stale statistics, as after a few steps
        m.running_mean.fill_(5.0)
        m.running_var.fill_(0.01)
    x = torch.randn(37, 2, 32, 32, generator=torch.Generator().manual_seed(0))
    recalibrate_batch_norm(net, x, torch.device("cpu"), None, batch=16)  # batches 13, 12, 12
    assert not net.training  # the mode it was in

    seen = []
    hook = norms[0].register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    with torch.no_grad():
        net.eval()(x)
    hook.remove()
    inputs = seen[0].transpose(0, 1).flatten(1)  # channels x (objects * pixels)
    # cumulative averages of per-batch statistics: equal to the whole set's up to the
    # batches' small size differences
    torch.testing.assert_close(norms[0].running_mean, inputs.mean(1), atol=2e-3, rtol=0)
    torch.testing.assert_close(norms[0].running_var, inputs.var(1), atol=2e-2, rtol=2e-2)
    assert all(m.momentum == 0.1 for m in norms)  # the training momentum is given back


@pytest.mark.parametrize("block", ["conv-bn-relu", "conv-relu-bn"])
def test_three_epochs_are_enough_for_an_easy_task(block):
    """The Fiji test trains for 3 epochs: with lagging statistics, Conv-BN-ReLU's probes
    predicted one class for every object (balanced accuracy 0.50)."""
    train, test = make_objects("brightness", grid=(6, 6), seed=1), make_objects(seed=2)
    clf = ObjectClassifier(train.class_names, net_block=block, net_width=16, train_epochs=3)
    clf.fit([sample_of(train)])
    assert clf.assessment["source"] == "2-fold estimate"
    assert clf.assessment["balanced_accuracy"] == 1.0
    assert accuracy(clf.predict(test.image, test.labels), test.classes) >= 0.95


def test_training_stops_once_the_hold_out_is_learnt():
    """An easy task's hold-out is all right with a tiny loss after a few epochs; without
    ``train_stop_loss`` the loss creeps down by thousandths and patience never runs out."""
    data = make_objects("brightness", grid=(8, 8), seed=3)  # 32 per class: a hold-out of 6
    runs = {}
    for stop_loss in (0.01, 0.0):
        clf = ObjectClassifier(data.class_names, net_width=8, train_epochs=30,
                               symmetry_probe_epochs=0, train_stop_loss=stop_loss)  # fmt: skip
        clf.fit([sample_of(data)])
        runs[stop_loss] = clf.history
        why = {what: why for what, _, why in decisions(clf.metadata())}["epochs"]
        assert ("every held-out object was right" in why) == (stop_loss > 0)  # the report says
    learnt = [h["epoch"] for h in runs[0.0] if h["val_accuracy"] == 1 and h["val_loss"] <= 0.01]
    stopped = runs[0.01]
    assert learnt and learnt[0] < 30  # the task is easy enough for the test to mean something
    assert len(stopped) == learnt[0]  # the same epochs up to there, then it stopped
    assert stopped[-1]["best"]  # the weights kept are the stop epoch's
    assert len(runs[0.0]) > learnt[0]  # without the threshold it went on


def test_a_probe_stops_once_it_has_learnt_its_training_samples():
    """``stop_when_learnt`` (the symmetry probes, which have no hold-out): training ends after
    the first epoch whose every sample was right with a mean loss of at most
    ``train_stop_loss``, with the same epochs up to there as a full run, and its batch norms
    recalibrated on the training patches as at a last epoch."""
    rng = np.random.default_rng(0)
    y = np.arange(32) % 2
    x = rng.normal(size=(32, 2, 16, 16)).astype(np.float32)
    x[:, 0] += 2.0 * y[:, None, None]  # the cue: brightness
    x[:, 1] = 1.0  # the object's mask
    cfg = ModelConfig(net_width=8, train_epochs=12, train_min_epoch_samples=64,
                      train_stop_loss=0.1)  # fmt: skip

    def run(config: ModelConfig, stop: bool):
        torch.manual_seed(0)  # the same initial weights
        net = build_network("light", 2, 2, 2, (16, 16), width=8)
        events = train_events(net, x, y, 2, (16, 16), config, torch.device("cpu"),
                              stop_when_learnt=stop)  # fmt: skip
        return net, [e for e in events if not isinstance(e, TrainResult)]

    net, stopped = run(cfg, True)
    _, full = run(cfg, False)
    learnt = [e.epoch for e in full if e.train_accuracy == 1 and e.train_loss <= 0.1]
    assert learnt and learnt[0] < 12  # easy enough for the test to mean something
    assert [e.epoch for e in stopped] == list(range(1, learnt[0] + 1))
    assert [e.train_loss for e in stopped] == [e.train_loss for e in full[: learnt[0]]]
    assert len(full) == 12  # without it, every epoch ran
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    stats = [m.running_mean.clone() for m in norms]
    recalibrate_batch_norm(net, torch.from_numpy(x), torch.device("cpu"), None, 64)
    for m, mean in zip(norms, stats):  # already the training patches' statistics
        torch.testing.assert_close(m.running_mean, mean)
    _, never = run(replace(cfg, train_epochs=4, train_stop_loss=0.0), True)
    assert len(never) == 4  # train_stop_loss=0 never stops


def test_auto_dropout_trains_with_dropout_only_without_a_hold_out():
    """``net_dropout=auto`` (the default): 0.5 on the pooled features when no hold-out set
    picks the epoch, none with one; the report says which and why."""
    data = make_objects("brightness", grid=(8, 8), seed=3)  # 32 per class
    few = {k: v for i, (k, v) in enumerate(sorted(data.classes.items())) if i < 16}
    rates = {}
    for name, labels in (("few", few), ("many", data.classes)):
        clf = ObjectClassifier(data.class_names, net_width=8, train_epochs=2,
                               symmetry_probe_epochs=0)  # fmt: skip
        assert clf.config.net_dropout == "auto"
        clf.fit([replace(sample_of(data), annotations=labels)])
        assert (clf.validation is None) == (name == "few")  # 8 per class: no hold-out
        dropout = clf.net.dropout
        rates[name] = dropout.p if isinstance(dropout, torch.nn.Dropout) else 0.0
        network = {what: chosen for what, chosen, _ in decisions(clf.metadata())}["network"]
        assert ("dropout 0.5" in network) == (name == "few")
    assert rates == {"few": 0.5, "many": 0.0}
    clf.fit([replace(sample_of(data), annotations=few)], warm_start=True)  # continued: its own
    assert clf.validation is None and clf.net.dropout.p == 0.5
    assert dropout_rate(0.25, hold_out=True) == 0.25  # a set rate stays


def test_auto_epochs_are_more_without_a_hold_out():
    """``train_epochs=auto`` (the default): 100 epochs when no hold-out set picks the epoch
    (all of them run, with dropout), at most 40 with one; events, progress totals and the
    report give the resolved count, and the model keeps the setting."""
    data = make_objects("brightness", grid=(8, 8), seed=3)  # 32 per class
    few = {k: v for i, (k, v) in enumerate(sorted(data.classes.items())) if i < 16}
    quick = {"net_width": 8, "symmetry_probe_epochs": 0, "train_min_epoch_samples": 16,
             "train_patience": 0, "train_stop_loss": 0.0}  # fmt: skip
    assert AUTO_EPOCHS == {True: 40, False: 100}
    for labels, hold_out in ((few, False), (data.classes, True)):
        clf = ObjectClassifier(data.class_names, **quick)
        assert clf.config.train_epochs == "auto" and clf.config.most_epochs == 100
        totals: set[int] = set()
        clf.fit([replace(sample_of(data), annotations=labels)],
                progress=lambda e, seen=totals: seen.add(e.n_epochs))  # fmt: skip
        assert (clf.validation is not None) == hold_out
        assert totals == {AUTO_EPOCHS[hold_out]} and len(clf.history) == AUTO_EPOCHS[hold_out]
        assert clf.config.train_epochs == "auto"  # continued training resolves it again
        row = {what: (chosen, why) for what, chosen, why in decisions(clf.metadata())}["epochs"]
        assert f"of at most {AUTO_EPOCHS[hold_out]}," in row[0]
        assert "train_epochs auto" in row[1]
    assert epoch_count(7, hold_out=False) == 7 and ModelConfig(train_epochs=7).most_epochs == 7


@pytest.mark.parametrize("value", ["often", 0, 100_001])
def test_a_bad_epoch_count_is_named(value):
    with pytest.raises(InvalidInputError, match=r"train_epochs must be auto or in 1\.\.100000"):
        ModelConfig(train_epochs=value).validated()


@pytest.mark.parametrize("value", ["often", 1.0, -0.1])
def test_a_bad_dropout_is_named(value):
    with pytest.raises(InvalidInputError, match="net_dropout must be auto or in"):
        ModelConfig(net_dropout=value).validated()


@pytest.mark.parametrize("cancel_after", [None, 1])
def test_training_gives_the_network_back_in_its_own_layout(cancel_after):
    """Training runs channels-last (faster convolutions); the caller's network, finished or
    cancelled, keeps contiguous weights, which model files (safetensors) need."""
    net = build_network("light", 2, 2, 2, (16, 16), width=8)
    x = np.random.default_rng(0).normal(size=(24, 2, 16, 16)).astype(np.float32)
    y = np.arange(24) % 2
    cfg = ModelConfig(train_epochs=3, train_min_epoch_samples=24, train_batch_size=8)
    cancel = threading.Event()
    events = train_events(net, x, y, 2, (16, 16), cfg, torch.device("cpu"), cancel=cancel)
    seen, layouts = [], []
    with pytest.raises(Cancelled) if cancel_after else contextlib.nullcontext():
        for event in events:
            seen.append(event)
            first = net.features[0][0].weight
            layouts.append(first.is_contiguous(memory_format=torch.channels_last))
            if len(seen) == cancel_after:
                cancel.set()
    assert layouts[0]  # it did train channels-last
    assert all(p.is_contiguous() for p in net.parameters())
    if cancel_after is None:
        result = seen[-1]
        assert isinstance(result, TrainResult)
        assert all(v.is_contiguous() for v in result.state_dict.values())
