"""Background training jobs: one at a time per model, progress kept for re-attaching.

A :class:`Job` records every :class:`TrainingProgress` event it produced, so a watcher that
connects late (or reconnects) first gets the whole history, then follows live events until
the job ends. Jobs live in memory: a restarted server knows the versions they wrote, not
the jobs themselves.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator

from ..classifier import ObjectClassifier
from ..errors import Cancelled, InvalidInputError, NotFoundError, PhenosortError, PreconditionError
from ..jsonutil import dumps
from ..model.config import ModelConfig
from ..v1 import phenosort_pb2 as pb
from .registry import ModelRegistry

log = logging.getLogger("phenosort.service")

TERMINAL = (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED)
_KEEP_FINISHED = 100  # finished jobs remembered for late watchers


class Job:
    """State, progress history and cancel flag of one training run."""

    def __init__(self, model: str) -> None:
        self.id = uuid.uuid4().hex
        self.model = model
        self.state = pb.JOB_STATE_QUEUED
        self.version = 0
        self.message = ""
        self.events: list[pb.TrainingProgress] = []
        self.cancel_event = threading.Event()
        self.condition = threading.Condition()
        self.thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self.state in TERMINAL

    def snapshot(self) -> pb.TrainingJob:
        """The job's current state as a message."""
        return pb.TrainingJob(
            job_id=self.id,
            model=self.model,
            state=self.state,
            version=self.version,
            message=self.message,
        )

    def publish(
        self, state: pb.JobState | None = None, *, message: str = "", version: int = 0, **fields
    ):
        """Change state (optionally) and append one progress event; wakes the watchers."""
        with self.condition:
            if state is not None:
                self.state = state
            self.message = message or self.message
            self.version = version or self.version
            self.events.append(pb.TrainingProgress(job=self.snapshot(), **fields))
            self.condition.notify_all()

    def watch(self, is_active: Callable[[], bool] = lambda: True) -> Iterator[pb.TrainingProgress]:
        """Every event so far, then new ones until the job ends or ``is_active()`` is False."""
        sent = 0
        while True:
            with self.condition:
                while sent == len(self.events) and not self.done:
                    if not is_active():
                        return
                    self.condition.wait(0.5)  # wake up now and then to notice a gone client
                pending = self.events[sent:]
                finished = self.done and sent + len(pending) == len(self.events)
            yield from pending
            sent += len(pending)
            if finished:
                return


