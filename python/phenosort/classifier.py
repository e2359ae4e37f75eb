"""``ObjectClassifier``: the one API that the CLI, the service and scripts call.

It turns (image, labels, annotations) into patches, trains a network on them, predicts
every object of new images, explains one object with Grad-CAM, and saves/loads a single
model file. Heavy work lives in :mod:`phenosort.objects` and :mod:`phenosort.model`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import __version__
from .axes import check_labels, check_voxel_size, checksum_of, to_channel_first
from .errors import Cancelled, InvalidInputError
from .model.config import ModelConfig
from .objects.normalize import Normalization, pooled_percentiles, resolve_channels
from .objects.patches import (
    PatchSpec,
    estimate_patch_size,
    extract_patches,
    patch_shape_for,
    patch_starts,
)
from .objects.table import LabelIndex, ObjectTable, object_table_of
from .results import Prediction

if TYPE_CHECKING:
    from torch import nn

    from .model.augment import Augmentation

ProgressCallback = Callable[[object], None]


@dataclass(frozen=True)
class Sample:
    """One training image: pixels, instance mask and the classes of some of its objects.

    ``annotations`` maps label IDs to a class index (1..K) or a class name.
    """

    image: np.ndarray
    labels: np.ndarray
    annotations: Mapping[int, int | str]
    axes: str = "YX"
    voxel_size: tuple[float, ...] | None = None
    name: str = ""


@dataclass(frozen=True)
class Explanation:
    """Grad-CAM of one object: ``heatmap`` covers the patch whose first voxel is ``offset``
    in image coordinates ``([z,] y, x)`` (may be negative at image borders); each heatmap
    voxel spans ``scale`` image voxels per axis."""

    label_id: int
    class_index: int
    heatmap: np.ndarray
    offset: tuple[int, ...]
    probabilities: np.ndarray
    scale: float = 1.0


@dataclass
class _Prepared:
    image_cf: np.ndarray
    labels: np.ndarray
    index: LabelIndex
    table: ObjectTable
    voxel_size: tuple[float, ...]
    image_range: object
    name: str = ""
    _checksum: str | None = field(default=None, repr=False)

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            self._checksum = checksum_of(self.image_cf, self.labels)
        return self._checksum


class ObjectClassifier:
    """Classify the objects of instance label masks with a small CNN on object patches.

    Parameters
    ----------
    class_names : sequence of str
        Names of classes 1..K (K >= 2).
    config : ModelConfig, optional
        Settings; keyword ``settings`` override single fields (``epochs`` style names are
        not accepted: use the config field names, e.g. ``train_epochs=30``).

    Examples
    --------
    >>> clf = ObjectClassifier(["dim", "bright"], train_epochs=20)    # doctest: +SKIP
    >>> clf.fit([Sample(image, labels, {12: 1, 40: 2}, axes="YX")])  # doctest: +SKIP
    >>> pred = clf.predict(image, labels, axes="YX")                  # doctest: +SKIP
    >>> pred.class_map(), pred.columns()                              # doctest: +SKIP
    """

    def __init__(
        self, class_names: Sequence[str], config: ModelConfig | None = None, **settings
    ) -> None:
        names = [str(n) for n in class_names]
        if len(names) < 2:
            raise InvalidInputError(f"at least 2 class names are needed, got {names}")
        if len(set(names)) != len(names) or any(not n.strip() for n in names):
            raise InvalidInputError(f"class names must be distinct and non-empty, got {names}")
        self.class_names = names
        base = config or ModelConfig()
        self.config = base.updated(**settings) if settings else base.validated()
        self.net: nn.Module | None = None
        self._inference: tuple | None = None  # (net, device, its inference copy)
        self.patch_spec: PatchSpec | None = None
        self.normalization: Normalization | None = None
        self.ndim: int | None = None
        self.in_channels: int | None = None
        self.voxel_size: tuple[float, ...] | None = None
        self.history: list[dict] = []
        self.validation: dict | None = None
        # the resolved Augmentation the weights were trained with
        self.augmentation: Augmentation | None = None
        self.symmetry: dict | None = None  # the symmetry decision and its evidence
        self.assessment: dict | None = None  # the chance check (metrics.chance_check)
        self.training_data: list[dict] = []
        self.version = 0
        self.created: str | None = None
        self._device = None
        self._trained_config: ModelConfig | None = None  # settings the weights were made with

    # ------------------------------------------------------------------ helpers
    @property
    def is_trained(self) -> bool:
        return self.net is not None

    @property
    def device(self):
        if self._device is None:
            from .model.device import resolve_device

            self._device = resolve_device(self.config.device)
        return self._device

    def _prepare(self, image, labels, axes, voxel_size, name="", norm=None) -> _Prepared:
        image_cf = to_channel_first(image, axes)
        labels = check_labels(labels, image_cf.shape[1:])
        ndim = labels.ndim
        if ndim not in (2, 3):
            raise InvalidInputError(f"images must be 2D or 3D, got {ndim} spatial axes")
        index = LabelIndex.of(labels)
        vs = check_voxel_size(voxel_size, ndim)
        norm = norm or self.normalization or self._new_normalization([image_cf])
        image_range = None if norm.mode == "fixed" else norm.image_range(image_cf)
        return _Prepared(image_cf, labels, index, object_table_of(index), vs, image_range, name)

    def _new_normalization(self, images_cf: list[np.ndarray]) -> Normalization:
        """The normalisation a new model gets for these training images (``auto`` channel
        policy resolved; ``fixed`` values are filled in by training)."""
        cfg = self.config
        channels = resolve_channels(cfg.norm_channels, images_cf)
        return Normalization(cfg.norm_mode, cfg.norm_low, cfg.norm_high, channels=channels)

    def _new_network(self, ndim: int, n_channels: int, shape, *, probe: bool = False):
        """A freshly initialised network (seeded: the initial weights are part of the seed).

        ``probe``: the light network at width 16 (or the model's, if narrower) for the
        symmetry probes, whatever the model's network (a quarter of the width-32
        arithmetic; it only has to learn the cue, not to be the best classifier)."""
        import torch

        from .model.networks import build_network, load_initial_weights
        from .model.symmetry import PROBE_WIDTH

        cfg = self.config
        name, width, depth = cfg.net_name, cfg.net_width, cfg.net_depth
        if probe:
            light = cfg.net_name == "light"
            name, width = "light", min(PROBE_WIDTH, width) if light else PROBE_WIDTH
            depth = depth if light else 3
        torch.manual_seed(cfg.train_seed)
        net = build_network(
            name, ndim, n_channels + 1, len(self.class_names), shape,
            width=width, depth=depth, block=cfg.net_block,
        )  # fmt: skip
        if not probe and cfg.net_weights:
            load_initial_weights(net, cfg.net_weights)
        return net

    def resolve_class(self, value: int | str, sample_name: str = "", label_id: int = 0) -> int:
        """Class index 1..K of a class name or index; errors name the sample and label."""
        return class_index_of(
            value, self.class_names, f" for label {label_id} in {sample_name or 'sample'}"
        )

    def _check_compatible(self, prep: _Prepared) -> None:
        if prep.labels.ndim != self.ndim:
            raise InvalidInputError(
                f"the model was trained on {self.ndim}D images, this image is {prep.labels.ndim}D"
            )
        if prep.image_cf.shape[0] != self.in_channels:
            raise InvalidInputError(
                f"the model expects {self.in_channels} image channel(s), this image has "
                f"{prep.image_cf.shape[0]}"
            )

    def _patches(self, prep: _Prepared, table: ObjectTable, spec: PatchSpec | None = None):
        norm = self.normalization
        image_range = norm.image_range(prep.image_cf) if norm.mode == "fixed" else prep.image_range
        return extract_patches(
            prep.image_cf,
            prep.labels,
            table,
            spec or self.patch_spec,
            norm,
            image_range,
            prep.voxel_size,
        )

    def _new_geometry(
        self, preps: Sequence[_Prepared], norm: Normalization
    ) -> tuple[PatchSpec, Normalization]:
        """The patch geometry and normalisation a new model gets for these images: the patch
        size set or estimated from all their objects, ``fixed`` percentiles pooled over them."""
        cfg = self.config
        ndim, voxel_size = preps[0].labels.ndim, preps[0].voxel_size
        size = cfg.patch_size or estimate_patch_size(
            [p.table for p in preps], voxel_size if ndim == 3 else None
        )
        side = min(size, cfg.patch_max_size)
        spec = PatchSpec(
            patch_shape_for(side, voxel_size, ndim),
            cfg.patch_padding,
            cfg.patch_context_radius,
            size / side,
        )
        if norm.mode == "fixed":
            low, high = pooled_percentiles(
                [p.image_cf for p in preps], norm.low, norm.high, channels=norm.channels
            )
            norm = replace(norm, fixed_low=low, fixed_high=high)
        return spec, norm

    # ------------------------------------------------------------------ training
    def fit(
        self,
        samples: Sequence[Sample],
        *,
        warm_start: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> dict | None:
        """Train on the annotated objects of ``samples``; returns the validation metrics.

        Before training, the ``auto`` symmetries are tested on the labels
        (:mod:`phenosort.model.symmetry`; the decision is in :attr:`symmetry`); after it,
        the hold-out (or a 2-fold estimate) is compared with chance (:attr:`assessment`),
        and a model that learnt nothing that shows raises a ``ChanceLevelWarning``.

        ``warm_start`` continues from the current weights (a new version of a trained
        model); the patch and normalisation settings of that model are then kept.
        """
        from .model.metrics import warn_if_chance

        result = None
        for event in self.fit_events(samples, warm_start=warm_start, cancel=cancel):
            if progress is not None:
                progress(event)
            result = event
        warn_if_chance(self.assessment)
        return self.validation if result is not None else None

    def fit_events(
        self,
        samples: Sequence[Sample],
        *,
        warm_start: bool = False,
        cancel: threading.Event | None = None,
    ) -> Iterator[object]:
        """Like :meth:`fit`, yielding an ``EpochEvent`` per epoch (training runs as you
        iterate; the model is updated when the generator finishes)."""

        from .model.augment import Augmentation, source_shape
        from .model.metrics import chance_check
        from .model.pseudo import candidate_rows, select
        from .model.symmetry import decide
        from .model.train import train_events, validation_index

        cfg = self.config
        if not samples:
            raise InvalidInputError("no training samples were given")
        if warm_start and not self.is_trained:
            raise InvalidInputError("warm_start needs a trained model; load one first")
        preps, targets_per = [], []
        norm = (
            self.normalization  # a trained model keeps its normalisation
            if warm_start
            else self._new_normalization([to_channel_first(s.image, s.axes) for s in samples])
        )
        for i, s in enumerate(samples):
            name = s.name or f"sample {i + 1}"
            prep = self._prepare(s.image, s.labels, s.axes, s.voxel_size, name, norm)
            # by label ID: the order a CSV or a dict happens to list them in must not change
            # the model (it sets the hold-out split and the batches)
            items = sorted(s.annotations.items(), key=lambda kv: int(kv[0]))
            ids = np.fromiter((int(k) for k, _ in items), np.int64, len(items))
            rows = prep.table.rows(ids)  # errors name IDs missing from the mask
            classes = np.array([self.resolve_class(v, name, k) for k, v in items], np.int64)
            preps.append(prep)
            targets_per.append((rows, classes))
        ndims = {p.labels.ndim for p in preps}
        channels = {p.image_cf.shape[0] for p in preps}
        if len(ndims) > 1 or len(channels) > 1:
            raise InvalidInputError(
                f"all training images must share dimensionality and channel count; got "
                f"{sorted(ndims)}D and {sorted(channels)} channels"
            )
        all_targets = np.concatenate([c for _, c in targets_per]) - 1
        if all_targets.size == 0:
            raise InvalidInputError("the annotations are empty: label at least 2 classes")
        present = np.unique(all_targets)
        if present.size < 2:
            raise InvalidInputError(
                f"annotations cover only class {self.class_names[present[0]]!r}; label "
                "objects of at least 2 classes"
            )
        ndim, n_channels = ndims.pop(), channels.pop()
        if warm_start:
            self._check_compatible(preps[0])
            self._check_fixed_settings()
            spec, net = self.patch_spec, self.net
        else:
            spec, norm = self._new_geometry(preps, norm)
            net = self._new_network(ndim, n_channels, spec.shape)
            self.normalization, self.voxel_size = norm, preps[0].voxel_size
        self.ndim, self.in_channels = ndim, n_channels

        source = replace(spec, shape=source_shape(spec.shape, Augmentation.from_config(cfg)))
        patches = np.concatenate(
            [
                self._patches(p, p.table.subset(rows), source)
                for p, (rows, _) in zip(preps, targets_per)
                if rows.size
            ]
        )
        val_index = validation_index(
            all_targets, cfg.train_val_fraction, cfg.train_val_min_per_class, cfg.train_seed
        )
        # which flips and turns keep the classes, tested on the labels (model/symmetry.py);
        # continued training keeps the model's symmetries
        symmetry = decide(
            patches,
            all_targets,
            np.setdiff1d(np.arange(all_targets.size), [] if val_index is None else val_index),
            cfg,
            spec.shape,
            len(self.class_names),
            self.device,
            partial(self._new_network, ndim, n_channels, spec.shape, probe=True),
            estimate=val_index is None,
            imposed=self.augmentation.symmetries() if warm_start else None,
            cancel=cancel,
        )
        aug = Augmentation.from_config(cfg, ndim, **symmetry.resolved())
        labelled = [rows for rows, _ in targets_per]
        candidates = []
        if cfg.train_pseudo_threshold > 0 and not warm_start:
            candidates = candidate_rows([len(p.table) for p in preps], labelled, cfg.train_seed)
        second = max(1, cfg.train_epochs // 2) if any(c.size for c in candidates) else 0
        history: list = []
        train = partial(
            train_events,
            n_classes=len(self.class_names),
            patch_shape=spec.shape,
            device=self.device,
            val_index=val_index,
            cancel=cancel,
            class_names=self.class_names,
            n_epochs_total=cfg.train_epochs + second,
            augmentation=aug,
        )
        self.augmentation = aug  # the pseudo-label round predicts with these views
        result = yield from _collect(train(net, patches, all_targets, cfg=cfg), history)
        pseudo_ids: list[np.ndarray] = [np.zeros(0, np.int64) for _ in preps]
        if second:
            # the first model labels the unlabelled objects it is sure of; a shorter second
            # round continues from its weights with them added (see model/pseudo.py)
            probs = [
                self._probabilities(p, p.table.subset(c), net=net.eval(), spec=spec)
                for p, c in zip(preps, candidates)
            ]
            counts = np.bincount(all_targets, minlength=len(self.class_names))
            picked, pseudo_classes = select(
                np.concatenate(probs), counts, cfg.train_pseudo_threshold, cfg.train_pseudo_ratio
            )
            owner = np.repeat(np.arange(len(preps)), [c.size for c in candidates])
            local = np.concatenate(candidates)[picked]
            extra = [
                self._patches(p, p.table.subset(local[owner[picked] == i]), source)
                for i, p in enumerate(preps)
                if (owner[picked] == i).any()
            ]
            if extra:
                order = np.argsort(owner[picked], kind="stable")  # the order of ``extra``
                patches = np.concatenate([patches, *extra])
                targets = np.concatenate([all_targets, pseudo_classes[order]])
                pseudo_ids = [
                    p.table.label_id[local[owner[picked] == i]] for i, p in enumerate(preps)
                ]
                result = yield from _collect(
                    train(
                        net,
                        patches,
                        targets,
                        cfg=replace(cfg, train_epochs=second),
                        epoch_offset=len(history),
                    ),
                    history,
                )
        self.net, self.patch_spec, self._inference = net.eval(), spec, None
        self._trained_config = cfg
        self.validation = result.validation
        self.augmentation, self.symmetry = aug, symmetry.to_dict()
        self.assessment = None  # without a hold-out or a probe there is nothing to judge by
        if result.validation is not None:
            cm = np.asarray(result.validation["confusion_matrix"])
            self.assessment = chance_check(cm, "hold-out", cfg.train_seed)
        elif symmetry.estimate is not None:
            cm = np.asarray(symmetry.estimate["confusion_matrix"])
            self.assessment = chance_check(cm, "2-fold estimate", cfg.train_seed)
        self.history = [vars(e) for e in history]
        self.version = self.version + 1 if warm_start else 1
        self.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.training_data = [
            {
                "name": p.name,
                "checksum": p.checksum,
                "shape": list(p.labels.shape),
                "n_objects": len(p.table),
                "label_ids": [int(v) for v in p.table.label_id[rows]],
                "per_class": {
                    n: int((classes == k).sum()) for k, n in enumerate(self.class_names, 1)
                },
                "pseudo_label_ids": [int(v) for v in ids],
            }
            for p, (rows, classes), ids in zip(preps, targets_per, pseudo_ids)
        ]

    # ------------------------------------------------------------------ prediction
    def predict(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        *,
        axes: str = "YX",
        voxel_size: tuple[float, ...] | None = None,
        label_ids: Sequence[int] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Prediction:
        """Class probabilities for every object of ``labels`` (or the given ``label_ids``).

        Objects go through the network in batches of ``predict_batch_size``; the next batch's
        patches are cut while the network runs, and memory stays bounded on huge images.
        ``progress`` receives ``(done, total)`` after each batch.
        """
        self._require_trained()
        prep = self._prepare(image, labels, axes, voxel_size)
        self._check_compatible(prep)
        table = prep.table if label_ids is None else prep.table.subset(prep.table.rows(label_ids))
        probabilities = self._probabilities(prep, table, progress, cancel)
        return Prediction(
            probabilities=probabilities,
            class_names=list(self.class_names),
            in_training_set=self._training_membership(prep, table),
            table=table,
            index=prep.index,
        )

    def _probabilities(
        self,
        prep: _Prepared,
        table: ObjectTable,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        *,
        net=None,
        spec: PatchSpec | None = None,
    ) -> np.ndarray:
        """``(N, K)`` probabilities of the objects of ``table``, batch by batch (with the
        model's network and patches unless ``net``/``spec`` are given)."""
        import torch

        from .model.device import autocast, autocast_dtype, host_batch, to_device
        from .model.tta import predict_proba

        n, k = len(table), len(self.class_names)
        probabilities = np.zeros((n, k), np.float32)
        step = self.config.predict_batch_size
        starts = list(range(0, n, step))
        device = self.device
        dtype = autocast_dtype(device, self.config.precision)
        net = self._inference_network(net or self.net, device)
        spec = spec or self.patch_spec
        views = self._tta_views(spec)

        def cut(s):
            # pinned here for a GPU, in the worker thread, while the network runs
            batch = self._patches(prep, table.subset(np.arange(s, min(s + step, n))), spec)
            return host_batch(batch, device)

        # a worker thread cuts the next batch during the forward pass; with one batch (small
        # images) there is nothing to overlap, and starting the thread would cost more
        overlap = len(starts) > 1
        with (
            ThreadPoolExecutor(max_workers=1) if overlap else _Inline() as pool,
            torch.inference_mode(),
            autocast(device, dtype),
        ):
            pending = pool.submit(cut, starts[0]) if starts else None
            for i, s in enumerate(starts):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("prediction was cancelled")
                batch = pending.result()
                pending = pool.submit(cut, starts[i + 1]) if i + 1 < len(starts) else None
                probs = predict_proba(net, to_device(batch, device), views)
                probabilities[s : s + batch.shape[0]] = probs.cpu().numpy()
                if progress is not None:
                    progress((min(s + step, n), n))
        return probabilities

    def _probabilities_of_patches(
        self,
        patches: np.ndarray,
        *,
        net=None,
        cancel: Callable[[], bool] | None = None,
        features: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(N, K)`` probabilities of patches cut before (by :meth:`_patches`), batch by
        batch through the same inference network and views as :meth:`predict`; ``cancel()``
        true between batches raises :class:`Cancelled`. ``features``, an ``(N, F)`` array,
        receives the pooled features of a network with ``embed`` (one view only)."""
        import torch

        from .model.device import autocast, autocast_dtype, to_device
        from .model.tta import predict_proba

        n, k = patches.shape[0], len(self.class_names)
        probabilities = np.zeros((n, k), np.float32)
        device = self.device
        dtype = autocast_dtype(device, self.config.precision)
        fast = self._inference_network(net or self.net, device)
        views = self._tta_views()
        step = self.config.predict_batch_size
        with torch.inference_mode(), autocast(device, dtype):
            for s in range(0, n, step):
                if cancel is not None and cancel():
                    raise Cancelled("prediction was cancelled")
                x = to_device(patches[s : s + step], device)
                if features is not None and len(views) == 1:
                    embedded = fast.embed(x)
                    features[s : s + step] = embedded.float().cpu().numpy()
                    probs = torch.softmax(fast.head(embedded).float(), dim=1)
                else:
                    probs = predict_proba(fast, x, views)
                probabilities[s : s + step] = probs.cpu().numpy()
        return probabilities

    def _inference_network(self, net, device):
        """The fused, channels-last copy of ``net`` that prediction runs; the model's own
        network's copy is kept until the next fit (a training-time network is copied each
        call: its weights change between calls)."""
        from .model.networks import inference_network

        cached = self._inference
        if cached is not None and cached[0] is net is self.net and cached[1] == device:
            return cached[2]
        fast = inference_network(_on_device(net, device))
        if net is self.net:
            self._inference = (net, device, fast)
        return fast

    def _tta_views(self, spec: PatchSpec | None = None) -> list:
        from .model.augment import Augmentation
        from .model.tta import tta_views

        shape = (spec or self.patch_spec).shape
        aug = self.augmentation or Augmentation.from_config(self.config, len(shape))
        return tta_views(aug, shape, self.config.predict_tta)

    def _training_membership(self, prep: _Prepared, table: ObjectTable) -> np.ndarray:
        member = np.zeros(len(table), bool)
        shape = list(prep.labels.shape)
        for entry in self.training_data:
            if entry["shape"] == shape and entry["checksum"] == prep.checksum:
                member |= np.isin(table.label_id, np.asarray(entry["label_ids"], np.int64))
        return member

    def explain(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        label_id: int,
        *,
        axes: str = "YX",
        voxel_size: tuple[float, ...] | None = None,
        class_index: int | None = None,
    ) -> Explanation:
        """Grad-CAM of one object for ``class_index`` (1..K; default: its predicted class)."""
        import torch

        from .model.device import autocast, autocast_dtype, to_device
        from .model.explain import gradcam
        from .model.networks import gradcam_layer
        from .model.tta import predict_proba

        self._require_trained()
        prep = self._prepare(image, labels, axes, voxel_size)
        self._check_compatible(prep)
        table = prep.table.subset(prep.table.rows([label_id]))
        patch = self._patches(prep, table)[0]
        device = self.device
        net = _on_device(self.net, device).eval()
        dtype = autocast_dtype(device, self.config.precision)  # as predict(): the same row
        with torch.inference_mode(), autocast(device, dtype):
            x = to_device(patch[np.newaxis], device)
            probs = predict_proba(net, x, self._tta_views())[0].cpu().numpy()
        if class_index is None:
            class_index = int(probs.argmax()) + 1
        elif not 1 <= int(class_index) <= len(self.class_names):
            raise InvalidInputError(
                f"class_index {class_index} is out of range 1..{len(self.class_names)}"
            )
        layer = gradcam_layer(self.config.net_name, self.config.net_depth)
        heat = gradcam(net, patch, layer, int(class_index) - 1)
        spec = self.patch_spec
        offset = tuple(int(v) for v in patch_starts(table, spec.shape, spec.scale)[0])
        return Explanation(int(label_id), int(class_index), heat, offset, probs, spec.scale)

    def _check_fixed_settings(self) -> None:
        """Continued training keeps the network, patches and normalisation of the model:
        changing them would save weights that no longer match the recorded settings."""
        if self._trained_config is None:
            return
        changed = ModelConfig.fixed_changes(self._trained_config.to_dict(), self.config.to_dict())
        if changed:
            raise InvalidInputError(
                "continued training keeps the model's network, patch and normalisation "
                f"settings; these differ: {', '.join(changed)} (train a new model instead)"
            )

    def _require_trained(self) -> None:
        if not self.is_trained:
            raise InvalidInputError("the classifier is not trained: call fit() or load a model")

    # ------------------------------------------------------------------ persistence
    def metadata(self) -> dict:
        """Everything about the model except its weights (JSON-serialisable)."""
        import torch

        self._require_trained()

        return {
            "class_names": self.class_names,
            "class_colors": class_colors(len(self.class_names)),
            "config": self.config.to_dict(),
            "ndim": self.ndim,
            "in_channels": self.in_channels,
            "axes": "CZYX"[-(self.ndim + 1) :] if self.ndim == 3 else "CYX",
            "patch": self.patch_spec.to_dict(),
            "normalization": self.normalization.to_dict(),
            "augmentation": self.augmentation.to_dict(),
            "symmetry": self.symmetry,
            "assessment": self.assessment,
            "voxel_size": list(self.voxel_size) if self.voxel_size else None,
            "training_data": self.training_data,
            "validation": self.validation,
            "history": self.history,
            "version": self.version,
            "created": self.created,
            "phenosort_version": __version__,
            "torch_version": torch.__version__,
        }

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the single model file (weights + metadata; see :mod:`phenosort.model.file`)."""
        from .model.file import save_model_file

        meta = self.metadata()
        return save_model_file(path, self.net.state_dict(), meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> ObjectClassifier:
        """Load a model file written by :meth:`save` (verified, no pickle)."""
        from .errors import ModelFileError
        from .model.augment import Augmentation
        from .model.file import load_model_file
        from .model.networks import build_network

        state, meta = load_model_file(path)
        try:
            config = ModelConfig.from_dict(meta["config"])
            if device is not None:
                config = config.updated(device=device)
            clf = cls(meta["class_names"], config)
            clf.patch_spec = PatchSpec.from_dict(meta["patch"])
            clf.normalization = Normalization.from_dict(meta["normalization"])
            clf.ndim, clf.in_channels = int(meta["ndim"]), int(meta["in_channels"])
            clf.voxel_size = tuple(meta["voxel_size"]) if meta.get("voxel_size") else None
            net = build_network(
                config.net_name,
                clf.ndim,
                clf.in_channels + 1,
                len(clf.class_names),
                clf.patch_spec.shape,
                width=config.net_width,
                depth=config.net_depth,
                block=config.net_block,
            )
            net.load_state_dict(state)
            recorded = meta.get("augmentation")
            clf.augmentation = (
                Augmentation.from_dict(recorded)
                if recorded
                else Augmentation.from_config(config, clf.ndim)
            )
            clf.version = int(meta.get("version", 1))  # inside: a malformed value is the file's
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{path} is incompatible with this phenosort: {exc}") from None
        clf.net = net.eval()
        clf._trained_config = config
        clf.symmetry = meta.get("symmetry")
        clf.assessment = meta.get("assessment")
        clf.validation = meta.get("validation")
        clf.history = meta.get("history", [])
        clf.training_data = meta.get("training_data", [])
        clf.created = meta.get("created")
        return clf


def _on_device(net, device):
    """``net`` on ``device``; ``Module.to`` walks every parameter even when nothing moves,
    which costs as much as a small image's other set-up."""
    first = next(net.parameters(), None)
    return net if first is not None and first.device == device else net.to(device)


class _Inline:
    """A stand-in for a one-thread executor that runs each call at once (see _probabilities)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, fn, *args):
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def _collect(events: Iterator, history: list):
    """Yield a training round's epoch events (appending them to ``history``) and return its
    final ``TrainResult``."""
    result = None
    for event in events:
        if hasattr(event, "state_dict"):
            result = event
        else:
            history.append(event)
            yield event
    if result is None:  # pragma: no cover - train_events always ends with a result
        raise Cancelled("training ended without a result")
    return result


def class_index_of(value: int | str, class_names: Sequence[str], where: str = "") -> int:
    """Class index 1..K of a class name or a 1-based index (digit strings are indices).

    ``where`` (e.g. " for label 12 in img01") is put into the error message.
    """
    if isinstance(value, str) and not value.strip().isdigit():
        if value not in class_names:
            raise InvalidInputError(
                f"unknown class {value!r}{where}; known classes: {', '.join(class_names)}"
            )
        return list(class_names).index(value) + 1
    k = int(value)
    if not 1 <= k <= len(class_names):
        raise InvalidInputError(
            f"class index {k}{where} is out of range 1..{len(class_names)} "
            f"({', '.join(class_names)})"
        )
    return k


def class_colors(n: int) -> list[str]:
    """Hex colours of classes 1..n (the Glasbey palette that ImageJ uses for ROI groups)."""
    from .dataio import glasbey_lut

    lut = glasbey_lut()
    return ["#{:02x}{:02x}{:02x}".format(*lut[k]) for k in range(1, n + 1)]
