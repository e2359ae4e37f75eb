"""The live model: a classifier updated in small steps while the user labels.

:class:`LiveModel` wraps an :class:`~phenosort.classifier.ObjectClassifier`. Its network is
warm-started from the current weights (a trained version's, or its own from the previous
update) and fine-tuned for a bounded number of steps on all labels so far; it then predicts
every object of the watched images. The patch cutting, normalisation, augmentation and
prediction are the classifier's own: a committed live model is an ordinary model file.

Patches are cut once: every object of a watched image when the image is added (or when the
model's geometry is set), and each labelled object's training patch when it is first
labelled. An update therefore costs only the training steps and one forward pass per object.

A model with no trained version gets its patch size, normalisation and network at the first
update that has labels of two classes, from all the images of the session (as ``fit`` does
for its training images). The augmentation is the trained model's, or the settings' with
``auto`` symmetries off: the live model has too few labels to test them, and a flip or turn
that the classes do not have destroys the cue (texture:10, rot90 on: macro-F1 0.46 against
1.00 for a full training, which tests them; docs/benchmarks.md).

The last layer's refitting and the quick prediction from cached features are in
:mod:`.live_head`, the trainer's settings in :mod:`.live_settings`. The model is not
thread-safe: the caller (``phenosort.service.live``) serialises calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

from ..axes import to_channel_first
from ..classifier import ObjectClassifier
from ..errors import InvalidInputError
from ..objects.patches import PatchSpec
from ..objects.prepared import PreparedImage
from ..objects.table import ObjectTable
from . import live_head
from .live_settings import LiveSettings

# a watched image's patch cache larger than this is not kept (cut per update instead)
MAX_CACHE_BYTES = 1 << 30


@dataclass(frozen=True)
class StepStats:
    """What a run of training steps did."""

    steps: int
    loss: float
    accuracy: float
    seconds: float


@dataclass
class _Image:
    key: str
    prep: PreparedImage
    watch: bool
    raw: tuple  # (image, labels, axes, voxel_size, name): to prepare again at initialisation
    patches: np.ndarray | None = None  # every object's patch (watched images)
    features: np.ndarray | None = None  # every object's pooled features (light networks)
    features_at: int = -1  # total_steps of the weights the features come from


class LiveModel:
    """A classifier fine-tuned in place as labels change; see the module docstring.

    Parameters
    ----------
    classifier : ObjectClassifier
        Trained (its weights are the starting point) or not (set up at the first update).
        It is modified in place: pass a private copy.
    settings : LiveSettings
    """

    def __init__(self, classifier: ObjectClassifier, settings: LiveSettings | None = None):
        self.clf = classifier
        self.settings = settings or LiveSettings()
        self.warm = classifier.is_trained  # started from trained weights
        self.images: dict[str, _Image] = {}
        self._train_patches: dict[tuple[str, int], np.ndarray] = {}
        self._x: torch.Tensor | None = None  # the current label set's patches, targets
        self._y: torch.Tensor | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._generator: torch.Generator | None = None
        self.total_steps = 0

    @property
    def ready(self) -> bool:
        """Whether the network exists (a trained start, or a first update was made)."""
        return self.clf.is_trained

    # ------------------------------------------------------------------ images
    def add_image(
        self,
        key: str,
        image: np.ndarray,
        labels: np.ndarray,
        *,
        axes: str,
        voxel_size: tuple[float, ...] | None = None,
        name: str = "",
        watch: bool = True,
    ) -> None:
        """Add (or replace) an image; a watched one's patches are cut now when the model is
        ready. Raises :class:`InvalidInputError` for a mask that does not fit the image or
        an image the model cannot take (dimensionality, channels)."""
        clf = self.clf  # an untrained one normalises as training on this image alone would
        prep = clf._prepare(image, labels, axes, voxel_size, name or key)
        if clf.is_trained:
            clf._check_compatible(prep)
        else:
            for other in list(self.images.values())[:1]:
                if (other.prep.labels.ndim, other.prep.image_cf.shape[0]) != (
                    prep.labels.ndim,
                    prep.image_cf.shape[0],
                ):
                    raise InvalidInputError(
                        f"image {name or key} is {prep.labels.ndim}D with "
                        f"{prep.image_cf.shape[0]} channel(s) but the session's images are "
                        f"{other.prep.labels.ndim}D with {other.prep.image_cf.shape[0]}"
                    )
        entry = _Image(key, prep, watch, (image, labels, axes, voxel_size, name or key))
        self.remove_image(key)
        self.images[key] = entry
        if clf.is_trained and watch:
            self._cache(entry)

    def remove_image(self, key: str) -> None:
        self.images.pop(key, None)
        for k in [k for k in self._train_patches if k[0] == key]:
            del self._train_patches[k]

    def table(self, key: str) -> ObjectTable:
        return self.images[key].prep.table

    def _cache(self, entry: _Image) -> None:
        n = len(entry.prep.table)
        spec = self.clf.patch_spec
        assert spec is not None
        size = n * (entry.prep.image_cf.shape[0] + 1) * int(np.prod(spec.shape)) * 4
        entry.patches = (
            self.clf._patches(entry.prep, entry.prep.table) if size <= MAX_CACHE_BYTES else None
        )

    # ------------------------------------------------------------------ set-up
    def _initialise(self) -> None:
        """Geometry, normalisation and network of a model with no trained version, from all
        images of the session (as ``ObjectClassifier.fit`` does for its training images)."""
        from ..model.augment import Augmentation
        from ..model.fit import new_geometry, new_normalization
        from ..model.networks import initial_network

        clf = self.clf
        raws = [e.raw for e in self.images.values()]
        norm = new_normalization(clf.config, [to_channel_first(r[0], r[2]) for r in raws])
        preps = [clf._prepare(r[0], r[1], r[2], r[3], r[4], norm) for r in raws]
        spec, norm = new_geometry(clf.config, preps, norm)
        ndim, channels = preps[0].ndim, preps[0].n_channels
        net = initial_network(clf.config, ndim, channels, len(clf.class_names), spec.shape)
        clf.net, clf.patch_spec, clf.normalization = net, spec, norm
        clf.voxel_size, clf.ndim, clf.in_channels = preps[0].voxel_size, ndim, channels
        cfg = clf.config  # an ``auto`` symmetry is off: too few labels to test it yet
        off = {"flip_x": cfg.aug_flip, "flip_y": cfg.aug_flip, "flip_z": cfg.aug_flip_z,
               "rot90": cfg.aug_rot90}  # fmt: skip
        resolved = {name: False for name, value in off.items() if value == "auto"}
        clf.augmentation = Augmentation.from_config(cfg, ndim, **resolved)
        clf._trained_config = clf.config
        for entry, prep in zip(self.images.values(), preps):
            entry.prep = prep
            if entry.watch:
                self._cache(entry)

    def grow_classes(self, class_names: list[str]) -> None:
        """Add classes (appended to the model's) to a trained light network's head."""
        import torch
        from torch import nn

        clf = self.clf
        old = len(clf.class_names)
        if class_names[:old] != clf.class_names:
            raise InvalidInputError("new classes must follow the model's classes")
        if len(class_names) == old:
            return
        if clf.is_trained:
            head = getattr(clf.net, "head", None)
            if not isinstance(head, nn.Linear):
                raise InvalidInputError(
                    f"classes cannot be added to a trained {clf.config.net_name} network; "
                    "create a new model with every class"
                )
            grown = nn.Linear(head.in_features, len(class_names))
            with torch.no_grad():
                grown.weight[:old] = head.weight
                grown.bias[:old] = head.bias
            clf.net.head = grown  # type: ignore[union-attr]
            self._optimizer = None
        clf.class_names = list(class_names)
        clf._inference = None

    # ------------------------------------------------------------------ training
    def set_labels(self, labels: Mapping[str, Mapping[int, int]]) -> None:
        """The label set to train on: ``{image key: {label ID: class index 1..K}}`` (at least
        two classes). Sets the model up first when it has no network yet."""
        import torch

        if not self.ready:
            self._initialise()
        clf = self.clf
        spec = clf.patch_spec
        assert spec is not None and clf.augmentation is not None
        from ..model.augment import source_shape

        source = PatchSpec(
            source_shape(spec.shape, clf.augmentation),
            spec.padding,
            spec.context_radius,
            spec.scale,
        )
        patches, targets = [], []
        for key in sorted(labels):
            entry = self.images[key]
            ids = sorted(labels[key])
            new = [i for i in ids if (key, i) not in self._train_patches]
            if new:
                if entry.patches is not None and source.shape == spec.shape:
                    cut = entry.patches[entry.prep.table.rows(new)]
                else:
                    cut = clf._patches(
                        entry.prep, entry.prep.table.subset(entry.prep.table.rows(new)), source
                    )
                for i, p in zip(new, cut):
                    self._train_patches[(key, i)] = p
            patches += [self._train_patches[(key, i)] for i in ids]
            targets += [labels[key][i] - 1 for i in ids]
        self._x = torch.from_numpy(np.stack(patches)) if patches else None
        self._y = torch.tensor(targets, dtype=torch.int64)

    def train_steps(self, n: int) -> StepStats:
        """``n`` training steps on the current label set, from the current weights."""
        import torch
        from torch import nn

        from ..model.augment import augment, center_crop
        from ..model.device import autocast, autocast_dtype, to_device
        from ..model.train import class_weights, recalibrate_batch_norm

        clf, s = self.clf, self.settings
        if self._x is None or self._y is None or len(self._y) < 2:
            raise InvalidInputError("the live model needs labels of at least 2 classes")
        start = time.perf_counter()
        device, net = clf.device, clf.net
        assert net is not None and clf.patch_spec is not None and clf.augmentation is not None
        net.to(device)
        if self._optimizer is None:
            lr = s.lr or (1e-3 if self.warm else 3e-3)
            wd = clf.config.train_weight_decay
            self._optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(s.seed)
        generator = self._generator
        k = len(clf.class_names)
        y = self._y.numpy()
        weights = class_weights(y, k, clf.config.train_class_weighting)
        loss_fn = nn.CrossEntropyLoss(
            weight=None if weights is None else weights.to(device),
            label_smoothing=clf.config.train_label_smoothing,
        )
        dtype = autocast_dtype(device, clf.config.precision)
        total_loss, correct, seen = 0.0, 0, 0
        net.train()
        for _ in range(n):
            rows = torch.randint(0, len(y), (s.batch_size,), generator=generator)
            xb = augment(
                to_device(self._x[rows], device), clf.patch_spec.shape, clf.augmentation, generator,
            )  # fmt: skip
            yb = to_device(self._y[rows], device)
            with autocast(device, dtype):
                logits = net(xb)
                loss = loss_fn(logits, yb)
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            total_loss += float(loss.detach()) * len(rows)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(rows)
        if clf.config.train_bn_recalibrate:  # a few steps leave the momentum averages behind
            x = center_crop(self._x, clf.patch_spec.shape)
            recalibrate_batch_norm(net, x, device, dtype, clf.config.predict_batch_size)
        net.eval()
        clf._inference = None  # the weights changed: prediction makes a new inference copy
        self.total_steps += n
        return StepStats(n, total_loss / seen, correct / seen, time.perf_counter() - start)

    def adopt(self, clf: ObjectClassifier, labels: Mapping[str, Mapping[int, int]]) -> None:
        """Continue from ``clf`` (a full training on ``labels``, :mod:`.live_settle`): its
        patch geometry and normalisation may differ, so every image is prepared and every
        watched image's patches cut again; later updates warm-start from its weights."""
        self.clf, self.warm, self._optimizer = clf, True, None
        self._train_patches.clear()
        for entry in self.images.values():
            entry.prep = clf._prepare(*entry.raw)
            entry.features, entry.features_at = None, -1
            if entry.watch:
                self._cache(entry)
        self.set_labels(labels)

    # ------------------------------------------------------------------ prediction
    def _embeds(self) -> bool:
        """Whether prediction can keep the features (a light network, one view)."""
        clf = self.clf
        return hasattr(clf.net, "embed") and len(clf._tta_views()) == 1

    def predict(
        self, key: str, cancel: Callable[[], bool] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(label IDs, (N, K) probabilities)`` of every object of image ``key``, from the
        cached patches; ``cancel()`` true between batches raises ``Cancelled``. A light
        network's pooled features are kept for :meth:`quick_predict`."""
        entry = self.images[key]
        clf = self.clf
        patches = entry.patches
        if patches is None:
            patches = clf._patches(entry.prep, entry.prep.table)
        features = None
        if self._embeds():
            features = np.zeros((patches.shape[0], live_head.head_of(clf).in_features), np.float32)
        probs = clf._batched_inference().of_patches(patches, cancel, features)
        entry.features, entry.features_at = features, self.total_steps
        return entry.prep.table.label_id, probs

    def quick_ready(self) -> bool:
        """Whether :meth:`quick_predict` can run: every watched image's features come from
        the current weights."""
        watched = [e for e in self.images.values() if e.watch]
        return bool(watched) and all(
            e.features is not None and e.features_at == self.total_steps for e in watched
        )

    def refit_head(self, iterations: int = 60) -> None:
        """Refit the network's last layer to the current labels on their eval-mode
        features. Training steps see batch statistics; prediction sees the running ones, and
        with a few labels the head trained on the first fits the second poorly."""
        if not self._embeds() or self._x is None or self._y is None:
            return
        live_head.refit_head(self.clf, self._x, self._y, iterations)

    def quick_predict(
        self, labels: Mapping[str, Mapping[int, int]], iterations: int = 60
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The last layer alone refitted to ``labels`` on the cached features (the network's
        own head is left as it is), and every watched object's probabilities with it:
        ``{image key: (label IDs, (N, K) probabilities)}``. Milliseconds, not seconds."""
        return live_head.quick_predict(self.clf, self.images, labels, iterations)

    # ------------------------------------------------------------------ commit
    def snapshot_for_saving(
        self, labels: Mapping[str, Mapping[int, int]], version: int
    ) -> ObjectClassifier:
        """The classifier with the metadata of a model trained on ``labels`` (membership of
        the labelled objects, numbered ``version``), ready for ``ModelStore.save``."""
        from ..model.fit import training_record

        clf = self.clf
        clf.training_data = []
        for key in sorted(labels):
            entry = self.images[key]
            ids = sorted(labels[key])
            classes = np.array([labels[key][i] for i in ids], np.int64)
            clf.training_data.append(training_record(entry.prep, ids, classes, clf.class_names))
        clf.version = version
        clf.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        clf.validation = None  # no hold-out: the live model trains on every label
        clf.assessment = None
        clf.history = []  # no epochs: the steps are in the session's updates
        return clf
