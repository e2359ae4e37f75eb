"""The live sessions of a server: at most one per model.

:class:`LiveSessions` opens (or attaches to) a model's session, adds its images, applies
label changes, commits the live model as the model's next version and closes sessions. It
validates every request before it changes anything (label IDs are the mask's own; unknown
classes are refused).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from ...classifier import ObjectClassifier
from ...errors import InvalidInputError, NotFoundError, PreconditionError
from ...model.config import ModelConfig
from ...model.live_settings import LiveSettings
from ...model.live_update import LiveModel
from ...v1 import phenosort_pb2 as pb
from ..registry import ModelRegistry
from .session import LiveSession

log = logging.getLogger("phenosort.service")

DEFAULT_IDLE_TIMEOUT_S = 120.0
MAX_IMAGES = 64  # images per session


class LiveSessions:
    """The live sessions of a server: at most one per model."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._by_model: dict[str, LiveSession] = {}
        self._by_id: dict[str, LiveSession] = {}
        self._closing = False

    def get(self, session_id: str) -> LiveSession:
        with self._lock:
            session = self._by_id.get(session_id)
        if session is None or session.closed:
            raise NotFoundError(
                f"no open live session {session_id!r} (closed, timed out or never opened); "
                "open one with OpenLiveSession"
            )
        session.touch()
        return session

    def of_model(self, model: str) -> LiveSession | None:
        with self._lock:
            return self._by_model.get(model)

    # ------------------------------------------------------------------ open
    def open(self, request: pb.OpenLiveSessionRequest) -> LiveSession:
        model = request.model
        existing = self.of_model(model)
        if existing is not None and not existing.closed:
            if not request.attach:
                raise PreconditionError(
                    f"model {model!r} has a live session already ({existing.id}); attach to it "
                    "(attach=true) or close it first"
                )
            if request.classes and list(request.classes) != existing.class_names:
                raise InvalidInputError(
                    f"the open session's classes are {', '.join(existing.class_names)}; "
                    f"attach with the same classes or none"
                )
            existing.touch()
            self.add_images(existing, request.images)
            return existing
        settings = LiveSettings.from_json(request.live_settings_json)
        if request.idle_timeout_s < 0:
            raise InvalidInputError(f"idle_timeout_s must be >= 0, got {request.idle_timeout_s}")
        spec = self.registry.spec(model)  # NOT_FOUND for an unknown model
        classes = self._classes(model, spec["class_names"], list(request.classes))
        versions = self.registry.versions(model)
        if versions:
            device = None if self.registry.device == "auto" else self.registry.device
            clf = self.registry.store.load(model, versions[-1], device=device)  # a private copy
        else:
            config = ModelConfig.from_dict(self.registry.weights.resolve(spec["settings"]))
            if self.registry.device != "auto":
                config = config.updated(device=self.registry.device)
            clf = ObjectClassifier(classes, config)
        engine = LiveModel(clf, settings)
        engine.grow_classes(classes)
        session = LiveSession(
            model,
            classes,
            engine,
            settings,
            request.idle_timeout_s or DEFAULT_IDLE_TIMEOUT_S,
            self._ended,
        )
        self.add_images(session, request.images)
        if request.include_training_set:
            self._load_training_set(session)
        if len(classes) > len(spec["class_names"]):
            self.registry.set_class_names(model, classes)
        with self._lock:
            if self._closing:
                raise PreconditionError("the server is shutting down")
            other = self._by_model.get(model)
            if other is not None and not other.closed:
                raise PreconditionError(f"model {model!r} has a live session already ({other.id})")
            self._by_model[model] = session
            self._by_id[session.id] = session
        session.start()
        log.info("live session %s of %r opened with %d image(s)", session.id, model,
                 len(session.images))  # fmt: skip
        return session

    @staticmethod
    def _classes(model: str, known: list[str], given: list[str]) -> list[str]:
        if not given:
            return list(known)
        if given[: len(known)] != known:
            raise InvalidInputError(
                f"classes must list model {model!r}'s classes first, in their order "
                f"({', '.join(known)}), then any new ones; got {', '.join(given)}"
            )
        new = given[len(known) :]
        if len(set(given)) != len(given) or any(not n.strip() for n in new):
            raise InvalidInputError(f"class names must be distinct and non-empty, got {given}")
        return list(given)

    def add_images(self, session: LiveSession, images: Sequence[pb.LiveImage]) -> None:
        """Validate and add images (their masks prepared, watched ones' patches cut)."""
        cache = self.registry.cache
        for live in images:
            image = live.image
            if not image.image_id or not image.labels_id:
                raise InvalidInputError("a live image needs image_id and labels_id")
            if len(session.images) >= MAX_IMAGES and image.image_id not in session.images:
                raise InvalidInputError(f"a live session holds at most {MAX_IMAGES} images")
            known = session.images.get(image.image_id)
            if known is not None and known.image.labels_id != image.labels_id:
                raise InvalidInputError(
                    f"image {image.image_id!r} is in the session already with another mask "
                    f"({known.image.labels_id}); remove it first"
                )
            pixels, axes = cache.get(image.image_id, "image_id")
            labels, _ = cache.get(image.labels_id, "labels_id")
            axes = axes or ("ZYX"[-pixels.ndim :] if pixels.ndim in (2, 3) else "")
            voxel_size = tuple(image.voxel_size) or None
            with session.engine_lock:
                session.engine.add_image(
                    image.image_id,
                    pixels,
                    labels,
                    axes=axes,
                    voxel_size=voxel_size,
                    name=image.name,
                    watch=live.watch,
                )
            with session.cond:
                session.images[image.image_id] = live
                # a model exists: predict the new image now, not at the next label
                if live.watch and session.sequence and session._n_classes_labelled() >= 2:
                    session.predict_due = True
                session._changed()

    def _load_training_set(self, session: LiveSession) -> None:
        entries = self.registry.training_set(session.model)
        for entry in entries:
            key = entry["image_id"]
            known = session.images.get(key)
            if known is not None and known.image.labels_id != entry["labels_id"]:
                continue  # the session's mask wins; that image's stored labels do not apply
            if known is None:
                live = pb.LiveImage(
                    image=pb.ImageInput(
                        image_id=key,
                        labels_id=entry["labels_id"],
                        voxel_size=entry.get("voxel_size") or [],
                        name=entry["name"],
                    )
                )
                self.add_images(session, [live])
            notes = {int(k): int(v) for k, v in entry["annotations"].items()}
            changes = [(key, label, k) for label, k in notes.items()]
            session.apply(changes, [])

    # ------------------------------------------------------------------ changes
    def update(self, session: LiveSession, request: pb.UpdateLiveSessionRequest) -> None:
        """Images in and out, then label changes; a bad change changes no label."""
        for key in request.remove_image_ids:
            if key not in session.images:
                raise NotFoundError(f"image {key!r} is not in live session {session.id}")
        self.add_images(session, request.add_images)
        changes = session.resolve_changes(request.changes)
        removed = [k for k in request.remove_image_ids if k not in
                   {i.image.image_id for i in request.add_images}]  # fmt: skip
        session.apply(changes, removed)
        if removed:
            with session.engine_lock:
                for key in removed:
                    session.engine.remove_image(key)

    # ------------------------------------------------------------------ commit
    def commit(self, session: LiveSession, save_labels: bool, timeout: float):
        """Save the live model as the model's next version; returns ``(version, labels
        version, training set summary or None)``."""
        version_of_labels = session.wait_updated(timeout)
        registry = self.registry
        with session.engine_lock:
            with session.cond:
                labels = {k: dict(v) for k, v in session.labels.items()}
                seen = (session.labels_version, session.full_version, session.trained_version)
                if seen != (version_of_labels,) * 3:  # the network moved on since
                    raise PreconditionError("the labels changed while committing; commit again")
            versions = registry.store.saved_versions(session.model)
            clf = session.engine.snapshot_for_saving(labels, (versions or [0])[-1] + 1)
            version = registry.store.save(session.model, clf)
        summary = None
        if save_labels:
            for key, image in session.images.items():
                notes = labels.get(key, {})
                annotations = [pb.Annotation(label=i, class_index=k) for i, k in notes.items()]
                summary = registry.add_training_data(
                    session.model, image.image, annotations, replace=True
                )
            summary = summary or registry.summary(session.model)
        log.info("live session %s of %r committed as version %d", session.id, session.model,
                 version)  # fmt: skip
        return version, version_of_labels, summary

    # ------------------------------------------------------------------ end
    def _ended(self, session: LiveSession) -> None:
        with self._lock:
            if self._by_model.get(session.model) is session:
                del self._by_model[session.model]
            self._by_id.pop(session.id, None)

    def close(self, session: LiveSession, reason: str = "closed by the client") -> None:
        session.close(reason)
        session.thread.join(30.0)  # usually within a step or a prediction batch
        self._ended(session)

    def shutdown(self) -> None:
        with self._lock:
            self._closing = True
            sessions = list(self._by_id.values())
        for session in sessions:
            self.close(session, "the server is shutting down")