class JobManager:
    """Starts, tracks and cancels the training jobs of a :class:`ModelRegistry`.

    Parameters
    ----------
    registry : ModelRegistry
        The models to train and where new versions go.
    max_running : int
        Jobs that train at the same time; later ones wait in ``JOB_STATE_QUEUED``.
    """

    def __init__(self, registry: ModelRegistry, max_running: int = 2) -> None:
        self.registry = registry
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_running)
        self._closing = False

    def get(self, job_id: str) -> Job:
        """The job ``job_id``; :class:`NotFoundError` when unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"no training job {job_id!r} on this server (finished jobs are "
                "forgotten when the server restarts)"
            )
        return job

    def active(self, model: str) -> Job | None:
        """The queued or running job of ``model``, if any."""
        with self._lock:
            return self._active(model)

    def _active(self, model: str) -> Job | None:
        return next((j for j in self._jobs.values() if j.model == model and not j.done), None)

    def start(self, model: str, settings: dict, continue_training: bool = False) -> Job:
        """Validate and queue a training run of ``model`` with per-run ``settings``.

        Everything that can fail is checked before the job is registered: a refused request
        never leaves a queued job behind that would lock the model.
        """
        spec = self.registry.spec(model)
        weights = self.registry.weights
        # settings stored with the model (or imported) are checked like the request's
        config = ModelConfig.from_dict(weights.resolve({**spec["settings"], **settings}))
        settings = weights.resolve(settings)
        summary = self.registry.summary(model)
        if summary.n_images == 0:
            raise PreconditionError(
                f"the training set of model {model!r} is empty: add annotated images first "
                "(AddTrainingData)"
            )
        if sum(c.count > 0 for c in summary.counts) < 2:
            raise PreconditionError(
                f"the training set of model {model!r} has objects of only one class: annotate "
                "objects of at least 2 classes"
            )
        if continue_training:  # FAILED_PRECONDITION when untrained
            latest = self.registry.metadata(model, self.registry.resolve_version(model))
            fixed = ModelConfig.fixed_changes(latest["config"], settings)
            if fixed:
                raise InvalidInputError(
                    f"continue_training keeps the network, patches and normalisation of the "
                    f"latest version; these settings cannot change: {', '.join(fixed)}"
                )
        job = Job(model)
        job.publish(n_epochs=config.most_epochs)  # before registering: may not fail after
        job.thread = threading.Thread(
            target=self._run,
            args=(job, spec["class_names"], settings, config, continue_training),
            name=f"phenosort-train-{model}",
            daemon=True,
        )
        with self._lock:
            if self._closing:
                raise PreconditionError("the server is shutting down")
            running = self._active(model)
            if running is not None:
                raise PreconditionError(
                    f"model {model!r} is training already (job {running.id}); watch or cancel it"
                )
            self._jobs[job.id] = job
            self._forget_old()
        try:
            job.thread.start()
        except Exception:  # no thread (out of resources): the job must not stay queued
            job.publish(pb.JOB_STATE_FAILED, message="the server could not start the job")
            raise
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.done]
        for job in finished[: max(0, len(finished) - _KEEP_FINISHED)]:
            del self._jobs[job.id]

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop; it ends in ``JOB_STATE_CANCELLED`` (no-op when finished)."""
        job = self.get(job_id)
        job.cancel_event.set()
        return job

    def _run(self, job: Job, class_names, settings, config, continue_training) -> None:
        while not self._slots.acquire(timeout=0.2):  # queued: stay cancellable
            if job.cancel_event.is_set():
                job.publish(pb.JOB_STATE_CANCELLED, message="training was cancelled while queued")
                return
        try:
            self._train(job, class_names, settings, config, continue_training)
        finally:
            self._slots.release()

    def _train(self, job: Job, class_names, settings, config, continue_training) -> None:
        registry = self.registry
        if registry.device != "auto":
            config = config.updated(device=registry.device)
        job.publish(pb.JOB_STATE_RUNNING, n_epochs=config.most_epochs)
        try:
            samples = registry.samples(job.model)
            if continue_training:  # a private copy: cached classifiers keep serving
                clf = registry.store.load(job.model)
                device = {} if registry.device == "auto" else {"device": registry.device}
                clf.config = clf.config.updated(**{**settings, **device})
            else:
                clf = ObjectClassifier(class_names, config)
            from ..model.symmetry import ProbeEpoch  # torch is loaded by now

            last, total = 0, config.most_epochs
            for event in clf.fit_events(
                samples, warm_start=continue_training, cancel=job.cancel_event
            ):
                if isinstance(event, ProbeEpoch):  # the symmetry probes, before training
                    job.publish(n_epochs=total, probe=pb.ProbeProgress(**vars(event)))
                    continue
                last, total = event.epoch, event.n_epochs  # pseudo-labels add a round
                has_val = event.val_loss is not None
                job.publish(
                    epoch=event.epoch,
                    n_epochs=event.n_epochs,
                    train_loss=event.train_loss,
                    train_accuracy=event.train_accuracy,
                    has_validation=has_val,
                    val_loss=event.val_loss or 0.0,
                    val_accuracy=event.val_accuracy or 0.0,
                    val_macro_f1=event.val_macro_f1 or 0.0,
                    seconds=event.seconds,
                )
            if job.cancel_event.is_set():
                raise Cancelled("training was cancelled")
            version = registry.store.save(job.model, clf)
            # before success is published: a client that asks for it then gets this one
            from .reports import write_training_report

            title = f"{job.model} version {version}"
            write_training_report(registry.store.path(job.model, version), title, clf, samples)
        except Cancelled:
            job.publish(pb.JOB_STATE_CANCELLED, message="training was cancelled")
            return
        except PhenosortError as exc:
            job.publish(pb.JOB_STATE_FAILED, message=str(exc))
            return
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception(
                "training job %s of model %r failed (error id %s)", job.id, job.model, error_id
            )
            message = f"internal error while training (error id {error_id}, see server log)"
            job.publish(pb.JOB_STATE_FAILED, message=message)
            return
        # imported here: importing torch when the server starts costs ~25 MiB of peak memory
        # later on (tests/service/test_memory.py)
        from ..model.norm_choice import describe as describe_ranges
        from ..model.symmetry import describe

        symmetry, assessment = clf.symmetry or {}, clf.assessment or {}
        metrics = {
            "validation": clf.validation,
            "version": version,
            "symmetry": clf.symmetry,
            "assessment": clf.assessment,
            "estimate": symmetry.get("estimate"),
        }
        job.publish(
            pb.JOB_STATE_SUCCEEDED,
            version=version,
            epoch=last,
            n_epochs=total,
            metrics_json=dumps(metrics),  # a NaN loss is null: JSON.parse must work
            decisions="; ".join(
                line
                for line in (describe(clf.symmetry), describe_ranges(symmetry.get("normalization")))
                if line
            ),
            warning=assessment.get("warning", ""),
            better_than_chance=bool(assessment.get("better_than_chance", False)),
        )
        if assessment.get("warning"):
            log.warning("model %r version %d: %s", job.model, version, assessment["warning"])

    def shutdown(self, timeout: float | None = 30.0) -> None:
        """Cancel every job and wait for their threads (a version is saved whole or not)."""
        with self._lock:
            self._closing = True
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel_event.set()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout)
