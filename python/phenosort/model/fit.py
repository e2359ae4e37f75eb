"""Fitting a model to annotated images: the steps of ``ObjectClassifier.fit_events``.

1. :func:`annotated_images`: the samples prepared, their annotations in label-ID order and
   checked (shared dimensionality and channels, at least 2 classes);
2. the geometry: a new model's patches, normalisation and network (:func:`new_geometry`),
   or those of the model whose training continues (:class:`Start`);
3. which flips and turns keep the classes, tested on the labels (``symmetry.decide_events``),
   and with ``norm_mode`` ``auto`` whether per-image intensity ranges do (``norm_choice``);
4. training, then a second round with pseudo-labels when they are on (``model/pseudo.py``);
5. the outcome (:class:`Fitted`): weights, the chance check and the training-data record.

Nothing here changes the classifier: it adopts a :class:`Fitted` when training ends.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..axes import to_channel_first
from ..classes import class_index_of
from ..errors import Cancelled, InvalidInputError
from ..objects.normalize import Normalization, resolve_channels
from ..objects.patches import PatchSpec, patch_spec_for
from ..objects.prepared import Annotated, PreparedImage, prepare_image
from ..objects.table import ObjectTable
from .augment import Augmentation, source_shape
from .config import ModelConfig, dropout_rate, epoch_count
from .inference import BatchedInference, on_device
from .metrics import chance_check
from .networks import inference_network, initial_network, network_for, set_dropout
from .norm_choice import Candidates
from .pseudo import candidate_rows, pseudo_labels, second_round_epochs
from .symmetry import ProbeEpoch, SymmetryDecision, decide_events, probe_config
from .train import EpochEvent, TrainResult, train_events, validation_index
from .tta import tta_views

if TYPE_CHECKING:
    from ..classifier import Sample


@dataclass(frozen=True)
class Start:
    """The trained model whose training continues: its network (trained further in place),
    geometry, symmetries and voxel size are kept; ``config``, the settings its weights were
    made with, must agree with the new ones on what those fix."""

    net: nn.Module
    spec: PatchSpec
    normalization: Normalization
    augmentation: Augmentation
    voxel_size: tuple[float, ...] | None
    ndim: int | None
    in_channels: int | None
    config: ModelConfig | None


@dataclass(frozen=True)
class Fitted:
    """A trained model's network and what the model file records with it."""

    net: nn.Module
    spec: PatchSpec
    normalization: Normalization
    augmentation: Augmentation
    voxel_size: tuple[float, ...] | None
    ndim: int
    in_channels: int
    symmetry: dict | None
    validation: dict | None
    assessment: dict | None
    history: list[dict]
    training_data: list[dict]

    @classmethod
    def from_metadata(cls, meta: dict, state: dict, config: ModelConfig, n_classes: int) -> Fitted:
        """The model of a model file's metadata and weights (``ObjectClassifier.metadata``
        writes them); raises ``KeyError``, ``TypeError``, ``ValueError`` or ``RuntimeError``
        for a file that does not fit."""
        spec = PatchSpec.from_dict(meta["patch"])
        norm = Normalization.from_dict(meta["normalization"])
        ndim, in_channels = int(meta["ndim"]), int(meta["in_channels"])
        voxel_size = tuple(meta["voxel_size"]) if meta.get("voxel_size") else None
        net = network_for(config, ndim, in_channels, n_classes, spec.shape)
        net.load_state_dict(state)
        recorded = meta.get("augmentation")  # older files: the settings' augmentation
        aug = (
            Augmentation.from_dict(recorded) if recorded else Augmentation.from_config(config, ndim)
        )
        return cls(
            net.eval(), spec, norm, aug, voxel_size, ndim, in_channels,
            meta.get("symmetry"), meta.get("validation"), meta.get("assessment"),
            meta.get("history", []), meta.get("training_data", []),
        )  # fmt: skip


