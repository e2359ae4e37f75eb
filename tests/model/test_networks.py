"""The networks prediction runs: the folded, channels-last copy agrees with the trained one,
and model files made before ``net_block`` existed keep their layer order."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from conftest import sample_of
from phenosort.classifier import ObjectClassifier
from phenosort.model.file import load_model_file, save_model_file
from phenosort.model.networks import _PairMax, _pool_by_pairs, build_network, inference_network


def _trained_like(net: torch.nn.Module, negative_scales: bool = True) -> torch.nn.Module:
    """``net`` with batch-norm statistics and affine terms far from their initial values, so
    that a wrong fold (or none) shows."""
    gen = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen))
            m.running_var.copy_(torch.rand(n, generator=gen) * 3 + 0.1)
            scale = torch.randn(n, generator=gen)
            m.weight.data.copy_(scale if negative_scales else scale.abs() + 0.05)
            m.bias.data.copy_(torch.randn(n, generator=gen))
    return net.eval()


@pytest.mark.parametrize(
    "name, shape, block, negative_scales",
    [
        ("light", (32, 32), "conv-bn-relu", True),
        ("light", (32, 32), "conv-relu-bn", False),
        ("light", (32, 32), "conv-relu-bn", True),  # cannot fold: kept as trained
        ("light", (8, 24, 24), "conv-bn-relu", True),
        ("light", (8, 24, 24), "conv-relu-bn", False),
        ("light", (3, 21, 19), "conv-relu-bn", False),  # odd sizes, Z exhausted first
        ("resnet18", (32, 32), "conv-bn-relu", True),
    ],
)
def test_inference_copy_predicts_what_the_trained_network_does(name, shape, block, negative_scales):
    torch.manual_seed(0)
    net = build_network(name, len(shape), 3, 4, shape, width=8, block=block)
    net = _trained_like(net, negative_scales)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fast = inference_network(net)
    x = torch.randn(6, 3, *shape) * 2
    with torch.inference_mode():
        expected, got = net(x), fast(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    if name == "light":  # the live model fits heads on these: the trained network's features
        with torch.inference_mode():
            torch.testing.assert_close(fast.embed(x), net.embed(x), rtol=1e-4, atol=1e-4)
    # the trained network is left as it was: same tensors, its batch norms still there
    after = net.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    if name == "light" and (block == "conv-bn-relu" or not negative_scales):
        kinds = {type(m).__name__ for m in fast.modules()}
        assert not any("BatchNorm" in k for k in kinds), kinds  # folded away
    if name == "light":
        kinds = {type(m).__name__ for m in fast.modules()}
        assert "_PairMax" in kinds and not any("MaxPool" in k for k in kinds), kinds


@pytest.mark.parametrize(
    "shape, kernel, layout",
    [
        ((5, 3, 9, 7), (2, 2), torch.channels_last),
        ((5, 3, 8, 8), (2, 2), torch.contiguous_format),
        ((2, 3, 5, 9, 7), (2, 2, 2), torch.channels_last_3d),
        ((2, 3, 1, 9, 7), (1, 2, 2), torch.channels_last_3d),
    ],
)
def test_pair_max_is_max_pooling(shape, kernel, layout):
    """Prediction's max pooling gives torch's values, ties and NaN included, and keeps the
    input's layout (the next convolution's speed depends on it)."""
    pool = torch.nn.MaxPool2d(kernel) if len(kernel) == 2 else torch.nn.MaxPool3d(kernel)
    x = torch.randint(-2, 3, shape).float()  # few values: many ties
    x.view(-1)[::17] = float("nan")
    x = x.contiguous(memory_format=layout)
    net = torch.nn.Sequential(pool)
    fast = copy.deepcopy(net)
    _pool_by_pairs(fast)
    assert isinstance(fast[0], _PairMax)
    got = fast(x)
    torch.testing.assert_close(got, pool(x), rtol=0, atol=0, equal_nan=True)
    assert got.is_contiguous(memory_format=layout)


@pytest.mark.parametrize(
    "pool",
    [
        torch.nn.MaxPool2d(3, stride=2, padding=1),  # resnet's stem
        torch.nn.MaxPool2d(2, stride=1),
        torch.nn.MaxPool2d(2, ceil_mode=True),
        torch.nn.MaxPool3d((2, 2, 2), dilation=2),
    ],
)
def test_other_max_poolings_are_left_as_they_are(pool):
    net = torch.nn.Sequential(pool)
    _pool_by_pairs(net)
    assert net[0] is pool


def test_model_files_from_before_net_block_keep_their_layer_order(brightness_data, tmp_path):
    train, data = brightness_data
    clf = ObjectClassifier(
        train.class_names, train_epochs=2, net_width=8, net_block="conv-relu-bn",
        symmetry_probe_epochs=0,
    )  # fmt: skip
    clf.fit([sample_of(train)])
    path = clf.save(tmp_path / "new.phenosort")
    state, meta = load_model_file(path)
    del meta["config"]["net_block"]  # as files written before the setting existed
    del meta["config"]["train_stop_loss"]  # (a new version of it trains as it was trained)
    del meta["config"]["net_dropout"]  # trained without dropout, and continues so
    old = save_model_file(tmp_path / "old.phenosort", state, meta)

    loaded = ObjectClassifier.load(old)
    assert loaded.config.net_block == "conv-relu-bn"
    assert loaded.config.train_stop_loss == 0.0
    assert loaded.config.net_dropout == 0.0
    a = clf.predict(data.image, data.labels, axes=data.axes).probabilities
    b = loaded.predict(data.image, data.labels, axes=data.axes).probabilities
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_dropout_acts_only_in_training_and_adds_no_weights():
    plain = build_network("light", 2, 3, 4, (32, 32), width=8)
    dropped = build_network("light", 2, 3, 4, (32, 32), width=8, dropout=0.5)
    assert plain.state_dict().keys() == dropped.state_dict().keys()  # model files unchanged
    x = torch.randn(6, 3, 32, 32)
    dropped.train()
    assert not torch.equal(dropped(x), dropped(x))  # a new mask each pass
    dropped.load_state_dict(plain.state_dict())  # undo the passes' batch-norm statistics
    plain.eval(), dropped.eval()
    with torch.inference_mode():
        torch.testing.assert_close(dropped(x), plain(x))  # same weights, same outputs
        torch.testing.assert_close(inference_network(dropped)(x), plain(x), rtol=1e-4, atol=1e-4)
