"""Live sessions: one background trainer per model that follows the user's labels.

A :class:`LiveSession` holds the images and labels of one model's session, a
:class:`~phenosort.model.live_update.LiveModel` and one worker thread. Every wait is on the
session's condition variable, so a session whose labels do not change uses no CPU:

- the worker sleeps until the labels change, the session closes or (only while no watch
  stream is open) the idle timeout falls due;
- a watcher sleeps until a new update or state, the session's end, or its own client's
  cancellation (a gRPC callback notifies the condition);
- changes that arrive while the worker trains join that training (it re-reads the label set
  between steps); a prediction made stale by a newer change is cancelled, unless the last
  update is older than ``max_wait_s``. Nothing queues: a watcher gets the latest update.

:class:`LiveSessions` keeps one session per model and validates every request before it
changes anything (label IDs are the mask's own; unknown classes are refused).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..classifier import ObjectClassifier, class_index_of
from ..errors import Cancelled, InvalidInputError, NotFoundError, PreconditionError
from ..model.config import ModelConfig
from ..model.live_update import LiveModel, LiveSettings, margins
from ..v1 import phenosort_pb2 as pb
from .guards import check_label_id
from .registry import ModelRegistry

log = logging.getLogger("phenosort.service")

DEFAULT_IDLE_TIMEOUT_S = 120.0
MAX_IMAGES = 64  # images per session
STEP_CHUNK = 2  # steps between looks at the label set


class LiveSession:
    """One model's live session; see the module docstring. Create through
    :meth:`LiveSessions.open`."""

    def __init__(
        self,
        model: str,
        class_names: list[str],
        engine: LiveModel,
        settings: LiveSettings,
        idle_timeout_s: float,
        on_end: Callable[[LiveSession], None],
    ) -> None:
        self.id = uuid.uuid4().hex
        self.model = model
        self.class_names = class_names
        self.engine = engine
        self.settings = settings
        self.idle_timeout_s = idle_timeout_s
        self._on_end = on_end
        self.cond = threading.Condition()
        self.engine_lock = threading.Lock()  # the worker's training/prediction vs. commit
        self.labels: dict[str, dict[int, int]] = {}
        self.images: dict[str, pb.LiveImage] = {}
        self.labels_version = 0
        self.change_time = time.monotonic()
        self.trained_version = 0  # labels version the weights have trained on
        self.updated_version = 0  # labels version of the newest predictions (quick or full)
        self.full_version = 0  # labels version of the last full update
        self.sequence = 0
        self.status_counter = 0  # bumped on any state change a watcher should see
        self.latest: pb.LiveUpdate | None = None
        self.latest_time = time.monotonic()  # of the last update (the start before one)
        self.watchers = 0
        self.last_call = time.monotonic()
        self.closed = False
        self.close_reason = ""
        self.trainings = 0  # rounds of training started (coalescing is visible in it)
        self.thread = threading.Thread(
            target=self._run, name=f"phenosort-live-{model}", daemon=True
        )

    # ------------------------------------------------------------------ state
    def _n_classes_labelled(self) -> int:
        return len({k for notes in self.labels.values() for k in notes.values()})

    def state(self) -> pb.LiveState:
        if self.closed:
            return pb.LIVE_STATE_CLOSED
        if self._n_classes_labelled() < 2:
            return pb.LIVE_STATE_WAITING
        if self.full_version < self.labels_version:
            return pb.LIVE_STATE_TRAINING
        return pb.LIVE_STATE_IDLE

    def info(self) -> pb.LiveSessionInfo:
        """The session's state (call with ``cond`` held, or accept a racy snapshot)."""
        counts = [0] * len(self.class_names)
        for notes in self.labels.values():
            for k in notes.values():
                counts[k - 1] += 1
        message = self.close_reason
        if not message and self._n_classes_labelled() < 2:
            message = "label objects of at least 2 classes to start the live model"
        return pb.LiveSessionInfo(
            session_id=self.id,
            model=self.model,
            class_names=self.class_names,
            state=self.state(),
            labels_version=self.labels_version,
            updated_version=self.updated_version,
            trained_version=self.full_version,
            n_labels=sum(counts),
            counts=[pb.ClassCount(class_name=n, count=c) for n, c in zip(self.class_names, counts)],
            image_ids=list(self.images),
            message=message,
        )

    def touch(self) -> None:
        """A call arrived: the idle timeout starts again."""
        with self.cond:
            self.last_call = time.monotonic()

    def _changed(self) -> None:
        self.status_counter += 1
        self.cond.notify_all()

    # ------------------------------------------------------------------ changes
    def resolve_changes(self, changes: Sequence[pb.LabelChange]) -> list[tuple[str, int, int]]:
        """Validate label changes: ``(image key, label ID, class 1..K or 0 to remove)``."""
        resolved = []
        for c in changes:
            if c.image_id not in self.images:
                raise NotFoundError(
                    f"image {c.image_id!r} is not in live session {self.id} of model "
                    f"{self.model!r}; add it first (add_images)"
                )
            label = check_label_id(c.label, "label")
            name = self.images[c.image_id].image.name or c.image_id
            self.engine.table(c.image_id).rows([label])  # names an ID not in the mask
            if c.remove:
                if c.class_name or c.class_index:
                    raise InvalidInputError(
                        f"label {label} in {name}: remove takes no class (got "
                        f"{c.class_name or c.class_index!r})"
                    )
                resolved.append((c.image_id, label, 0))
                continue
            if not c.class_name and not c.class_index:
                raise InvalidInputError(
                    f"label {label} in {name}: give class_name or class_index, or set remove"
                )
            try:
                k = class_index_of(
                    c.class_name or c.class_index, self.class_names, f" for label {label} in {name}"
                )
            except InvalidInputError as exc:
                raise InvalidInputError(
                    f"{exc}. A new class must be listed in the session's classes when it is "
                    "opened (OpenLiveSessionRequest.classes)"
                ) from None
            if c.class_name and c.class_index and c.class_index != k:
                raise InvalidInputError(
                    f"label {label} in {name}: class_index {c.class_index} and class_name "
                    f"{c.class_name!r} disagree"
                )
            resolved.append((c.image_id, label, k))
        return resolved

    def apply(self, changes: list[tuple[str, int, int]], removed_images: Sequence[str]) -> None:
        """Apply validated changes; wakes the worker."""
        with self.cond:
            if self.closed:
                raise PreconditionError(f"live session {self.id} is closed: {self.close_reason}")
            for key in removed_images:
                self.labels.pop(key, None)
                self.images.pop(key, None)
            for key, label, k in changes:
                notes = self.labels.setdefault(key, {})
                if k:
                    notes[label] = k
                else:
                    notes.pop(label, None)
                if not notes:
                    del self.labels[key]
            if changes or removed_images:
                self.labels_version += 1
                self.change_time = time.monotonic()
            self.last_call = time.monotonic()
            self._changed()

    # ------------------------------------------------------------------ the worker
    def start(self) -> None:
        self.thread.start()

    def _wait_for_work(self) -> bool:
        """Sleep until labels changed (True) or the session ends (False); cond held."""
        while True:
            if self.closed:
                return False
            if self.trained_version < self.labels_version:
                if self._n_classes_labelled() >= 2:
                    return True
                self.trained_version = self.labels_version
                self.updated_version = self.full_version = self.labels_version
                self._changed()  # WAITING: watchers see the new counts
                continue
            timeout = None
            if self.watchers == 0:
                timeout = self.last_call + self.idle_timeout_s - time.monotonic()
                if timeout <= 0:
                    self._close_locked(
                        f"closed after {self.idle_timeout_s:g} s without a call or a watcher"
                    )
                    return False
            self.cond.wait(timeout)

    def _run(self) -> None:
        try:
            while True:
                with self.cond:
                    if not self._wait_for_work():
                        break
                self.trainings += 1
                self._round()
        except Exception:  # a bug must not leave a session that never answers
            error_id = uuid.uuid4().hex[:12]
            log.exception("live session %s of %r failed (error id %s)", self.id, self.model,
                          error_id)  # fmt: skip
            self.close(f"the live trainer failed (error id {error_id}, see the server log)")
        finally:
            self._on_end(self)

    def _snapshot(self) -> tuple[int, dict[str, dict[int, int]], float]:
        with self.cond:
            labels = {k: dict(v) for k, v in self.labels.items()}
            return self.labels_version, labels, self.change_time

    def _round(self) -> None:
        """Train on the latest labels (absorbing changes between steps), then predict the
        watched images unless a newer change made the prediction stale."""
        s = self.settings
        with self.engine_lock:
            version, labels, changed_at = self._snapshot()
            if len({k for v in labels.values() for k in v.values()}) < 2:
                return
            if self.engine.ready and self.engine.quick_ready():
                start = time.perf_counter()
                quick = self.engine.quick_predict(labels)
                images = [_image_message(k, ids, p, labels) for k, (ids, p) in quick.items()]
                self._publish(images, version, changed_at, quick=True,
                              predict_seconds=time.perf_counter() - start)  # fmt: skip
            start = time.perf_counter()
            self.engine.set_labels(labels)
            done, since_change, losses, accs = 0, 0, [], []
            while done < s.steps or since_change < s.steps_after_change:
                if self.closed:
                    return
                newest, _, _ = self._peek()
                if newest != version:
                    version, labels, changed_at = self._snapshot()
                    if len({k for v in labels.values() for k in v.values()}) < 2:
                        return  # the worker sees the WAITING state next
                    self.engine.set_labels(labels)
                    since_change = 0
                    if done >= 4 * s.steps:  # a user who never pauses still gets updates
                        break
                n = min(STEP_CHUNK, max(s.steps - done, s.steps_after_change - since_change, 1))
                stats = self.engine.train_steps(n)
                done, since_change = done + n, since_change + n
                losses.append(stats.loss * n)
                accs.append(stats.accuracy * n)
            self.engine.refit_head()
            with self.cond:
                self.trained_version = version
            train_s = time.perf_counter() - start
            start = time.perf_counter()
            try:
                images = self._predict(version, labels)
            except Cancelled:
                return  # stale: the next round starts at once with the newer labels
            predict_s = time.perf_counter() - start
        self._publish(
            images,
            version,
            changed_at,
            train_seconds=train_s,
            predict_seconds=predict_s,
            steps=done,
            train_loss=sum(losses) / max(done, 1),
            train_accuracy=sum(accs) / max(done, 1),
        )

    def _publish(self, images, version: int, changed_at: float, **fields) -> None:
        """Make an update the latest one and wake the watchers."""
        with self.cond:
            self.sequence += 1
            self.updated_version = version
            if not fields.get("quick"):
                self.full_version = version
            self.latest = pb.LiveUpdate(
                sequence=self.sequence,
                images=images,
                latency_seconds=time.monotonic() - changed_at,
                total_steps=self.engine.total_steps,
                **fields,
            )
            self.latest_time = time.monotonic()
            self._changed()

    def _peek(self) -> tuple[int, float, float]:
        with self.cond:
            return self.labels_version, self.change_time, self.latest_time

    def _predict(self, version: int, labels: dict[str, dict[int, int]]):
        def stale() -> bool:
            newest, _, latest_time = self._peek()
            fresh_enough = time.monotonic() - latest_time < self.settings.max_wait_s
            return self.closed or (newest != version and fresh_enough)

        out = []
        for key, image in list(self.images.items()):
            if image.watch:
                ids, probs = self.engine.predict(key, cancel=stale)
                out.append(_image_message(key, ids, probs, labels))
        return out

    # ------------------------------------------------------------------ watching
    def watch(self, on_cancel: Callable[[Callable[[], None]], object]) -> Iterator[pb.LiveUpdate]:
        """The latest update (if any), then each newer update or state change, until the
        session ends or the client cancels. ``on_cancel(callback)`` registers the gRPC
        callback that wakes this watcher when its client leaves."""
        gone = threading.Event()

        def leave() -> None:
            gone.set()
            with self.cond:
                self.cond.notify_all()

        on_cancel(leave)
        sent_seq, sent_status = 0, -1
        with self.cond:
            self.watchers += 1
        try:
            while True:
                with self.cond:
                    while (
                        not gone.is_set()
                        and not self.closed
                        and self.sequence == sent_seq
                        and self.status_counter == sent_status
                    ):
                        self.cond.wait()
                    if gone.is_set():
                        return
                    info = self.info()
                    if self.latest is not None and self.sequence != sent_seq:
                        update = pb.LiveUpdate()
                        update.CopyFrom(self.latest)
                    else:
                        update = pb.LiveUpdate()
                    update.session.CopyFrom(info)
                    sent_seq, sent_status = self.sequence, self.status_counter
                    closed = self.closed
                yield update
                if closed:
                    return
        finally:
            with self.cond:
                self.watchers -= 1
                self.last_call = time.monotonic()  # the idle timeout starts now
                self.cond.notify_all()

    # ------------------------------------------------------------------ commit, close
    def wait_updated(self, timeout: float) -> int:
        """Wait until the latest update reflects every label; returns that labels version.
        Raises when the session has nothing to commit or does not catch up in time."""
        with self.cond:
            if self._n_classes_labelled() < 2:
                raise PreconditionError(
                    f"live session {self.id} has labels of fewer than 2 classes: nothing to commit"
                )
            if not self.cond.wait_for(
                lambda: self.closed or self.full_version >= self.labels_version, timeout
            ):
                raise PreconditionError(
                    f"the live model did not catch up with the labels within {timeout:.0f} s; "
                    "commit again"
                )
            if self.closed:
                raise PreconditionError(f"live session {self.id} is closed: {self.close_reason}")
            return self.full_version

    def close(self, reason: str = "closed by the client") -> None:
        with self.cond:
            self._close_locked(reason)

    def _close_locked(self, reason: str) -> None:
        if not self.closed:
            self.closed, self.close_reason = True, reason
            log.info("live session %s of %r: %s", self.id, self.model, reason)
            self._changed()


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


def _image_message(
    key: str, ids: np.ndarray, probs: np.ndarray, labels: dict[str, dict[int, int]]
) -> pb.LiveImagePrediction:
    classes, confidence, margin = margins(probs)
    labelled = np.isin(ids, np.fromiter(labels.get(key, {}), np.int64))
    return pb.LiveImagePrediction(
        image_id=key,
        label_ids=ids.tolist(),
        class_index=classes.tolist(),
        probabilities=probs.ravel().tolist(),
        confidence=confidence.tolist(),
        margin=margin.tolist(),
        labelled=labelled.tolist(),
    )
