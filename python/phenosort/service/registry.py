"""Server-side models: class names, settings, a training set and trained versions.

Layout under ``<root>/models/<name>/`` (a :class:`~phenosort.store.ModelStore` folder):
``model.json`` (class names and settings), ``training.json`` (the training set: tensor ids,
voxel size, name and ``{label: class index}`` per image) and the immutable version files
``v0001.phenosort`` ... Every JSON file is replaced atomically, so a failed request never
leaves a half-written or lost file behind; a restarted server finds everything again.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..axes import check_labels, check_voxel_size, to_channel_first
from ..classes import class_index_of
from ..classifier import ObjectClassifier, Sample
from ..errors import AlreadyExistsError, InvalidInputError, ModelNotFoundError, PreconditionError
from ..jsonutil import dumps
from ..model.config import ModelConfig
from ..objects.table import object_table
from ..store import ModelStore
from ..v1 import phenosort_pb2 as pb
from .cache import TensorCache, write_atomic
from .guards import WeightsPolicy, check_label_id, parse_settings
from .reports import report_path

_MODEL_FILE, _TRAINING_FILE = "model.json", "training.json"


class ModelRegistry:
    """Models of one server store; thread-safe.

    Parameters
    ----------
    root : path
        The server's store folder (models live in ``root/models``).
    cache : TensorCache
        Where the training set's tensors are.
    device : str
        Device for loaded and trained classifiers (``auto`` keeps the model's own setting).
    weights_dir : path, optional
        The only folder whose files clients may name as ``net_weights`` (default: none).
    """

    def __init__(
        self,
        root: str | Path,
        cache: TensorCache,
        device: str = "auto",
        weights_dir: str | Path | None = None,
    ) -> None:
        self.store = ModelStore(Path(root) / "models")
        self.store.root.mkdir(parents=True, exist_ok=True)
        self.cache = cache
        self.device = device
        self.weights = WeightsPolicy(weights_dir)
        self._lock = threading.RLock()  # guards creation, deletion and training-set writes
        self._metadata: dict[tuple[str, int], dict] = {}
        self._loaded: OrderedDict[tuple[str, int], ObjectClassifier] = OrderedDict()
        self.max_loaded = 4
        self._remove_partial_files()
        cache.pinned = self.pinned_tensors

    def _remove_partial_files(self) -> None:
        """What a killed server left half-done: version files being written
        (``.phenosort-*.tmp``), JSON being replaced, imports, deleted models. One store has
        one server, so at start-up none of them belongs to a running operation."""
        root = self.store.root
        for trash in root.glob(".deleted-*"):
            shutil.rmtree(trash, ignore_errors=True)
        for tmp in [*root.glob(".import-*"), *root.glob("*/.*.tmp")]:
            tmp.unlink(missing_ok=True)

    def pinned_tensors(self) -> set[str]:
        """Tensor ids of every training set: the cache must never evict them."""
        ids: set[str] = set()
        for path in self.store.root.glob(f"*/{_TRAINING_FILE}"):
            try:
                entries = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            ids.update(e[k] for e in entries for k in ("image_id", "labels_id"))
        return ids

    # ------------------------------------------------------------------ models
    def _folder(self, name: str) -> Path:
        return self.store.folder(name)  # validates the name (no separators, no traversal)

    def exists(self, name: str) -> bool:
        """Whether model ``name`` was created or imported (raises on an invalid name)."""
        folder = self._folder(name)
        return (folder / _MODEL_FILE).is_file() or bool(self.store.saved_versions(name))

    def names(self) -> list[str]:
        """Every model: created ones (even untrained) and those with versions."""
        with self._lock:
            return sorted(p.name for p in self.store.root.iterdir() if self._is_model(p))

    def _is_model(self, folder: Path) -> bool:
        try:
            return folder.is_dir() and self.exists(folder.name)
        except InvalidInputError:  # not a model name (e.g. a temporary folder)
            return False

    def create(self, name: str, class_names: Sequence[str], settings_json: str = "") -> None:
        """Create an untrained model; :class:`AlreadyExistsError` if ``name`` is taken."""
        settings = parse_settings(settings_json)
        self.weights.resolve(settings)  # refuses a net_weights outside the allowed folder
        ObjectClassifier(list(class_names), ModelConfig.from_dict(settings))  # checks names
        with self._lock:
            folder = self._folder(name)
            if self.exists(name):
                raise AlreadyExistsError(f"a model named {name!r} exists already")
            folder.mkdir(parents=True, exist_ok=True)
            spec = {"class_names": list(class_names), "settings": settings}
            write_atomic(folder / _MODEL_FILE, json.dumps(spec, indent=1))

    def set_class_names(self, name: str, class_names: Sequence[str]) -> None:
        """Append new classes to a model (its existing classes keep their order and index,
        so the training set's class indices stay valid)."""
        with self._lock:
            spec = self.spec(name)
            old = spec["class_names"]
            if list(class_names[: len(old)]) != old:
                raise InvalidInputError(
                    f"new classes must follow model {name!r}'s classes ({', '.join(old)})"
                )
            spec["class_names"] = list(class_names)
            write_atomic(self._folder(name) / _MODEL_FILE, json.dumps(spec, indent=1))

    def spec(self, name: str) -> dict:
        """``{"class_names": [...], "settings": {...}}`` of a model."""
        folder = self._folder(name)
        path = folder / _MODEL_FILE
        if path.is_file():
            return json.loads(path.read_text())
        versions = self.store.saved_versions(name)
        if not versions:
            raise ModelNotFoundError(f"no model named {name!r} on this server")
        meta = self.metadata(name, versions[-1])  # a model file put into the store by hand
        return {"class_names": meta["class_names"], "settings": meta["config"]}

    def versions(self, name: str) -> list[int]:
        """Trained versions of ``name``, oldest first (empty when untrained)."""
        self.spec(name)  # NOT_FOUND for unknown models
        return self.store.saved_versions(name)

    def resolve_version(self, name: str, version: int = 0) -> int:
        """The stored version number for ``version`` (0: the latest)."""
        versions = self.versions(name)
        if not versions:
            raise PreconditionError(f"model {name!r} is not trained yet: run StartTraining first")
        if version == 0:
            return versions[-1]
        if version not in versions:
            raise ModelNotFoundError(
                f"model {name!r} has no version {version}; versions: "
                f"{', '.join(map(str, versions))}"
            )
        return version

    def metadata(self, name: str, version: int) -> dict:
        """Metadata of a version (verified once, then cached: versions are immutable)."""
        key = (name, version)
        if key not in self._metadata:
            self._metadata[key] = self.store.metadata(name, version)
        return self._metadata[key]

    def classifier(self, name: str, version: int = 0) -> tuple[ObjectClassifier, int]:
        """A loaded version (LRU-cached); returns ``(classifier, version)``."""
        version = self.resolve_version(name, version)
        key = (name, version)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key], version
        device = None if self.device == "auto" else self.device
        clf = self.store.load(name, version, device=device)
        with self._lock:
            self._loaded[key] = clf
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
        return clf, version

    def delete(self, name: str, version: int = 0) -> None:
        """Delete one version, or (``version`` 0) the model with its training set."""
        with self._lock:
            folder = self._folder(name)
            self.spec(name)
            if version:
                self.resolve_version(name, version)
                report_path(self.store.path(name, version)).unlink(missing_ok=True)
                self.store.delete(name, version)
            else:  # renamed first, so that an interrupted delete leaves no half model
                trash = folder.with_name(f".deleted-{uuid.uuid4().hex}")
                folder.rename(trash)
                shutil.rmtree(trash, ignore_errors=True)
            for cache in (self._loaded, self._metadata):
                for key in [k for k in list(cache) if k[0] == name and version in (0, k[1])]:
                    cache.pop(key, None)

    def add_version_file(self, name: str, path: Path, classifier: ObjectClassifier) -> None:
        """Store a verified model file (loaded as ``classifier``) as version 1 of a new model
        ``name`` (import)."""
        with self._lock:
            folder = self._folder(name)
            if self.exists(name):
                raise AlreadyExistsError(f"a model named {name!r} exists already")
            folder.mkdir(parents=True, exist_ok=True)
            path.replace(folder / "v0001.phenosort")
            # the weights are in the file; a path from the exporting machine means nothing here
            settings = {**classifier.config.to_dict(), "net_weights": None}
            spec = {"class_names": classifier.class_names, "settings": settings}
            write_atomic(folder / _MODEL_FILE, json.dumps(spec, indent=1))

    # ------------------------------------------------------------------ training set
    def training_set(self, name: str) -> list[dict]:
        """The stored training set entries of ``name`` (see the module docstring)."""
        self.spec(name)
        path = self._folder(name) / _TRAINING_FILE
        return json.loads(path.read_text()) if path.is_file() else []

    def summary(self, name: str) -> pb.TrainingSetSummary:
        """Images and annotated objects per class of a model's training set."""
        names = self.spec(name)["class_names"]
        counts = [0] * len(names)
        entries = self.training_set(name)
        for entry in entries:
            for k in entry["annotations"].values():
                counts[int(k) - 1] += 1
        return pb.TrainingSetSummary(
            n_images=len(entries),
            counts=[pb.ClassCount(class_name=n, count=c) for n, c in zip(names, counts)],
        )

    def add_training_data(
        self, name: str, image: pb.ImageInput, annotations, replace: bool = False
    ) -> pb.TrainingSetSummary:
        """Validate an image, its mask and annotations and merge them into the training set.

        ``replace`` drops the image's earlier annotations (no annotations: remove the image).
        """
        class_names = self.spec(name)["class_names"]
        resolved = self._resolve_annotations(annotations, class_names)
        pixels, axes = self.cache.get(image.image_id, "image_id")
        labels, _ = self.cache.get(image.labels_id, "labels_id")
        image_cf = to_channel_first(pixels, axes or _default_axes(pixels))
        check_labels(labels, image_cf.shape[1:])
        voxel_size = list(image.voxel_size) or None
        check_voxel_size(voxel_size, labels.ndim)
        if resolved:  # the engine's check, naming every missing ID
            object_table(labels).rows(np.fromiter(resolved, np.int64, len(resolved)))
        with self._lock:
            entries = self.training_set(name)
            key = (image.image_id, image.labels_id)
            others = [e for e in entries if (e["image_id"], e["labels_id"]) != key]
            old = next((e for e in entries if (e["image_id"], e["labels_id"]) == key), None)
            self._check_consistent(others, image_cf.shape[0], labels.ndim)
            merged = {} if (replace or old is None) else dict(old["annotations"])
            merged.update({str(k): v for k, v in resolved.items()})
            if merged:
                others.append(
                    {
                        "image_id": image.image_id,
                        "labels_id": image.labels_id,
                        "voxel_size": voxel_size,
                        "name": image.name or (old or {}).get("name") or f"image {len(others) + 1}",
                        "annotations": merged,
                    }
                )
            path = self._folder(name) / _TRAINING_FILE
            write_atomic(path, json.dumps(others, indent=1))
            return self.summary(name)

    def _check_consistent(self, entries: list[dict], channels: int, ndim: int) -> None:
        """Images of one training set share dimensionality and channel count."""
        for entry in entries[:1]:
            pixels, axes = self.cache.get(entry["image_id"], "image_id")
            first = to_channel_first(pixels, axes or _default_axes(pixels), finite=False)
            if (first.shape[0], first.ndim - 1) != (channels, ndim):
                raise InvalidInputError(
                    f"this image is {ndim}D with {channels} channel(s) but the training set "
                    f"holds {first.ndim - 1}D images with {first.shape[0]} channel(s)"
                )

    @staticmethod
    def _resolve_annotations(annotations, class_names: list[str]) -> dict[int, int]:
        resolved: dict[int, int] = {}
        for a in annotations:
            check_label_id(a.label, "annotation label")  # 0 is background; uint64 may overflow
            k = class_index_of(a.class_name or a.class_index, class_names, f" for label {a.label}")
            if a.class_name and a.class_index and a.class_index != k:
                raise InvalidInputError(
                    f"label {a.label}: class_index {a.class_index} and class_name "
                    f"{a.class_name!r} disagree"
                )
            if resolved.get(a.label, k) != k:
                raise InvalidInputError(f"label {a.label} is annotated with two classes")
            resolved[int(a.label)] = k
        return resolved

    def samples(self, name: str) -> list[Sample]:
        """The training set as engine samples over the cached (memory-mapped) tensors."""
        out = []
        for entry in self.training_set(name):
            image, axes = self.cache.get(entry["image_id"], "image_id")
            labels, _ = self.cache.get(entry["labels_id"], "labels_id")
            vs = tuple(entry["voxel_size"]) if entry.get("voxel_size") else None
            notes = {int(k): int(v) for k, v in entry["annotations"].items()}
            out.append(
                Sample(image, labels, notes, axes or _default_axes(image), vs, entry["name"])
            )
        return out

    def model_info(self, name: str, version: int = 0) -> pb.ModelInfo:
        """Everything about a model; ``metadata_json`` is that of ``version`` (0: latest)."""
        spec = self.spec(name)
        versions = self.versions(name)
        meta = ""
        if versions:
            meta = dumps(self.metadata(name, self.resolve_version(name, version)))
        elif version:
            raise ModelNotFoundError(f"model {name!r} has no version {version}: it is untrained")
        return pb.ModelInfo(
            name=name,
            class_names=spec["class_names"],
            versions=versions,
            settings_json=dumps(spec["settings"], sort_keys=True),
            metadata_json=meta,
            training_set=self.summary(name),
        )


def _default_axes(array: np.ndarray) -> str:
    """Axes of a tensor uploaded without them: ``YX`` or ``ZYX`` by dimensionality."""
    return "ZYX"[-array.ndim :] if array.ndim in (2, 3) else ""
