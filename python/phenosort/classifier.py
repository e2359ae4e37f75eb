"""``ObjectClassifier``: the one API that the CLI, the service and scripts call.

It turns (image, labels, annotations) into patches, trains a network on them, predicts
every object of new images, explains one object with Grad-CAM, and saves/loads a single
model file. This module holds the model's state; the work is done elsewhere:

- :mod:`phenosort.objects`: prepared images (``prepared``), patches, normalisation;
- :mod:`phenosort.model.fit`: the steps of training (``train``, ``symmetry``, ``pseudo``);
- :mod:`phenosort.model.inference`: batched prediction; :mod:`phenosort.model.explain`:
  Grad-CAM; :mod:`phenosort.model.file`: the model file.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .axes import to_channel_first
from .classes import class_index_of
from .errors import InvalidInputError
from .model.config import ModelConfig
from .objects.normalize import Normalization
from .objects.patches import PatchSpec, patch_starts
from .objects.prepared import PreparedImage, prepare_image
from .objects.table import ObjectTable
from .results import Explanation, Prediction

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .dataio.read import ImageData
    from .model.augment import Augmentation
    from .model.fit import Fitted
    from .model.inference import BatchedInference, Running

ProgressCallback = Callable[[object], None]
_Prepared = PreparedImage  # its former name here (scripts/bench_predict.py)


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


#: An image of up to this many batches of objects is cut whole by the caller and joins a
#: group, as a small one does; a larger one is cut batch by batch in the streams (memory
#: stays bounded). PanNuke's tiles of 33-53 objects had each flushed the group before
#: them, half full, and waited for the large image before (docs/benchmarks.md, issue 15).
_WHOLE_CUT_BATCHES = 4


def _ready() -> bool:
    """Finished: nothing runs for it (an error, or no objects)."""
    return True


@dataclass(frozen=True)
class _Cut:
    """An image's objects cut in raster ``order`` (indices into its table), waiting for
    the network with other small images' (:meth:`ObjectClassifier.predict_images`)."""

    prep: PreparedImage
    order: np.ndarray
    patches: np.ndarray | None  # None without objects


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
        self.augmentation: Augmentation | None = None  # resolved: what the weights saw
        self.symmetry: dict | None = None  # the symmetry decision and its evidence
        self.assessment: dict | None = None  # the chance check (metrics.chance_check)
        self.training_data: list[dict] = []
        self.version = 0
        self.created: str | None = None
        self._device: torch.device | None = None
        self._trained_config: ModelConfig | None = None  # settings the weights were made with

    @property
    def is_trained(self) -> bool:
        return self.net is not None

    @property
    def device(self) -> torch.device:
        if self._device is None:
            from .model.device import resolve_device

            self._device = resolve_device(self.config.device)
        return self._device

    def resolve_class(self, value: int | str, sample_name: str = "", label_id: int = 0) -> int:
        """Class index 1..K of a class name or index; errors name the sample and label."""
        return class_index_of(
            value, self.class_names, f" for label {label_id} in {sample_name or 'sample'}"
        )

    # ------------------------------------------------------------------ training
    def fit(
        self,
        samples: Sequence[Sample],
        *,
        warm_start: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        probe_progress: ProgressCallback | None = None,
    ) -> dict | None:
        """Train on the annotated objects of ``samples``; returns the validation metrics.

        Before training, the ``auto`` symmetries are tested on the labels
        (:mod:`phenosort.model.symmetry`; the decision is in :attr:`symmetry`); after it,
        the hold-out (or a 2-fold estimate) is compared with chance (:attr:`assessment`),
        and a model that learnt nothing that shows raises a ``ChanceLevelWarning``.

        ``warm_start`` continues from the current weights (a new version of a trained
        model); the patch and normalisation settings of that model are then kept.
        ``progress`` gets an ``EpochEvent`` per epoch of the training, ``probe_progress`` a
        ``ProbeEpoch`` per epoch of the symmetry probes before it.
        """
        from .model.metrics import warn_if_chance
        from .model.symmetry import ProbeEpoch

        result = None
        for event in self.fit_events(samples, warm_start=warm_start, cancel=cancel):
            callback = probe_progress if isinstance(event, ProbeEpoch) else progress
            if callback is not None:
                callback(event)
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
        """Like :meth:`fit`, yielding a ``ProbeEpoch`` per epoch of the symmetry probes, then
        an ``EpochEvent`` per epoch of the training (training runs as you iterate; the model
        is updated when the generator finishes). The steps are in :mod:`phenosort.model.fit`."""
        from .model.fit import Start, fit_events

        if not samples:
            raise InvalidInputError("no training samples were given")
        if warm_start and not self.is_trained:
            raise InvalidInputError("warm_start needs a trained model; load one first")
        start = None
        if warm_start:  # the model's network, geometry and symmetries are kept
            net, spec, norm, aug = self._require_trained()
            start = Start(
                net, spec, norm, aug, self.voxel_size, self.ndim, self.in_channels,
                self._trained_config,
            )  # fmt: skip
        config = self.config
        fitted = yield from fit_events(
            samples, config, self.class_names, self.device, start=start, cancel=cancel
        )
        self._adopt(fitted, config)
        self.version = self.version + 1 if warm_start else 1

    def _adopt(self, fitted: Fitted, config: ModelConfig) -> None:
        """Take a trained network and its records (from ``fit`` or a model file), made with
        ``config``: the one place that sets the trained state."""
        self.net, self.patch_spec, self._inference = fitted.net, fitted.spec, None
        self.normalization, self.augmentation = fitted.normalization, fitted.augmentation
        self.ndim, self.in_channels = fitted.ndim, fitted.in_channels
        self.voxel_size = fitted.voxel_size
        self._trained_config = config
        self.symmetry, self.validation = fitted.symmetry, fitted.validation
        self.assessment, self.history = fitted.assessment, fitted.history
        self.training_data = fitted.training_data
        self.created = datetime.now(timezone.utc).isoformat(timespec="seconds")

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

        Objects go through the network in batches of ``predict_batch_size``, cut in raster
        order (nearby image rows together; outputs stay in the table's order); on a GPU the
        next batch's patches are cut while the network runs. Memory stays bounded on huge
        images.
        ``progress`` receives ``(done, total)`` after each batch.
        """
        self._require_trained()
        prep = self._prepare(image, labels, axes, voxel_size)
        self._check_compatible(prep)
        table = prep.table if label_ids is None else prep.table.subset(prep.table.rows(label_ids))
        return self._predict_prepared(prep, table, progress, cancel)

    def _predict_prepared(
        self,
        prep: PreparedImage,
        table: ObjectTable,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Prediction:
        order = table.raster_order()  # patches cut in raster order, outputs kept in table order
        probabilities = np.empty((len(table), len(self.class_names)), np.float32)
        probabilities[order] = self._batched_inference().of_objects(
            len(table),
            lambda rows: self._patches(prep, table.subset(order[rows])),
            progress,
            None if cancel is None else cancel.is_set,
        )
        return self._prediction(prep, table, probabilities)

    def predict_images(
        self, images: Iterable[tuple[ImageData, np.ndarray]]
    ) -> Iterator[Prediction | Exception]:
        """:meth:`predict` of every ``(image, labels)`` pair, in order, where the objects of
        small images share the network's batches: a folder of single-cell crops would
        otherwise run the network once per object, at 4-5x the time per object of full
        batches (docs/benchmarks.md, issue 15). An image of more than
        ``_WHOLE_CUT_BATCHES`` batches of objects is predicted on its own, its patches cut
        batch by batch, as :meth:`predict` does; smaller ones are cut whole. On a
        CPU a group of small images, or a large image, runs in the CPU streams while the
        next images are read and cut, and while the caller writes the outputs of those
        before; what has finished is given back at once. A group starts as soon as one
        batch's objects are cut, so that a stream starts on it while the next group is
        cut. A pair that cannot be predicted (wrong channels, a bad mask) gives its
        exception in its place; the others go on. At most two groups per CPU stream (and
        the one being cut), or two large images, are held at a time.
        """
        self._require_trained()
        inference = self._batched_inference()
        step = inference.batch_size
        # Groups of one batch: waiting for a batch per stream left the streams idle while
        # the main thread read the images to fill it (PanNuke: 40 ms before the first
        # batch, 20 ms gaps; docs/benchmarks.md, issue 15, sixth session).
        ahead = 2 * inference.streams
        group: list[_Cut | Exception] = []  # cut, waiting to fill a batch
        # in the network, in order: (predictions, finished?, one large image?)
        started: deque[tuple[Iterator[Prediction | Exception], Callable[[], bool], bool]]
        started = deque()

        def start_group() -> None:
            if group:
                started.append((*self._start_group(group, inference), False))
                group.clear()

        for image, labels in images:
            try:
                prep = self._prepare(image.array, labels, image.axes, image.voxel_size)
                self._check_compatible(prep)
                order = prep.table.raster_order()
                large = len(order) > _WHOLE_CUT_BATCHES * step  # cut batch by batch
                # no patches to cut for an image without objects (its prediction is empty)
                cut = (
                    None
                    if large or not order.size
                    else self._patches(prep, prep.table.subset(order))
                )
            except Exception as exc:  # this image's failure, in its place
                group.append(exc)
                continue
            if large:
                start_group()
                predictions, finished = self._start_image(prep, order, inference)
                started.append((predictions, finished, True))
            else:
                group.append(_Cut(prep, order, cut))
                if sum(len(c.order) for c in group if isinstance(c, _Cut)) >= step or (
                    len(group) >= step
                ):
                    start_group()
            # What has finished goes to the caller (to be written) at once; up to two
            # groups per stream run ahead of it, so that the streams rarely wait for the
            # next one, or one large image, as each holds a whole image. (Waiting for a
            # group more instead of taking what had finished made the blood smears' 400
            # one-cell images 1.15x slower; docs/benchmarks.md.)
            while started and (
                started[0][1]() or len(started) > ahead or sum(large for *_, large in started) > 1
            ):
                yield from started.popleft()[0]
        start_group()
        while started:
            yield from started.popleft()[0]

    def _start_group(
        self, group: list[_Cut | Exception], inference: BatchedInference
    ) -> tuple[Iterator[Prediction | Exception], Callable[[], bool]]:
        """Start the network on a group of images cut before, their patches together: an
        iterator of the images' predictions (or errors) in order, and whether they are
        ready (the network finished)."""
        cut = [c.patches for c in group if isinstance(c, _Cut) and c.patches is not None]
        try:
            running = inference.start_patches(np.concatenate(cut)) if cut else None
        except Exception as exc:  # the group's images fail with it
            return iter([c if isinstance(c, Exception) else exc for c in group]), _ready
        finished = _ready if running is None else running.done
        return self._group_predictions(list(group), running), finished

    def _start_image(
        self, prep: PreparedImage, order: np.ndarray, inference: BatchedInference
    ) -> tuple[Iterator[Prediction | Exception], Callable[[], bool]]:
        """Start the network on an image of more objects than a batch, its patches cut
        batch by batch in the streams (memory bounded); the iterator gives its prediction."""
        table = prep.table

        def cut(start: int, stop: int) -> np.ndarray:
            return self._patches(prep, table.subset(order[start:stop]))

        try:
            running = inference.start(len(order), cut)
        except Exception as exc:
            return iter([exc]), _ready
        return self._group_predictions([_Cut(prep, order, None)], running), running.done

    def _group_predictions(
        self, group: list[_Cut | Exception], running: Running | None
    ) -> Iterator[Prediction | Exception]:
        """The predictions of a group whose probabilities ``running`` computes."""
        try:
            probabilities = running.result() if running is not None else None
        except Exception as exc:  # the network failed (out of memory): the group's images
            yield from (c if isinstance(c, Exception) else exc for c in group)
            return
        start = 0
        for entry in group:
            if isinstance(entry, Exception):
                yield entry
                continue
            n = len(entry.order)
            probs = np.empty((n, len(self.class_names)), np.float32)
            if n:
                assert probabilities is not None
                probs[entry.order] = probabilities[start : start + n]
                start += n
            try:
                yield self._prediction(entry.prep, entry.prep.table, probs)
            except Exception as exc:  # this image's failure, in its place
                yield exc

    def _prediction(
        self, prep: PreparedImage, table: ObjectTable, probabilities: np.ndarray
    ) -> Prediction:
        """The :class:`Prediction` of ``table``'s objects of ``prep``."""
        return Prediction(
            probabilities=probabilities,
            class_names=list(self.class_names),
            in_training_set=self._training_membership(prep, table),
            table=table,
            index=prep.index,
        )

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
        """Grad-CAM of one object for ``class_index`` (1..K; default: its predicted class).

        It runs on a copy of the network: a shared model can explain while it predicts."""
        from .model.device import autocast_dtype
        from .model.explain import explain_patch
        from .model.networks import gradcam_layer

        net, spec, _, _ = self._require_trained()
        prep = self._prepare(image, labels, axes, voxel_size)
        self._check_compatible(prep)
        table = prep.table.subset(prep.table.rows([label_id]))
        device, cfg = self.device, self.config
        class_index, heat, probs = explain_patch(
            net,
            self._patches(prep, table)[0],
            gradcam_layer(cfg.net_name, cfg.net_depth),
            class_index,
            inference=self._inference_network(net, device),
            views=self._tta_views(),
            device=device,
            dtype=autocast_dtype(device, cfg.precision),  # as predict(): the same row
        )
        offset = tuple(int(v) for v in patch_starts(table, spec.shape, spec.scale)[0])
        return Explanation(int(label_id), class_index, heat, offset, probs, spec.scale)

    def _prepare(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        axes: str,
        voxel_size: tuple[float, ...] | None,
        name: str = "",
        norm: Normalization | None = None,
    ) -> PreparedImage:
        """The image ready for :meth:`_patches`, with ``norm`` or the model's normalisation
        (an untrained model's: what training on this image alone would choose)."""
        norm = norm or self.normalization
        if norm is None:
            from .model.fit import new_normalization

            norm = new_normalization(self.config, [to_channel_first(image, axes)])
        return prepare_image(image, labels, axes, voxel_size, norm, name)

    def _check_compatible(self, prep: PreparedImage) -> None:
        prep.check_fits(self.ndim, self.in_channels)

    def _patches(
        self, prep: PreparedImage, table: ObjectTable, spec: PatchSpec | None = None
    ) -> np.ndarray:
        """Patches of the objects of ``table`` with the model's normalisation and patch
        spec (or ``spec``)."""
        spec = spec or self.patch_spec
        assert spec is not None and self.normalization is not None
        return prep.patches(table, spec, self.normalization)

    def _batched_inference(self) -> BatchedInference:
        """How this model predicts (model/inference.py): its inference network, test-time
        augmentation views, device, precision and batch size."""
        from .model.inference import BatchedInference

        net, spec, _, _ = self._require_trained()
        device = self.device
        fast = self._inference_network(net, device)
        n_classes = len(self.class_names)
        assert self.in_channels is not None  # set with the network
        sample = (self.in_channels + 1, *spec.shape)
        return BatchedInference.of(fast, self.config, n_classes, device, self._tta_views(), sample)

    def _inference_network(self, net: nn.Module, device: torch.device) -> nn.Module:
        """The fused, channels-last copy of ``net`` that prediction runs; the model's own
        network's copy is kept until its weights change (``_inference = None``)."""
        from .model.inference import on_device
        from .model.networks import inference_network

        cached = self._inference
        if cached is not None and cached[0] is net is self.net and cached[1] == device:
            return cached[2]
        fast = inference_network(on_device(net, device))
        if net is self.net:
            self._inference = (net, device, fast)
        return fast

    def _tta_views(self) -> list:
        from .model.tta import tta_views

        _, spec, _, aug = self._require_trained()
        return tta_views(aug, spec.shape, self.config.predict_tta)

    def _training_membership(self, prep: PreparedImage, table: ObjectTable) -> np.ndarray:
        from .model.fit import trained_on

        return trained_on(self.training_data, prep, table)

    def _require_trained(self) -> tuple[nn.Module, PatchSpec, Normalization, Augmentation]:
        """The trained model's network, patch spec, normalisation and augmentation."""
        if self.net is None:
            raise InvalidInputError("the classifier is not trained: call fit() or load a model")
        assert self.patch_spec is not None and self.normalization is not None
        assert self.augmentation is not None
        return self.net, self.patch_spec, self.normalization, self.augmentation

    # ------------------------------------------------------------------ persistence
    def metadata(self) -> dict:
        """Everything about the model except its weights (JSON-serialisable)."""
        from .model.file import metadata_of

        return metadata_of(self)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the single model file (weights + metadata; see :mod:`phenosort.model.file`)."""
        from .model.file import save_model_file

        meta = self.metadata()
        net = self._require_trained()[0]
        return save_model_file(path, net.state_dict(), meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> ObjectClassifier:
        """Load a model file written by :meth:`save` (verified, no pickle)."""
        from .errors import ModelFileError
        from .model.file import load_model_file
        from .model.fit import Fitted

        state, meta = load_model_file(path)
        try:
            config = ModelConfig.from_dict(meta["config"])
            if device is not None:
                config = config.updated(device=device)
            clf = cls(meta["class_names"], config)
            clf._adopt(Fitted.from_metadata(meta, state, config, len(clf.class_names)), config)
            clf.version = int(meta.get("version", 1))  # inside: a malformed value is the file's
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{path} is incompatible with this phenosort: {exc}") from None
        clf.created = meta.get("created")
        return clf
