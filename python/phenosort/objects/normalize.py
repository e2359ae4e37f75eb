"""Intensity normalisation policies for patches, with parameters that travel with a model.

``percentile`` (default) maps each channel's low/high percentile *of the whole image* to 0/1,
so brightness differences between objects of one image survive (per-patch min-max erases
them: field-notes §2). ``fixed`` applies the training set's percentile values unchanged,
``patch_minmax`` is the reference implementation's per-patch scaling, ``none`` leaves values.

Percentiles are taken per channel, or over all channels together (``joint``): an RGB image's
colour is information (H&E hue tells haematoxylin from eosin), and per-channel stretching
shifts it with each image's content, while separate fluorescence channels need their own
ranges. ``auto`` chooses joint for 8-bit images with 3 channels (RGB), per channel otherwise.
Per channel is the default: it also evens out colour casts between sources (measured in
docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InvalidInputError

MODES = ("percentile", "fixed", "patch_minmax", "none")
CHANNEL_POLICIES = ("auto", "each", "joint")
_SAMPLE_VOXELS = 1 << 21  # percentiles from a regular subsample of ~2 M voxels per channel


@dataclass(frozen=True)
class Normalization:
    """How patch intensities are scaled; stored in the model file."""

    mode: str = "percentile"
    low: float = 1.0
    high: float = 99.8
    fixed_low: tuple[float, ...] | None = None  # per channel, set by training for "fixed"
    fixed_high: tuple[float, ...] | None = None
    joint: bool = False  # one range for all channels (resolved from ``auto`` at training)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInputError(
                f"normalization mode {self.mode!r} is unknown; use one of {', '.join(MODES)}"
            )
        if not 0 <= self.low < self.high <= 100:
            raise InvalidInputError(
                f"normalization percentiles must satisfy 0 <= low < high <= 100, "
                f"got low={self.low}, high={self.high}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Normalization:
        data = dict(data)
        for key in ("fixed_low", "fixed_high"):
            if data.get(key) is not None:
                data[key] = tuple(float(v) for v in data[key])
        return cls(**data)

    def image_range(self, image_cf: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-channel (low, high) to apply to patches of this image, or None (per patch/none)."""
        if self.mode == "percentile":
            return channel_percentiles(image_cf, self.low, self.high, joint=self.joint)
        if self.mode == "fixed":
            if self.fixed_low is None or self.fixed_high is None:
                raise InvalidInputError("normalization 'fixed' has no stored values yet")
            if len(self.fixed_low) != image_cf.shape[0]:
                raise InvalidInputError(
                    f"normalization 'fixed' stores {len(self.fixed_low)} channels, "
                    f"the image has {image_cf.shape[0]}"
                )
            return np.asarray(self.fixed_low, np.float32), np.asarray(self.fixed_high, np.float32)
        return None

    def apply(self, patches: np.ndarray, image_range) -> np.ndarray:
        """Normalise float32 patches ``(B, C, ...)`` in place and return them."""
        if image_range is not None:
            lo, hi = image_range
            shape = (1, -1) + (1,) * (patches.ndim - 2)
            patches -= lo.reshape(shape)
            patches /= np.maximum(hi - lo, 1e-6).reshape(shape)
        elif self.mode == "patch_minmax":
            axes = tuple(range(2, patches.ndim))
            lo = patches.min(axis=axes, keepdims=True)
            patches -= lo
            patches /= np.maximum(patches.max(axis=axes, keepdims=True), 1e-6)
        return patches


def joint_channels(policy: str, images_cf: list[np.ndarray]) -> bool:
    """Whether ``policy`` (``auto``/``each``/``joint``) scales all channels of these
    channel-first images together; ``auto``: only when every image is 8-bit RGB."""
    if policy not in CHANNEL_POLICIES:
        raise InvalidInputError(
            f"channel policy {policy!r} is unknown; use one of {', '.join(CHANNEL_POLICIES)}"
        )
    if policy == "auto":
        return bool(images_cf) and all(
            im.dtype == np.uint8 and im.shape[0] == 3 for im in images_cf
        )
    return policy == "joint"


def channel_percentiles(
    image_cf: np.ndarray, low: float, high: float, *, joint: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel percentiles of a channel-first image from a regular subsample (``joint``:
    the percentiles of all channels together, repeated for each channel)."""
    spatial = image_cf.shape[1:]
    stride = max(1, int(np.prod(spatial)) // _SAMPLE_VOXELS)
    step = max(1, int(np.ceil(stride ** (1 / len(spatial)))))  # same step on every axis: a view
    n = image_cf.shape[0]
    groups = [slice(0, n)] if joint else [slice(c, c + 1) for c in range(n)]
    lo = np.empty(n, np.float32)
    hi = np.empty(n, np.float32)
    # uint8/uint16 are partitioned as they are (half the time of float32): their values and
    # the interpolation between them are exact in float32 and float64, so the result is the
    # same to the bit; the copy is ours, so percentile may partition it in place
    exact = image_cf.dtype in (np.uint8, np.uint16)
    for g in groups:
        view = image_cf[(g,) + (slice(None, None, step),) * len(spatial)]
        sample = np.array(view) if exact else np.asarray(view, np.float32)
        if not exact and np.shares_memory(sample, image_cf):
            sample = sample.copy()  # a float32 image: do not partition the caller's pixels
        lo[g], hi[g] = np.percentile(sample, [low, high], overwrite_input=True)
        if hi[g][0] <= lo[g][0]:  # flat channel: keep values finite and comparable
            hi[g] = lo[g] + 1.0
    return lo, hi


def pooled_percentiles(
    images_cf: list[np.ndarray], low: float, high: float, *, joint: bool = False
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Training-set percentiles (median over images) for the ``fixed`` mode."""
    ranges = [channel_percentiles(im, low, high, joint=joint) for im in images_cf]
    lo = np.median(np.stack([r[0] for r in ranges]), axis=0)
    hi = np.median(np.stack([r[1] for r in ranges]), axis=0)
    return tuple(float(v) for v in lo), tuple(float(v) for v in hi)
