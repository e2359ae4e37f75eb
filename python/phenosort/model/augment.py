"""Batch-wise augmentation of patch tensors ``(B, C + 1, [Z,] Y, X)``; the last channel is the
object mask.

Geometric transforms move the mask with the image (resampled with nearest neighbour, so it
stays binary); intensity transforms and noise touch the image channels only. Patches are cut
larger than the network input (:func:`source_shape`) so that rotation and scaling sample real
pixels, not padding, and every batch is then resampled to the network's patch shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .config import ModelConfig

#: spatial axes by name, as negative tensor dimensions of ``(B, C, [Z,] Y, X)``
AXES = {"x": -1, "y": -2, "z": -3}


@dataclass(frozen=True)
class Augmentation:
    """The augmentation a model trains with (recorded with the model).

    ``flip_axes`` names the axes flipped at random (``"zyx"`` subset) and ``rot90`` the
    in-plane quarter turns: the symmetries the classes are assumed to have. A config's
    ``auto`` values are resolved by :mod:`phenosort.model.symmetry` before training.
    """

    flip_axes: str
    rot90: bool
    rotate_degrees: float
    scale: float
    intensity: float
    gamma: float
    noise: float
    shift: int = 0  # random in-plane shift of up to this many pixels (symmetry probes)

    @classmethod
    def from_config(cls, cfg: ModelConfig, ndim: int = 3, **resolved: bool) -> Augmentation:
        """The augmentation of ``cfg`` for ``ndim``-D patches; ``resolved`` gives the value
        of symmetries by name (``flip_x``, ``flip_y``, ``flip_z``, ``rot90``: a decision, or
        what a trained model used) and wins over the setting; an unresolved ``auto`` counts
        as on (the pre-``auto`` default)."""

        def on(value, name: str) -> bool:
            if name in resolved:
                return bool(resolved[name])
            return value == "auto" or bool(value)

        axes = [a for a in "yx" if on(cfg.aug_flip, f"flip_{a}")]
        if ndim == 3 and on(cfg.aug_flip_z, "flip_z"):
            axes.insert(0, "z")
        return cls(
            "".join(axes),
            on(cfg.aug_rot90, "rot90"),
            cfg.aug_rotate_degrees,
            cfg.aug_scale,
            cfg.aug_intensity,
            cfg.aug_gamma,
            cfg.aug_noise,
        )

    @classmethod
    def from_dict(cls, data: dict) -> Augmentation:
        """Read a model file's record; files before ``flip_axes`` had one ``flip`` switch
        for every axis."""
        data = dict(data)
        if "flip" in data:
            data["flip_axes"] = "zyx" if data.pop("flip") else ""
        return cls(**data)

    def to_dict(self) -> dict:
        return dict(vars(self))

    def symmetries(self) -> dict[str, bool]:
        """Which symmetries this augmentation uses, by name (as ``from_config`` takes them)."""
        flips = {f"flip_{a}": a in self.flip_axes for a in "xyz"}
        return {**flips, "rot90": self.rot90}

    def without_symmetries(self, *names: str) -> Augmentation:
        """A copy without the named symmetries (``flip_x``, ``flip_y``, ``flip_z``,
        ``rot90``)."""
        drop = {n.removeprefix("flip_") for n in names if n.startswith("flip_")}
        return replace(
            self,
            flip_axes="".join(a for a in self.flip_axes if a not in drop),
            rot90=self.rot90 and "rot90" not in names,
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
    draws = _Draws.of(x, aug, generator)
    # the same values either way: on a CPU sample by sample, each sample's own flips, shift
    # and turn (2-3.5x faster than whole-batch copies picked per sample, which are all memory
    # traffic; docs/benchmarks.md, issue 15); on an accelerator one call per transform
    x = draws.per_sample(x) if x.device.type == "cpu" else draws.batched(x)
    if not (aug.intensity > 0 or aug.gamma > 0 or aug.noise > 0):
        return x
    image, mask = x[:, :-1], x[:, -1:]
    image = _intensity(image, aug, generator)
    return torch.cat([image, mask], dim=1)


@dataclass(frozen=True)
class _Draws:
    """A batch's random flips, shifts and turns, drawn on the host in one fixed order."""

    flips: list[tuple[int, torch.Tensor]]  # (axis, whether each sample is flipped)
    offsets: torch.Tensor | None  # (B, 2) in-plane roll of each sample
    turns: torch.Tensor | None  # (B,) quarter turns of each sample

    @classmethod
    def of(cls, x: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> _Draws:
        b = x.shape[0]
        flips = [
            (AXES[name], torch.rand(b, generator=generator) < 0.5)
            for name in aug.flip_axes
            if -AXES[name] <= x.ndim - 2  # a 2D batch has no z axis
        ]
        most = aug.shift
        offsets = torch.randint(-most, most + 1, (b, 2), generator=generator) if most else None
        square = aug.rot90 and x.shape[-1] == x.shape[-2]
        turns = torch.randint(0, 4, (b,), generator=generator) if square else None
        return cls(flips, offsets, turns)

    def per_sample(self, x: torch.Tensor) -> torch.Tensor:
        flips = [(axis, picked.tolist()) for axis, picked in self.flips]
        offsets = None if self.offsets is None else self.offsets.tolist()
        turns = None if self.turns is None else self.turns.tolist()
        out = torch.empty_like(x)
        for i in range(x.shape[0]):
            sample = x[i]
            axes = [axis for axis, picked in flips if picked[i]]
            if axes:
                sample = sample.flip(axes)
            if offsets is not None and any(offsets[i]):
                sample = torch.roll(sample, tuple(offsets[i]), dims=(-2, -1))
            if turns is not None and turns[i]:
                sample = torch.rot90(sample, turns[i], dims=(-2, -1))
            out[i] = sample
        return out

    def batched(self, x: torch.Tensor) -> torch.Tensor:
        for axis, picked in self.flips:
            x = _where_sample(picked.to(x.device), x.flip(axis), x)
        if self.offsets is not None:
            x = _shift(x, self.offsets)
        if self.turns is not None:
            k = self.turns.to(x.device)
            out = x.clone()
            for turns in (1, 2, 3):
                out = _where_sample(k == turns, torch.rot90(x, turns, dims=(-2, -1)), out)
            x = out
        return x


def _shift(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Roll each sample by its own in-plane ``offsets`` (edges wrap: a pixel or two of
    background). It makes a probe indifferent to the half-pixel by which a flip moves an
    object whose bounding box cannot be centred exactly."""
    out = x
    for dy, dx in sorted({tuple(o) for o in offsets.tolist()} - {(0, 0)}):
        pick = ((offsets[:, 0] == dy) & (offsets[:, 1] == dx)).to(x.device)
        out = _where_sample(pick, torch.roll(x, (dy, dx), dims=(-2, -1)), out)
    return out


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
