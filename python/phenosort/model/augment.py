"""Batch-wise augmentation of patch tensors ``(B, C + 1, [Z,] Y, X)``; the last channel is the
object mask.

Geometric transforms move the mask with the image (resampled with nearest neighbour, so it
stays binary); intensity transforms and noise touch the image channels only. Patches are cut
larger than the network input (:func:`source_shape`) so that rotation and scaling sample real
pixels, not padding, and every batch is then resampled to the network's patch shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import ModelConfig


@dataclass(frozen=True)
class Augmentation:
    """The augmentation switches of a :class:`ModelConfig` (recorded with the model)."""

    flip: bool
    rot90: bool
    rotate_degrees: float
    scale: float
    intensity: float
    gamma: float
    noise: float

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> Augmentation:
        return cls(
            cfg.aug_flip,
            cfg.aug_rot90,
            cfg.aug_rotate_degrees,
            cfg.aug_scale,
            cfg.aug_intensity,
            cfg.aug_gamma,
            cfg.aug_noise,
        )

    @property
    def resamples(self) -> bool:
        return self.rotate_degrees > 0 or self.scale > 0


def source_shape(shape: tuple[int, ...], aug: Augmentation) -> tuple[int, ...]:
    """Shape to cut so that any allowed rotation/zoom-out of ``shape`` stays inside it."""
    if not aug.resamples:
        return tuple(shape)
    angle = math.radians(min(aug.rotate_degrees, 45.0))
    factor = (abs(math.cos(angle)) + abs(math.sin(angle))) * (1.0 + aug.scale)
    grow = [int(math.ceil(s * factor)) for s in shape[-2:]]
    grow = [g + (g - s) % 2 for g, s in zip(grow, shape[-2:])]  # same parity: exact centre
    return (*shape[:-2], *grow)


def center_crop(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Crop the spatial axes of ``x`` to ``shape`` around their centre."""
    index = [slice(None), slice(None)]
    for have, want in zip(x.shape[2:], shape):
        start = (have - want) // 2
        index.append(slice(start, start + want))
    return x[tuple(index)]


def augment(
    x: torch.Tensor, shape: tuple[int, ...], aug: Augmentation, generator: torch.Generator
) -> torch.Tensor:
    """Randomly transform a batch and return it at the network's patch ``shape``."""
    if aug.resamples:
        x = _rotate_scale(x, shape, aug, generator)
    else:
        x = center_crop(x, shape)
    if aug.flip:
        for axis in range(2, x.ndim):
            x = _where_sample(_coin(x, generator), x.flip(axis), x)
    if aug.rot90 and x.shape[-1] == x.shape[-2]:
        k = torch.randint(0, 4, (x.shape[0],), generator=generator).to(x.device)
        out = x.clone()
        for turns in (1, 2, 3):
            out = _where_sample(k == turns, torch.rot90(x, turns, dims=(-2, -1)), out)
        x = out
    image, mask = x[:, :-1], x[:, -1:]
    image = _intensity(image, aug, generator)
    return torch.cat([image, mask], dim=1)


def _coin(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)


def _where_sample(pick: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(pick.view(-1, *([1] * (a.ndim - 1))), a, b)


def _uniform(n: int, half_width: float, generator: torch.Generator, shape=()) -> torch.Tensor:
    return (torch.rand((n, *shape), generator=generator) * 2 - 1) * half_width


def _rotate_scale(
    x: torch.Tensor, shape: tuple[int, ...], aug: Augmentation, generator: torch.Generator
) -> torch.Tensor:
    """Sample a rotated, scaled output grid of ``shape`` from the larger source patch."""
    b = x.shape[0]
    angle = torch.deg2rad(_uniform(b, aug.rotate_degrees, generator))
    scale = 1.0 + _uniform(b, aug.scale, generator)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    src = x.shape[2:]
    ys = torch.arange(shape[-2], dtype=x.dtype) - (shape[-2] - 1) / 2
    xs = torch.arange(shape[-1], dtype=x.dtype) - (shape[-1] - 1) / 2
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    # source position of each output pixel, then normalised to [-1, 1] (align_corners=True)
    sy = cos[:, None, None] * gy + sin[:, None, None] * gx
    sx = -sin[:, None, None] * gy + cos[:, None, None] * gx
    ny = sy / max((src[-2] - 1) / 2, 0.5)
    nx = sx / max((src[-1] - 1) / 2, 0.5)
    if x.ndim == 4:
        grid = torch.stack([nx, ny], dim=-1)
    else:
        depth = shape[0]
        zs = torch.arange(depth, dtype=x.dtype) - (depth - 1) / 2
        nz = (zs / max((src[0] - 1) / 2, 0.5)).view(1, depth, 1, 1).expand(b, depth, *ny.shape[1:])
        grid = torch.stack(
            [
                nx[:, None].expand(b, depth, *nx.shape[1:]),
                ny[:, None].expand(b, depth, *ny.shape[1:]),
                nz,
            ],
            dim=-1,
        )
    grid = grid.to(x.device)
    image = F.grid_sample(x[:, :-1], grid, mode="bilinear", align_corners=True)
    mask = F.grid_sample(x[:, -1:], grid, mode="nearest", align_corners=True)
    return torch.cat([image, mask], dim=1)


def _intensity(image: torch.Tensor, aug: Augmentation, generator: torch.Generator):
    b, c = image.shape[:2]
    view = (b, c) + (1,) * (image.ndim - 2)
    if aug.intensity > 0:
        scale = 1.0 + _uniform(b, aug.intensity, generator, (c,))
        offset = _uniform(b, aug.intensity, generator, (c,))
        image = image * scale.view(view).to(image.device) + offset.view(view).to(image.device)
    if aug.gamma > 0:
        gamma = (1.0 + _uniform(b, aug.gamma, generator)).view(b, *([1] * (image.ndim - 1)))
        image = torch.sign(image) * image.abs().pow(gamma.to(image.device))
    if aug.noise > 0:
        noise = torch.randn(image.shape, generator=generator) * aug.noise
        image = image + noise.to(image.device)
    return image
