"""One live session: the images and labels of one model's session, and what its calls do.

A :class:`LiveSession` holds a :class:`~phenosort.model.live_update.LiveModel` and one worker
thread (:mod:`.trainer`). Every wait is on the session's condition variable, so a session
whose labels do not change uses no CPU: a watcher sleeps until a new update or state, the
session's end, or its own client's cancellation (a gRPC callback notifies the condition).
Nothing queues: a watcher gets the latest update.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

from ...classes import class_index_of
from ...errors import InvalidInputError, NotFoundError, PreconditionError
from ...model.live_settings import LiveSettings
from ...model.live_update import LiveModel
from ...v1 import phenosort_pb2 as pb
from ..guards import check_label_id
from .trainer import run_trainer

log = logging.getLogger("phenosort.service")


class LiveSession:
    """One model's live session; see the module docstring. Create through
    :meth:`~phenosort.service.live.sessions.LiveSessions.open`."""

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
        self.settlings = 0  # full trainings started on settled labels
        self.settled_version = 0  # labels version of the last full training adopted
        self.settle_cancel: threading.Event | None = None  # set: that training stops
        self.predict_due = False  # a watched image joined after the last update
        self.thread = threading.Thread(
            target=run_trainer, args=(self,), name=f"phenosort-live-{model}", daemon=True
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
                if self.settle_cancel is not None:  # that training's labels are stale
                    self.settle_cancel.set()
            self.last_call = time.monotonic()
            self._changed()

    # ------------------------------------------------------------------ the worker
    def start(self) -> None:
        """Start the worker thread (:func:`.trainer.run_trainer`)."""
        self.thread.start()

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
            if self.settle_cancel is not None:
                self.settle_cancel.set()
            log.info("live session %s of %r: %s", self.id, self.model, reason)
            self._changed()
