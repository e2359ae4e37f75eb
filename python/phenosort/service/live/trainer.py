"""The worker of a live session: the one thread that trains its live model.

It sleeps on the session's condition variable until the labels change, the session closes or
(only while no watch stream is open) the idle timeout falls due. A round then makes a quick
update (the last layer alone, refitted on cached features), trains on the latest labels
(re-reading the label set between steps, so changes that arrive meanwhile join this round),
predicts the watched images and publishes the update. A prediction made stale by a newer
change is cancelled, unless the last update is older than ``max_wait_s``.

A watched image added to a session that has a model is predicted at once, without training.
Once the labels have not changed for ``settle_after_s``, a full training on them runs
(:mod:`phenosort.model.live_settle`; a change cancels it between batches), the live model
adopts its classifier, and its update says ``settled``; then the worker sleeps.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING

import numpy as np

from ...errors import Cancelled
from ...model.live_head import margins
from ...model.live_settle import full_training
from ...v1 import phenosort_pb2 as pb

if TYPE_CHECKING:
    from .session import LiveSession

log = logging.getLogger("phenosort.service")

STEP_CHUNK = 2  # steps between looks at the label set


def run_trainer(session: LiveSession) -> None:
    """The session's worker thread: a round of training and prediction whenever the labels
    change, until the session ends; then the session is taken off the server's list."""
    try:
        _import_ahead()
        while True:
            with session.cond:
                work = _wait_for_work(session)
            if work is None:
                break
            if work == "predict":
                _predict_round(session)
            elif work == "settle":
                session.settlings += 1
                _settle(session)
            else:
                session.trainings += 1
                _round(session)
    except Exception:  # a bug must not leave a session that never answers
        error_id = uuid.uuid4().hex[:12]
        log.exception("live session %s of %r failed (error id %s)", session.id, session.model,
                      error_id)  # fmt: skip
        session.close(f"the live trainer failed (error id {error_id}, see the server log)")
    finally:
        session._on_end(session)


def _import_ahead() -> None:
    """Import what the first update needs while the user looks at the image and labels the
    first objects: torch, and torch._dynamo, which torch's optimizers load on their first
    use (1.0-1.3 s on a 2-core CPU, as long as torch's own import)."""
    import torch._dynamo  # noqa: F401


def _wait_for_work(session: LiveSession) -> str | None:
    """Sleep until labels changed ("train"), an added image waits for predictions
    ("predict"), the labels settled ("settle") or the session ends (None); cond held."""
    while True:
        if session.closed:
            return None
        if session.trained_version < session.labels_version:
            if session._n_classes_labelled() >= 2:
                return "train"
            session.trained_version = session.settled_version = session.labels_version
            session.updated_version = session.full_version = session.labels_version
            session._changed()  # WAITING: watchers see the new counts
            continue
        timeout = None
        if session.watchers == 0:
            timeout = session.last_call + session.idle_timeout_s - time.monotonic()
            if timeout <= 0:
                session._close_locked(
                    f"closed after {session.idle_timeout_s:g} s without a call or a watcher"
                )
                return None
        if session.predict_due:
            return "predict"
        if session.settings.settle and session.settled_version < session.trained_version:
            due = session.change_time + session.settings.settle_after_s - time.monotonic()
            if due <= 0:
                return "settle"
            timeout = due if timeout is None else min(timeout, due)
        session.cond.wait(timeout)


def _snapshot(session: LiveSession) -> tuple[int, dict[str, dict[int, int]], float]:
    """``(labels version, a copy of the labels, time of the last change)``."""
    with session.cond:
        labels = {k: dict(v) for k, v in session.labels.items()}
        return session.labels_version, labels, session.change_time