def fit_events(
    samples: Sequence[Sample],
    config: ModelConfig,
    class_names: list[str],
    device: torch.device,
    *,
    start: Start | None = None,
    cancel: threading.Event | None = None,
) -> Generator[EpochEvent | ProbeEpoch, None, Fitted]:
    """Train a model on the annotated objects of ``samples`` (at least one), from ``start``
    or from scratch; yields a :class:`ProbeEpoch` per epoch of the symmetry probes, then an
    :class:`EpochEvent` per epoch of the training, and returns the :class:`Fitted`."""
    n_classes = len(class_names)
    if start is not None:  # 1. the annotated objects, normalised as the model will see them
        norm = start.normalization
    else:
        norm = new_normalization(config, [to_channel_first(s.image, s.axes) for s in samples])
    data = annotated_images(samples, norm, class_names)
    targets = data.targets
    val_index = validation_index(
        targets, config.train_val_fraction, config.train_val_min_per_class, config.train_seed
    )
    spec, norm, net, voxel_size = _geometry(data, norm, config, n_classes, start)  # 2.
    # ``auto`` dropout and epochs: dropout on, and more epochs, only when no hold-out set
    # picks the epoch (config.py); a continued model gets this training's too
    hold_out = val_index is not None
    set_dropout(net, dropout_rate(config.net_dropout, hold_out))
    epochs = epoch_count(config.train_epochs, hold_out)
    config = replace(config, train_epochs=epochs)  # the probes' and rounds' count
    source = replace(spec, shape=source_shape(spec.shape, Augmentation.from_config(config)))
    patches = data.patches(source, norm)
    # ``auto`` normalisation: per-image ranges unless the probes find training-set ranges
    # better (model/norm_choice.py)
    ranges = None
    if config.norm_mode == "auto" and start is None:
        ranges = Candidates(data, source, norm, patches)
    symmetry = yield from _symmetries(
        data, patches, val_index, spec, config, n_classes, device, start, ranges, cancel
    )
    if ranges is not None and symmetry.fixed_ranges:
        norm, patches = ranges.fixed_norm, ranges.fixed_patches
    aug = Augmentation.from_config(config, data.ndim, **symmetry.resolved())

    # 4. training; with pseudo-labels, a shorter second round with the objects the first
    # model is sure of (see model/pseudo.py)
    candidates = []
    if config.train_pseudo_threshold > 0 and start is None:
        candidates = candidate_rows(
            [len(p.table) for p in data.preps], data.rows, config.train_seed
        )
    second = second_round_epochs(epochs, candidates)
    train = partial(
        train_events,
        n_classes=n_classes,
        patch_shape=spec.shape,
        device=device,
        val_index=val_index,
        cancel=cancel,
        class_names=class_names,
        n_epochs_total=epochs + second,
        augmentation=aug,
    )
    history: list[EpochEvent] = []
    result = yield from _collect(train(net, patches, targets, cfg=config), history)
    none = [np.zeros(0, np.int64) for _ in data.preps]
    pseudo = Annotated(data.preps, none, none)
    if second:
        views = tta_views(aug, spec.shape, config.predict_tta)  # as predict() would
        fast = inference_network(on_device(net.eval(), device))
        sample = (data.n_channels + 1, *spec.shape)
        first = BatchedInference.of(fast, config, n_classes, device, views, sample)
        threshold, ratio = config.train_pseudo_threshold, config.train_pseudo_ratio
        pseudo = pseudo_labels(first, data, candidates, spec, norm, threshold, ratio)
    if any(rows.size for rows in pseudo.rows):
        patches = np.concatenate([patches, pseudo.patches(source, norm)])
        targets = np.concatenate([targets, pseudo.targets])
        rounds = train(
            net, patches, targets, cfg=replace(config, train_epochs=second),
            epoch_offset=len(history),
        )  # fmt: skip
        result = yield from _collect(rounds, history)

    return Fitted(  # 5. the outcome
        net=net.eval(),
        spec=spec,
        normalization=norm,
        augmentation=aug,
        voxel_size=voxel_size,
        ndim=data.ndim,
        in_channels=data.n_channels,
        symmetry=symmetry.to_dict(),
        validation=result.validation,
        assessment=assessment_of(result.last_validation, symmetry, config.train_seed),
        history=[vars(e) for e in history],
        training_data=[
            training_record(p, p.table.label_id[rows], classes, class_names, p.table.label_id[r])
            for p, rows, classes, r in zip(data.preps, data.rows, data.classes, pseudo.rows)
        ],
    )


