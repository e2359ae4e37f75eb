"""Intensity normalisation policies for patches, with parameters that travel with a model.

``percentile`` (default) maps each channel's low/high percentile *of the whole image* to 0/1,
so brightness differences between objects of one image survive (per-patch min-max erases
them: field-notes §2). ``fixed`` applies the training set's percentile values unchanged,
``patch_minmax`` is the reference implementation's per-patch scaling, ``none`` leaves values.

How channels share a range (``channels``): fluorescence channels are separate stains and need
their own ranges (``each``). An RGB image's colour is information (H&E hue tells haematoxylin
from eosin), and per-channel stretching shifts it with each image's content; one range for
all channels (``joint``) keeps the hue but also keeps a source's colour cast. ``white``
is a white balance: each channel's high percentile (the slide background of brightfield
images) maps to 1, which removes the cast, and one black point for all channels, taken on
the balanced values, keeps the hue. ``auto`` chooses white for 8-bit 3-channel (RGB)
images, each otherwise (measured in docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from ..errors import InvalidInputError

MODES = ("percentile", "fixed", "patch_minmax", "none")
CHANNEL_POLICIES = ("auto", "each", "joint", "white")
_SAMPLE_VOXELS = 1 << 21  # percentiles from a regular subsample of ~2 M voxels per channel


@dataclass(frozen=True)
class Normalization:
    """How patch intensities are scaled; stored in the model file."""

    mode: str = "percentile"
    low: float = 1.0
    high: float = 99.8
    fixed_low: tuple[float, ...] | None = None  # per channel, set by training for "fixed"
    fixed_high: tuple[float, ...] | None = None
    channels: str = "each"  # each, joint or white (``auto`` is resolved at training)

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
        if self.channels not in CHANNEL_POLICIES or self.channels == "auto":
            raise InvalidInputError(
                f"normalization channels {self.channels!r} is unknown; use each, joint or white"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Normalization:
        data = dict(data)
        if "joint" in data:  # files of 0.1.0 before the white policy: a flag
            data.setdefault("channels", "joint" if data.pop("joint") else "each")
        for key in ("fixed_low", "fixed_high"):
            if data.get(key) is not None:
                data[key] = tuple(float(v) for v in data[key])
        return cls(**data)

    def image_range(self, image_cf: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-channel (low, high) to apply to patches of this image, or None (per patch/none)."""
        if self.mode == "percentile":
            return channel_percentiles(image_cf, self.low, self.high, channels=self.channels)
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

    def measured_range(self, image_cf: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """What :meth:`range_for` needs measured on the image, once, when it is prepared:
        the ``percentile`` mode's percentiles (the costly part); None in the other modes,
        whose range does not come from the image."""
        return self.image_range(image_cf) if self.mode == "percentile" else None

    def range_for(
        self, image_cf: np.ndarray, measured: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The (low, high) to apply to patches of ``image_cf``: ``measured`` (by
        :meth:`measured_range`) in ``percentile`` mode; the stored values in ``fixed`` mode,
        read now because training stores them after its images are prepared."""
        return measured if self.mode == "percentile" else self.image_range(image_cf)

    def fitted(self, images_cf: list[np.ndarray]) -> Normalization:
        """This normalisation with what it takes from a new model's training images: in
        ``fixed`` mode their pooled percentiles; the other modes take nothing."""
        if self.mode != "fixed":
            return self
        low, high = pooled_percentiles(images_cf, self.low, self.high, channels=self.channels)
        return replace(self, fixed_low=low, fixed_high=high)

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


def resolve_channels(policy: str, images_cf: list[np.ndarray]) -> str:
    """The channel policy (``each``/``joint``/``white``) that ``policy`` means for these
    channel-first images; ``auto``: white when every image is 8-bit RGB, else each."""
    if policy not in CHANNEL_POLICIES:
        raise InvalidInputError(
            f"channel policy {policy!r} is unknown; use one of {', '.join(CHANNEL_POLICIES)}"
        )
    if policy != "auto":
        return policy
    rgb = bool(images_cf) and all(im.dtype == np.uint8 and im.shape[0] == 3 for im in images_cf)
    return "white" if rgb else "each"


def sampled(spatial: tuple[int, ...]) -> tuple[slice, ...]:
    """The regular subsample of about ``_SAMPLE_VOXELS`` voxels that percentiles are taken
    from: the same step on every axis, so that it is a view."""
    stride = max(1, int(np.prod(spatial)) // _SAMPLE_VOXELS)
    step = max(1, int(np.ceil(stride ** (1 / len(spatial)))))
    return (slice(None, None, step),) * len(spatial)


def channel_percentiles(
    image_cf: np.ndarray, low: float, high: float, *, channels: str = "each"
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (low, high) of a channel-first image from a regular subsample.

    ``each``: every channel's own percentiles; ``joint``: those of all channels together;
    ``white``: every channel's own high percentile and one low point, the low percentile of
    all channels divided by their high points, scaled back to each channel.
    """
    view = image_cf[(slice(None),) + sampled(image_cf.shape[1:])]
    if channels == "white":
        return _white_balance(view, low, high)
    n = image_cf.shape[0]
    groups = [slice(0, n)] if channels == "joint" else [slice(c, c + 1) for c in range(n)]
    lo = np.empty(n, np.float32)
    hi = np.empty(n, np.float32)
    for g in groups:
        if image_cf.dtype in _COUNTED:  # few levels: read from the histogram
            counts = np.bincount(np.ravel(view[g]))
            levels = np.arange(counts.size, dtype=image_cf.dtype)
            lo[g], hi[g] = _percentile_of_histogram(levels, counts, [low, high])
        else:
            sample = np.asarray(view[g], np.float32)
            sample = sample.copy() if np.shares_memory(sample, image_cf) else sample
            lo[g], hi[g] = np.percentile(sample, [low, high], overwrite_input=True)
    return lo, _not_flat(lo, hi)


def _white_balance(view: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    if view.dtype in _COUNTED:  # the same multisets of float32 values, as histograms
        counts = [np.bincount(np.ravel(channel)) for channel in view]
        hi = np.array(
            [_percentile_of_histogram(np.arange(c.size, dtype=np.float32), c, high)
             for c in counts], np.float32,
        )  # fmt: skip
        white = _white(hi)
        levels = np.concatenate([np.arange(c.size, dtype=np.float32) / w
                                 for c, w in zip(counts, white)])  # fmt: skip
        order = np.argsort(levels, kind="stable")
        black = float(_percentile_of_histogram(levels[order], np.concatenate(counts)[order], low))
    else:
        sample = np.asarray(view, np.float32).reshape(view.shape[0], -1)
        hi = np.percentile(sample, high, axis=1).astype(np.float32)
        white = _white(hi)
        black = float(np.percentile(sample / white[:, None], low))
    lo = (black * white).astype(np.float32)
    return lo, _not_flat(lo, hi)


def _white(hi: np.ndarray) -> np.ndarray:
    """The white point of each channel: its high percentile (a dark channel is not rescaled)."""
    return np.where(hi > 0, hi, 1.0).astype(np.float32)


_COUNTED = (np.uint8, np.uint16)  # few levels: percentiles from histograms, not partitions


def _percentile_of_histogram(values: np.ndarray, counts: np.ndarray, q: float | list[float]):
    """``np.percentile(np.repeat(values, counts), q)`` to the bit, without expanding it.

    ``values`` ascend. numpy's linear method is repeated step by step, so only the two
    order statistics around each index are looked up, in the cumulative counts: O(levels)
    instead of a partition of every voxel. Its index arithmetic is float64; a Python float
    ``q`` interpolates in the values' float type (a weak scalar), a list of ``q`` in float64.
    """
    n = int(counts.sum())
    if n == 0:
        raise ValueError("percentile of an empty histogram")
    cumulative = np.cumsum(counts)

    def one(q_: float):
        index = (n - 1) * np.true_divide(q_, 100)
        below = np.floor(index)
        if index >= n - 1:
            first = second = n - 1
        elif index < 0:
            first = second = 0
        else:
            first, second = int(below), int(below) + 1
        weight = index - below
        a, b = values[np.searchsorted(cumulative, [first, second], side="right")]
        step = b - a  # in the values' type, as numpy's lerp takes it
        if isinstance(q, float):
            weight = float(weight)
        return b - step * (1 - weight) if weight >= 0.5 else a + step * weight

    return one(q) if isinstance(q, float) else np.array([one(v) for v in q])


def _not_flat(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A flat channel gets a range of 1, which keeps its values finite and comparable."""
    return np.where(hi > lo, hi, lo + 1.0).astype(np.float32)


def pooled_percentiles(
    images_cf: list[np.ndarray], low: float, high: float, *, channels: str = "each"
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Training-set percentiles (median over images) for the ``fixed`` mode."""
    return pooled_ranges(
        [channel_percentiles(im, low, high, channels=channels) for im in images_cf]
    )


def pooled_ranges(
    ranges: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The per-channel median over images of their ``(low, high)``: the ``fixed`` mode's
    values from ranges already measured (:func:`channel_percentiles`)."""
    lo = np.median(np.stack([r[0] for r in ranges]), axis=0)
    hi = np.median(np.stack([r[1] for r in ranges]), axis=0)
    return tuple(float(v) for v in lo), tuple(float(v) for v in hi)
