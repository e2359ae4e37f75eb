"""All training and prediction settings in one dataclass, validated in one call.

Field prefixes group related settings: ``patch_*`` (what is cut), ``norm_*`` (intensity
scaling), ``net_*`` (architecture), ``train_*`` (optimisation and validation), ``aug_*``
(augmentation). The whole config is stored in the model file, so prediction repeats exactly
what training did. Unknown keys are errors, never silently dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import InvalidInputError
from ..objects.normalize import CHANNEL_POLICIES
from ..objects.normalize import MODES as NORM_MODES
from .field_types import type_errors, typed_values

NETWORKS = ("light", "resnet18", "resnet34", "resnet50", "densenet121")
NET_BLOCKS = ("conv-bn-relu", "conv-relu-bn")
# what a model file written before a setting existed was made with (read into its config)
FILE_DEFAULTS = {
    "net_block": "conv-relu-bn",
    "net_dropout": 0.0,
    "train_bn_recalibrate": False,
    "train_stop_loss": 0.0,
}
#: ``net_dropout=auto``'s rate when there is no hold-out set (none with one)
AUTO_DROPOUT = 0.5


def dropout_rate(net_dropout: float | str, hold_out: bool) -> float:
    """The dropout a training uses for the setting ``net_dropout``: ``auto`` resolved for a
    training with or without a ``hold_out`` set (also how a model's report reads it)."""
    if net_dropout == "auto":
        return 0.0 if hold_out else AUTO_DROPOUT
    return float(net_dropout)


#: ``train_epochs=auto``: with a hold-out set (a maximum: early stopping may end sooner)
#: and without one (every epoch runs, with dropout, and the last is kept). With a
#: hold-out, 40 instead of 60 was within seed noise on every row with one (5 seeds,
#: paired) at 0.51-0.78x the training time (docs/benchmarks.md, issue 15, sixth session).
AUTO_EPOCHS = {True: 40, False: 100}


def epoch_count(train_epochs: int | str, hold_out: bool) -> int:
    """The epochs a training runs (at most) for the setting ``train_epochs``: ``auto``
    resolved for a training with or without a ``hold_out`` set."""
    if train_epochs == "auto":
        return AUTO_EPOCHS[hold_out]
    return int(train_epochs)


DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
CLASS_WEIGHTINGS = ("balanced", "none")


@dataclass(frozen=True)
class ModelConfig:
    """Every default of phenosort in one place.

    Attributes
    ----------
    patch_size : int or None
        In-plane field of view in image pixels; None estimates it from the objects (90th
        percentile of extents x 1.5). 3D patches cover the same physical extent in Z, so
        they get ``round(size * vxy / vz)`` planes.
    patch_max_size : int
        Largest network input edge: a larger field of view is sampled every
        ``patch_size / patch_max_size`` pixels, which bounds memory and time for big cells.
    patch_padding : str
        ``constant``, ``reflect`` or ``edge`` outside the image.
    patch_context_radius : float or None
        None keeps the surroundings; r keeps only the object dilated by r pixels.
    norm_mode : str
        ``auto`` (default), ``percentile`` (each image's own range), ``fixed`` (the training
        images' range for every image), ``patch_minmax`` or ``none``. ``norm_low``/
        ``norm_high`` are the percentiles. ``auto`` tests on the labels whether per-image
        ranges change the class with what an image holds (classes that are brightness
        levels, in images that may hold one class only) and then chooses ``fixed``;
        otherwise ``percentile``, which absorbs exposure and stain changes between images
        (model/norm_choice.py). The model file records the choice and its evidence; a live
        session, which runs no probes, uses ``percentile``.
    norm_channels : str
        How channels share a range. ``auto`` (default): ``white`` for 8-bit 3-channel (RGB)
        images, ``each`` otherwise. ``each``: every channel its own percentile range (separate
        fluorescence stains); ``joint``: one range for all channels (keeps hue, and a
        source's colour cast); ``white``: white balance, each channel's high percentile
        maps to 1 and one black point serves all channels (keeps hue, removes the cast).
        The model file records the resolved choice. On issue 8's protocol white balance
        gained +0.071 / +0.039 / +0.066 macro-F1 on PanNuke H&E at 10 / 50 / all labels per
        class over ``each`` (docs/benchmarks.md).
    net_name : str
        ``light`` (Conv-ReLU-BN-MaxPool blocks) or a monai ``resnet18/34/50``, ``densenet121``.
    net_width, net_depth : int
        First-block width and number of blocks of the light network. Width 16 (the default)
        is a quarter of the arithmetic of the paper's 32 and half its training time, with
        macro-F1 within 0.02 of it on every row of the quality table (docs/benchmarks.md,
        issue 15); 32 is the accurate preset.
    net_block : str
        Layer order in the light network's blocks: ``conv-relu-bn`` (default; the Svetlana
        paper's order, which model files made before this setting existed have) or
        ``conv-bn-relu``. Prediction folds the batch norms away in both orders, at the
        same cost (``conv-bn-relu`` lost 0.013-0.019 macro-F1 on PanNuke at 10 labels per
        class, docs/benchmarks.md, issue 15).
    net_dropout : float or "auto"
        Dropout on the light network's pooled features while it trains (0: none; no
        effect at prediction). ``auto`` (default): 0.5 when there is no hold-out set, 0
        with one. Without a hold-out (fewer than 25 labels per class by default) every
        epoch trains on the same few labels and the last epoch is kept: dropout raised
        wbc at 10 labels per class by 0.024 +- 0.011 (every seed) and PanNuke at 10 by
        0.004. With a hold-out, early stopping already picks the epoch, and dropout slowed
        the fit it cuts short (PanNuke at 50: -0.017 +- 0.012); docs/benchmarks.md,
        issue 14.
    net_weights : str or None
        Path of a state_dict (``.pt`` loaded with ``weights_only=True``, or ``.safetensors``)
        to initialise the network from; layers whose shape differs are left as initialised.
    train_epochs : int or "auto"
        Maximum number of epochs (a one-cycle schedule spans them; early stopping may end
        sooner). ``auto`` (default): 40 with a hold-out set, 100 without one. Without a
        hold-out every epoch runs and the last is kept, and the dropout of
        ``net_dropout=auto`` slows the fit: 100 epochs raised wbc at 10 labels per class
        from 0.737 to 0.761 (+0.024 +- 0.010, every seed) with PanNuke at 10 unchanged
        (docs/benchmarks.md, issue 14). With a hold-out, 40 epochs against 60 (5 seeds,
        paired): PanNuke at 50 labels per class +0.023 +- 0.012, at all labels +0.006 +-
        0.012, wbc at 50 -0.005 +- 0.010, the generated orientation tasks at 25 unchanged;
        0.51-0.78x the training time (docs/benchmarks.md, issue 15).
    train_weight_decay : float
        AdamW's decoupled weight decay (also the live model's). 0.05 instead of 1e-4 moved
        issue 8's rows by -0.013 to +0.017, all within noise (docs/benchmarks.md, issue 14).
    train_patience : int
        Epochs without a better validation score before stopping (0 disables).
    train_stop_loss : float
        Stop as soon as every held-out object is classified right with a mean loss at most
        this (0.01: the true class's probability about 0.99 on average; 0 disables). The
        hold-out then has nothing left to tell, and further epochs only sharpen the
        probabilities: on an easy task the loss kept creeping down by thousandths for all
        60 epochs (the cap then), so patience never ran out (docs/benchmarks.md, issue 15).
    train_val_fraction : float
        Stratified hold-out fraction for validation (0 trains on everything, no metrics).
    train_val_min_per_class : int
        The hold-out is made only when every class would give it at least this many
        objects (at 0.2 and 5: 25 labels per class). With fewer labels a hold-out scores
        noise (2 objects per class at 10 labels) yet costs a fifth of the labels: every
        label trains, for all ``train_epochs``, and the model file has no validation
        metrics. 1 keeps any hold-out (docs/benchmarks.md).
    train_label_smoothing : float
        Cross-entropy label smoothing (0 disables): the target puts this much probability
        mass evenly on all classes, which keeps a network trained on a few labels from
        becoming over-confident.
    train_mixup : float
        Mixup (0 disables): the image channels of each training batch are blended with a
        shuffled copy of the batch, and the targets alike, with a weight drawn from
        Beta(a, a) (folded to >= 0.5); the mask channel stays the row's own object's.
        Off by default: +0.040 on wbc:10 but -0.018 on PanNuke:10 and -0.27 on a
        stripe-direction task, whose blends are cross-hatches (docs/benchmarks.md).
        Full trainings only (a live session's settled model included); the live preview's
        quick steps and the symmetry probes do not blend.
    train_class_weighting : str
        ``balanced`` weights the loss by inverse class frequency; ``none``.
    train_bn_recalibrate : bool
        Recompute batch norm's running statistics on the un-augmented training patches
        before each validation and at the end of training (cheap: one forward pass). The
        momentum averages otherwise lag behind the weights; after a few epochs that left
        Conv-BN-ReLU probes at chance (docs/benchmarks.md, issue 15).
    train_min_epoch_samples : int
        An epoch repeats the (augmented) training objects up to this many samples, so a
        few dozen labels still give enough optimiser steps per epoch.
    train_pseudo_threshold : float
        Pseudo-labels (0 disables): after training, the unlabelled objects of the training
        images that the model classifies with at least this probability are added, per
        predicted class, and a second round of ``train_epochs // 2`` epochs continues
        from the weights (see :mod:`phenosort.model.pseudo`).
    train_pseudo_ratio : float
        At most this many pseudo-labels per labelled object of the same class.
    aug_flip, aug_flip_z, aug_rot90 : bool or "auto"
        Random in-plane flips, Z flips (3D) and in-plane 90-degree rotations: symmetries the
        classes are assumed to have. ``auto`` (default) tests each on the labels before
        training (:mod:`phenosort.model.symmetry`): short cross-validated probe runs
        trained without the symmetry check whether turning or flipping a labelled object
        changes its class; a symmetry that does (orientation, handedness or polarity is
        the cue) is left out, the others are used. ``true``/``false`` impose the choice.
        Flips and rotations are the only augmentations on by default: on held-out PanNuke
        images, adding small rotations/scaling and intensity jitter lowered macro-F1 (see
        docs/benchmarks.md, scripts/bench_augment.py).
    symmetry_probe_epochs : int
        Epochs of each short probe run of the ``auto`` symmetry test and of the 2-fold
        estimate made when there is no hold-out (an epoch is ``train_min_epoch_samples``
        samples at least), at most: a probe ends once an epoch classified every sample of
        its fold right with a mean loss of at most ``train_stop_loss``. 0 runs no probe:
        ``auto`` symmetries stay on and a model without a hold-out set gets no accuracy
        estimate.
    aug_rotate_degrees, aug_scale : float
        Small random in-plane rotation (+-degrees, e.g. 15) and scaling (+-fraction, e.g. 0.1).
    aug_intensity : float
        Random per-channel multiplicative scale and additive offset of image channels (+-).
    aug_gamma : float
        Random gamma in [1 - g, 1 + g] on image channels (0 disables).
    aug_noise : float
        Standard deviation of Gaussian noise added to image channels.
    predict_batch_size : int
        Most objects per forward pass at prediction. On a CPU a batch is smaller where its
        largest activation would pass 8 MB: larger batches leave the cache and ran the
        networks 1.5-2x slower (docs/benchmarks.md, issue 15). GPUs take the full batch.
    predict_tta : int
        Test-time augmentation: class probabilities are averaged over up to this many
        flipped/turned views of each patch (only the in-plane symmetries the model
        trained with; 8 in 2D with flips and rotations). 1 (default) disables it:
        prediction time grows with the number of views, and 8 views gained only +0.007
        macro-F1 on average on issue 8's protocol (docs/benchmarks.md).
    device : str
        ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda`` or ``mps``.
    precision : str
        Arithmetic of training and prediction. ``auto``: mixed precision (``torch.autocast``
        to bfloat16) on CUDA GPUs that have bfloat16, float32 elsewhere, so CPU results do
        not change. ``float32`` never autocasts (bit-reproducible GPU runs); ``bfloat16``
        or ``float16`` (loss-scaled in training; for GPUs without bfloat16) autocast on
        any device.
    """

    patch_size: int | None = None
    patch_max_size: int = 64
    patch_padding: str = "constant"
    patch_context_radius: float | None = None
    norm_mode: str = "auto"
    norm_low: float = 1.0
    norm_high: float = 99.8
    norm_channels: str = "auto"
    net_name: str = "light"
    net_width: int = 16
    net_depth: int = 3
    net_block: str = "conv-relu-bn"
    net_dropout: float | str = "auto"
    net_weights: str | None = None
    train_epochs: int | str = "auto"
    train_batch_size: int = 32
    train_lr: float = 3e-3
    train_weight_decay: float = 1e-4
    train_patience: int = 15
    train_stop_loss: float = 0.01
    train_val_fraction: float = 0.2
    train_val_min_per_class: int = 5
    train_label_smoothing: float = 0.0
    train_mixup: float = 0.0
    train_class_weighting: str = "balanced"
    train_bn_recalibrate: bool = True
    train_min_epoch_samples: int = 256
    train_seed: int = 0
    train_pseudo_threshold: float = 0.0
    train_pseudo_ratio: float = 2.0
    aug_flip: bool | str = "auto"
    aug_flip_z: bool | str = "auto"
    aug_rot90: bool | str = "auto"
    symmetry_probe_epochs: int = 10
    aug_rotate_degrees: float = 0.0
    aug_scale: float = 0.0
    aug_intensity: float = 0.0
    aug_gamma: float = 0.0
    aug_noise: float = 0.0
    predict_batch_size: int = 256
    predict_tta: int = 1
    device: str = "auto"
    precision: str = "auto"

    def errors(self) -> list[str]:
        """Every problem with this config, one message each (empty when valid)."""
        errs = type_errors(self)
        if errs:  # the range checks below compare values: only for well-typed ones
            return errs

        def need(ok: bool, message: str) -> None:
            if not ok:
                errs.append(message)

        need(
            self.patch_size is None or self.patch_size >= 4,
            f"patch_size must be >= 4 or None, got {self.patch_size}",
        )
        need(
            self.patch_max_size >= 4,
            f"patch_max_size must be >= 4, got {self.patch_max_size}",
        )
        need(
            self.patch_padding in ("constant", "reflect", "edge"),
            f"patch_padding {self.patch_padding!r} is not constant, reflect or edge",
        )
        need(
            self.patch_context_radius is None or self.patch_context_radius >= 0,
            f"patch_context_radius must be >= 0 or None, got {self.patch_context_radius}",
        )
        need(
            self.norm_mode in ("auto", *NORM_MODES),
            f"norm_mode {self.norm_mode!r} is not auto, {', '.join(NORM_MODES)}",
        )
        need(
            self.norm_channels in CHANNEL_POLICIES,
            f"norm_channels {self.norm_channels!r} is not one of {CHANNEL_POLICIES}",
        )
        need(
            0 <= self.norm_low < self.norm_high <= 100,
            f"norm_low/norm_high must satisfy 0 <= low < high <= 100, "
            f"got {self.norm_low}/{self.norm_high}",
        )
        need(self.net_name in NETWORKS, f"net_name {self.net_name!r} is not one of {NETWORKS}")
        need(1 <= self.net_width <= 512, f"net_width must be in 1..512, got {self.net_width}")
        need(1 <= self.net_depth <= 6, f"net_depth must be in 1..6, got {self.net_depth}")
        need(
            self.net_dropout == "auto"
            or (not isinstance(self.net_dropout, str) and 0 <= self.net_dropout < 1),
            f"net_dropout must be auto or in [0, 1), got {self.net_dropout!r}",
        )
        need(
            self.net_block in NET_BLOCKS,
            f"net_block {self.net_block!r} is not one of {', '.join(NET_BLOCKS)}",
        )
        need(
            self.train_epochs == "auto"  # progress events carry epochs as an int32
            or (not isinstance(self.train_epochs, str) and 1 <= self.train_epochs <= 100_000),
            f"train_epochs must be auto or in 1..100000, got {self.train_epochs!r}",
        )
        need(
            0 <= self.train_seed < 2**32,  # numpy's seed range
            f"train_seed must be in 0..{2**32 - 1}, got {self.train_seed}",
        )
        need(
            self.train_batch_size >= 2,
            f"train_batch_size must be >= 2 (batch norm), got {self.train_batch_size}",
        )
        need(self.train_lr > 0, f"train_lr must be > 0, got {self.train_lr}")
        need(
            self.train_weight_decay >= 0,
            f"train_weight_decay must be >= 0, got {self.train_weight_decay}",
        )
        need(
            self.train_min_epoch_samples >= 1,
            f"train_min_epoch_samples must be >= 1, got {self.train_min_epoch_samples}",
        )
        need(self.train_patience >= 0, f"train_patience must be >= 0, got {self.train_patience}")
        need(self.train_stop_loss >= 0, f"train_stop_loss must be >= 0, got {self.train_stop_loss}")
        need(
            0 <= self.train_val_fraction < 1,
            f"train_val_fraction must be in [0, 1), got {self.train_val_fraction}",
        )
        need(
            0 <= self.train_label_smoothing < 1,
            f"train_label_smoothing must be in [0, 1), got {self.train_label_smoothing}",
        )
        need(
            0 <= self.train_mixup <= 10,
            f"train_mixup must be in [0, 10], got {self.train_mixup}",
        )
        need(
            self.train_val_min_per_class >= 1,
            f"train_val_min_per_class must be >= 1, got {self.train_val_min_per_class}",
        )
        need(
            0 <= self.train_pseudo_threshold < 1,
            f"train_pseudo_threshold must be in [0, 1), got {self.train_pseudo_threshold}",
        )
        need(
            self.train_pseudo_ratio >= 0,
            f"train_pseudo_ratio must be >= 0, got {self.train_pseudo_ratio}",
        )
        need(
            self.train_class_weighting in CLASS_WEIGHTINGS,
            f"train_class_weighting {self.train_class_weighting!r} is not one of "
            f"{CLASS_WEIGHTINGS}",
        )
        need(
            0 <= self.aug_rotate_degrees <= 180,
            f"aug_rotate_degrees must be in [0, 180], got {self.aug_rotate_degrees}",
        )
        for name in ("aug_scale", "aug_intensity", "aug_gamma"):
            value = getattr(self, name)
            need(0 <= value < 1, f"{name} must be in [0, 1), got {value}")
        for name in ("aug_flip", "aug_flip_z", "aug_rot90"):
            value = getattr(self, name)
            need(
                isinstance(value, bool) or value == "auto",
                f"{name} must be true, false or auto, got {value!r}",
            )
        need(
            self.symmetry_probe_epochs >= 0,
            f"symmetry_probe_epochs must be >= 0, got {self.symmetry_probe_epochs}",
        )
        need(self.aug_noise >= 0, f"aug_noise must be >= 0, got {self.aug_noise}")
        need(
            self.predict_batch_size >= 1,
            f"predict_batch_size must be >= 1, got {self.predict_batch_size}",
        )
        need(1 <= self.predict_tta <= 8, f"predict_tta must be in 1..8, got {self.predict_tta}")
        need(self.device in DEVICES, f"device {self.device!r} is not one of {DEVICES}")
        need(
            self.precision in PRECISIONS,
            f"precision {self.precision!r} is not one of {PRECISIONS}",
        )
        return errs

    def validated(self) -> ModelConfig:
        """Return self, or raise one error listing every bad field."""
        errs = self.errors()
        if errs:
            raise InvalidInputError("invalid settings: " + "; ".join(errs))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Build from a dict (a model file's or a user's); unknown keys are an error."""
        return cls(**typed_settings(data)).validated()

    @staticmethod
    def fixed_changes(old: dict, new: dict) -> list[str]:
        """``"key old -> new"`` for each network, patch or normalisation setting in ``new``
        that differs from ``old``: continued training cannot change these, because the
        weights were made with them (``net_weights`` only matters at creation)."""
        return [
            f"{k} {old.get(k)!r} -> {new[k]!r}"
            for k in sorted(new)
            if k.startswith(("net_", "patch_", "norm_"))
            and k not in ("net_weights", "net_dropout")  # no weights of their own
            and old.get(k) != new[k]
        ]

    def updated(self, **changes) -> ModelConfig:
        """A copy with ``changes`` applied (unknown keys are an error)."""
        return ModelConfig.from_dict({**self.to_dict(), **changes})

    @property
    def most_epochs(self) -> int:
        """The most epochs a training with these settings can run before its hold-out is
        known (a progress bar's first total: each epoch's event then carries the count)."""
        return max(epoch_count(self.train_epochs, hold_out) for hold_out in (True, False))


def typed_settings(data: dict) -> dict:
    """``data`` checked key by key against :class:`ModelConfig`'s field types (see
    :func:`~phenosort.model.field_types.typed_values`)."""
    return typed_values(ModelConfig, data, "settings")