def _geometry(
    data: Annotated, norm: Normalization, config: ModelConfig, n_classes: int, start: Start | None
) -> tuple[PatchSpec, Normalization, nn.Module, tuple[float, ...] | None]:
    """``(patch spec, normalisation, network, voxel size)``: those of ``start``, checked
    against the data and settings, or a new model's for ``data``."""
    first = data.preps[0]
    if start is not None:
        first.check_fits(start.ndim, start.in_channels)
        check_fixed_settings(start.config, config)
        return start.spec, norm, start.net, start.voxel_size
    spec, norm = new_geometry(config, data.preps, norm)
    net = initial_network(config, data.ndim, data.n_channels, n_classes, spec.shape)
    return spec, norm, net, first.voxel_size


def _symmetries(
    data: Annotated,
    patches: np.ndarray,
    val_index: np.ndarray | None,
    spec: PatchSpec,
    config: ModelConfig,
    n_classes: int,
    device: torch.device,
    start: Start | None,
    ranges: Candidates | None,
    cancel: threading.Event | None,
) -> Generator[ProbeEpoch, None, SymmetryDecision]:
    """3. Which flips and turns keep the classes (and, given ``ranges``, which intensity
    ranges), tested on the training labels by short probe runs (model/symmetry.py), which
    yield their epochs; continued training keeps the model's."""
    targets = data.targets
    build_probe = partial(
        initial_network, probe_config(config), data.ndim, data.n_channels, n_classes, spec.shape
    )
    return (
        yield from decide_events(
            patches,
            targets,
            np.setdiff1d(np.arange(targets.size), [] if val_index is None else val_index),
            config,
            spec.shape,
            n_classes,
            device,
            build_probe,
            estimate=val_index is None,
            imposed=start.augmentation.symmetries() if start is not None else None,
            norm_test=ranges,
            cancel=cancel,
        )
    )


def annotated_images(
    samples: Sequence[Sample], norm: Normalization, class_names: Sequence[str]
) -> Annotated:
    """The samples prepared with ``norm`` and their annotations resolved; raises for
    annotations that name unknown objects or classes, images that differ in dimensionality
    or channels, and annotations of fewer than 2 classes."""
    preps, rows, classes = [], [], []
    for i, s in enumerate(samples):
        name = s.name or f"sample {i + 1}"
        prep = prepare_image(s.image, s.labels, s.axes, s.voxel_size, norm, name)
        # by label ID: the order a CSV or a dict happens to list them in must not change
        # the model (it sets the hold-out split and the batches)
        items = sorted(s.annotations.items(), key=lambda kv: int(kv[0]))
        ids = np.fromiter((int(k) for k, _ in items), np.int64, len(items))
        rows.append(prep.table.rows(ids))  # errors name IDs missing from the mask
        resolved = [class_index_of(v, class_names, f" for label {k} in {name}") for k, v in items]
        classes.append(np.array(resolved, np.int64))
        preps.append(prep)
    ndims, channels = {p.ndim for p in preps}, {p.n_channels for p in preps}
    if len(ndims) > 1 or len(channels) > 1:
        raise InvalidInputError(
            f"all training images must share dimensionality and channel count; got "
            f"{sorted(ndims)}D and {sorted(channels)} channels"
        )
    data = Annotated(preps, rows, classes)
    present = np.unique(data.targets)
    if present.size == 0:
        raise InvalidInputError("the annotations are empty: label at least 2 classes")
    if present.size < 2:
        raise InvalidInputError(
            f"annotations cover only class {class_names[present[0]]!r}; label "
            "objects of at least 2 classes"
        )
    return data


def new_normalization(config: ModelConfig, images_cf: list[np.ndarray]) -> Normalization:
    """The normalisation of a new model for these channel-first training images (the
    ``auto`` channel policy resolved; ``fixed`` values are filled in by :func:`new_geometry`).
    ``auto`` mode starts as ``percentile``: the probes may change it to ``fixed``
    (model/norm_choice.py); a live session, which runs no probes, keeps it."""
    channels = resolve_channels(config.norm_channels, images_cf)
    mode = "percentile" if config.norm_mode == "auto" else config.norm_mode
    return Normalization(mode, config.norm_low, config.norm_high, channels=channels)