def _round(session: LiveSession) -> None:
    """Train on the latest labels (absorbing changes between steps), then predict the
    watched images unless a newer change made the prediction stale."""
    s = session.settings
    with session.engine_lock:
        version, labels, changed_at = _snapshot(session)
        if len({k for v in labels.values() for k in v.values()}) < 2:
            return
        if session.engine.ready and session.engine.quick_ready():
            start = time.perf_counter()
            quick = session.engine.quick_predict(labels)
            images = [_image_message(k, ids, p, labels) for k, (ids, p) in quick.items()]
            _publish(session, images, version, changed_at, quick=True,
                     predict_seconds=time.perf_counter() - start)  # fmt: skip
        start = time.perf_counter()
        session.engine.set_labels(labels)
        done, since_change, losses, accs = 0, 0, [], []
        while done < s.steps or since_change < s.steps_after_change:
            if session.closed:
                return
            newest, _, _ = _peek(session)
            if newest != version:
                version, labels, changed_at = _snapshot(session)
                if len({k for v in labels.values() for k in v.values()}) < 2:
                    return  # the worker sees the WAITING state next
                session.engine.set_labels(labels)
                since_change = 0
                if done >= 4 * s.steps:  # a user who never pauses still gets updates
                    break
            n = min(STEP_CHUNK, max(s.steps - done, s.steps_after_change - since_change, 1))
            stats = session.engine.train_steps(n)
            done, since_change = done + n, since_change + n
            losses.append(stats.loss * n)
            accs.append(stats.accuracy * n)
        session.engine.refit_head()
        with session.cond:
            session.trained_version = version
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        try:
            images = _predict(session, version, labels)
        except Cancelled:
            return  # stale: the next round starts at once with the newer labels
        predict_s = time.perf_counter() - start
    _publish(
        session,
        images,
        version,
        changed_at,
        train_seconds=train_s,
        predict_seconds=predict_s,
        steps=done,
        train_loss=sum(losses) / max(done, 1),
        train_accuracy=sum(accs) / max(done, 1),
    )


def _predict_round(session: LiveSession) -> None:
    """Predictions of every watched image with the current weights (an image joined)."""
    with session.engine_lock:
        _, labels, changed_at = _snapshot(session)
        with session.cond:
            version = session.trained_version  # the labels the weights reflect
        start = time.perf_counter()
        try:
            images = _predict(session, version, labels)
        except Cancelled:
            return  # a change came: the training round predicts the new image too
        predict_s = time.perf_counter() - start
    _publish(session, images, version, changed_at, predict_seconds=predict_s,
             settled=session.settled_version == version)  # fmt: skip


def _settle(session: LiveSession) -> None:
    """A full training on the settled labels, adopted by the live model and published; a
    label change (or the session's end) cancels it between batches."""
    with session.engine_lock:
        version, labels, changed_at = _snapshot(session)
        cancel = threading.Event()
        with session.cond:
            if session.closed or session.trained_version != version:
                return  # changed since the worker woke: train on the change first
            session.settle_cancel = cancel
        start = time.perf_counter()
        try:
            clf = full_training(session.engine, labels, cancel)
        except Cancelled:
            return
        finally:
            with session.cond:
                session.settle_cancel = None
        with session.cond:
            if session.labels_version != version:
                return  # a change came as it finished: the next round trains on it
            session.settled_version = version
        session.engine.adopt(clf, labels)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        try:
            images = _predict(session, version, labels)
        except Cancelled:
            return
        predict_s = time.perf_counter() - start
    last = clf.history[-1] if clf.history else {}
    estimate = clf.assessment or {}
    _publish(session, images, version, changed_at, train_seconds=train_s,
             predict_seconds=predict_s, settled=True, train_loss=last.get("train_loss", 0.0),
             train_accuracy=last.get("train_accuracy", 0.0),
             estimate_source=estimate.get("source", ""),
             estimate_balanced_accuracy=estimate.get("balanced_accuracy", 0.0),
             estimate_verdict=estimate.get("verdict", ""))  # fmt: skip


def _publish(session: LiveSession, images, version: int, changed_at: float, **fields) -> None:
    """Make an update the latest one and wake the watchers."""
    with session.cond:
        session.sequence += 1
        session.updated_version = version
        if not fields.get("quick"):
            session.full_version = version
        session.latest = pb.LiveUpdate(
            sequence=session.sequence,
            images=images,
            latency_seconds=time.monotonic() - changed_at,
            total_steps=session.engine.total_steps,
            **fields,
        )
        session.latest_time = time.monotonic()
        session._changed()


def _peek(session: LiveSession) -> tuple[int, float, float]:
    with session.cond:
        return session.labels_version, session.change_time, session.latest_time


def _predict(session: LiveSession, version: int, labels: dict[str, dict[int, int]]):
    def stale() -> bool:
        newest, _, latest_time = _peek(session)
        fresh_enough = time.monotonic() - latest_time < session.settings.max_wait_s
        return session.closed or (newest != version and fresh_enough)

    with session.cond:  # an image added after this line sets predict_due again
        session.predict_due = False
        watched = [key for key, image in session.images.items() if image.watch]
    out = []
    for key in watched:
        ids, probs = session.engine.predict(key, cancel=stale)
        out.append(_image_message(key, ids, probs, labels))
    return out


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
