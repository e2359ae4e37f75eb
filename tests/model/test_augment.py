"""Batch augmentation: the mask moves with the image and stays binary; intensity changes touch
image channels only; everything is reproducible from the generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from phenosort.model.augment import (
    Augmentation,
    _Draws,
    augment,
    center_crop,
    source_shape,
)

ALL = Augmentation("zyx", True, 20.0, 0.15, 0.2, 0.3, 0.05)
NONE = Augmentation("", False, 0.0, 0.0, 0.0, 0.0, 0.0)


def _batch(shape=(24, 24), n=16, channels=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, channels + 1, *shape), generator=g)
    mask = torch.zeros((n, *shape))
    centre = tuple(slice(s // 2 - 3, s // 2 + 3) for s in shape)
    mask[(slice(None), *centre)] = 1.0
    x[:, -1] = mask
    return x


@pytest.mark.parametrize("shape", [(24, 24), (6, 24, 24)])
def test_mask_stays_binary_and_output_has_network_shape(shape):
    target = tuple(shape[:-2]) + (16, 16)
    source = source_shape(target, ALL)
    assert source[-2:] > target[-2:] and source[:-2] == target[:-2]
    x = _batch(source)
    out = augment(x, target, ALL, torch.Generator().manual_seed(1))
    assert out.shape == (x.shape[0], x.shape[1], *target)
    assert set(torch.unique(out[:, -1]).tolist()) <= {0.0, 1.0}
    assert out[:, -1].sum() > 0  # the object is still in the patch


def test_intensity_and_noise_leave_the_mask_channel_alone():
    aug = Augmentation("", False, 0.0, 0.0, 0.3, 0.3, 0.1)
    x = _batch()
    out = augment(x, (24, 24), aug, torch.Generator().manual_seed(2))
    assert torch.equal(out[:, -1], x[:, -1])
    assert not torch.allclose(out[:, :-1], x[:, :-1])


def test_flips_and_rot90_permute_pixels_of_image_and_mask_together():
    aug = Augmentation("zyx", True, 0.0, 0.0, 0.0, 0.0, 0.0)
    x = _batch()
    x[:, 0] = torch.arange(24 * 24, dtype=torch.float32).reshape(24, 24)  # unique values
    x[:, -1] = (x[:, 0] % 7 == 0).float()
    out = augment(x, (24, 24), aug, torch.Generator().manual_seed(3))
    for i in range(out.shape[0]):
        # the mask is still "pixel value divisible by 7" wherever the pixel moved
        assert torch.equal(out[i, -1], (out[i, 0] % 7 == 0).float())
        assert sorted(out[i, 0].flatten().tolist()) == sorted(x[i, 0].flatten().tolist())


def test_no_augmentation_is_a_centre_crop_and_runs_are_reproducible():
    x = _batch((30, 30))
    assert torch.equal(augment(x, (16, 16), NONE, torch.Generator()), center_crop(x, (16, 16)))
    a = augment(x, (16, 16), ALL, torch.Generator().manual_seed(5))
    b = augment(x, (16, 16), ALL, torch.Generator().manual_seed(5))
    c = augment(x, (16, 16), ALL, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_rot90_is_skipped_for_non_square_patches():
    aug = Augmentation("", True, 0.0, 0.0, 0.0, 0.0, 0.0)
    x = _batch((12, 20))
    out = augment(x, (12, 20), aug, torch.Generator().manual_seed(0))
    assert np.array_equal(out.numpy(), x.numpy())


@pytest.mark.parametrize(
    ("shape", "aug"),
    [
        ((24, 24), Augmentation("yx", True, 0.0, 0.0, 0.0, 0.0, 0.0)),  # training's
        ((24, 24), Augmentation("yx", False, 0.0, 0.0, 0.0, 0.0, 0.0, shift=1)),  # a probe's
        ((6, 24, 24), Augmentation("zyx", True, 0.0, 0.0, 0.0, 0.0, 0.0, shift=2)),
        ((12, 20), Augmentation("x", True, 0.0, 0.0, 0.0, 0.0, 0.0, shift=1)),  # not square
    ],
)
def test_sample_by_sample_and_whole_batch_transforms_agree(shape, aug):
    """The CPU transforms each sample on its own, an accelerator the whole batch at once
    per transform: the same draws give the same values, exactly."""
    x = _batch(shape, n=33)
    x[:, 0] = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)
    draws = _Draws.of(x, aug, torch.Generator().manual_seed(4))
    picked = draws.per_sample(x)
    assert torch.equal(picked, draws.batched(x))
    assert not torch.equal(picked, x)  # something was transformed
    assert torch.equal(augment(x, shape, aug, torch.Generator().manual_seed(4)), picked)