def new_geometry(
    config: ModelConfig, preps: Sequence[PreparedImage], norm: Normalization
) -> tuple[PatchSpec, Normalization]:
    """The patch spec and normalisation a new model gets for these images: the patch size
    set or estimated from all their objects, ``fixed`` percentiles pooled over them."""
    spec = patch_spec_for(
        [p.table for p in preps],
        preps[0].voxel_size,
        preps[0].ndim,
        size=config.patch_size,
        max_size=config.patch_max_size,
        padding=config.patch_padding,
        context_radius=config.patch_context_radius,
    )
    return spec, norm.fitted([p.image_cf for p in preps])


def check_fixed_settings(trained: ModelConfig | None, config: ModelConfig) -> None:
    """Continued training keeps the network, patches and normalisation of the model:
    changing them would save weights that no longer match the recorded settings."""
    if trained is None:
        return
    changed = ModelConfig.fixed_changes(trained.to_dict(), config.to_dict())
    if changed:
        raise InvalidInputError(
            "continued training keeps the model's network, patch and normalisation "
            f"settings; these differ: {', '.join(changed)} (train a new model instead)"
        )


def assessment_of(validation: dict | None, symmetry: SymmetryDecision, seed: int) -> dict | None:
    """The chance check of the hold-out's confusion matrix, or else of the symmetry probes'
    2-fold estimate; None with neither (there is nothing to judge by).

    ``validation`` must be an epoch's hold-out that was not chosen for its score (the last
    epoch's): the best of 30 epochs is a maximum, above chance for a model that learnt
    nothing (a rotation-forced orientation task scored 0.70 on 30 held-out objects, p=0.03,
    and 0.52 on new images)."""
    if validation is not None:
        return chance_check(np.asarray(validation["confusion_matrix"]), "hold-out", seed)
    if symmetry.estimate is not None:
        cm = np.asarray(symmetry.estimate["confusion_matrix"])
        return chance_check(cm, "2-fold estimate", seed)
    return None


def training_record(
    prep: PreparedImage,
    label_ids: Sequence[int] | np.ndarray,
    classes: np.ndarray,
    class_names: Sequence[str],
    pseudo_label_ids: Sequence[int] | np.ndarray = (),
) -> dict:
    """What the model file records of one training image: identity, labelled objects and
    their classes (1..K), pseudo-labelled objects; ``predict`` marks the objects it knows."""
    return {
        "name": prep.name,
        "checksum": prep.checksum,
        "objects_checksum": prep.objects_checksum,
        "shape": list(prep.labels.shape),
        "n_objects": len(prep.table),
        "label_ids": [int(v) for v in label_ids],
        "per_class": {n: int((classes == k).sum()) for k, n in enumerate(class_names, 1)},
        "pseudo_label_ids": [int(v) for v in pseudo_label_ids],
    }


def trained_on(training_data: list[dict], prep: PreparedImage, table: ObjectTable) -> np.ndarray:
    """Which objects of ``table`` the records of :func:`training_record` name as labelled
    (the image identified by shape and checksum). The object count, then the objects' IDs
    and sizes are compared first, so that another image is almost never read whole for the
    checksum: single-cell crops all share a shape and a count. Records of older models
    may lack the count or the objects' checksum: they are compared on what they hold."""
    member = np.zeros(len(table), bool)
    shape, count = list(prep.labels.shape), len(prep.table)
    for entry in training_data:
        if entry["shape"] != shape or entry.get("n_objects", count) != count:
            continue
        # both checksums are computed once per image, when a record first asks, then kept
        if "objects_checksum" in entry and entry["objects_checksum"] != prep.objects_checksum:
            continue
        if entry["checksum"] == prep.checksum:
            member |= np.isin(table.label_id, np.asarray(entry["label_ids"], np.int64))
    return member


def _collect(
    events: Iterator[EpochEvent | TrainResult], history: list[EpochEvent]
) -> Generator[EpochEvent, None, TrainResult]:
    """Yield a training round's epoch events (appending them to ``history``) and return its
    final ``TrainResult``."""
    result = None
    for event in events:
        if isinstance(event, TrainResult):
            result = event
        else:
            history.append(event)
            yield event
    if result is None:  # pragma: no cover - train_events always ends with a result
        raise Cancelled("training ended without a result")
    return result
