"""``Client``: the phenosort gRPC service from Python, numpy in and out.

It mirrors :class:`phenosort.classifier.ObjectClassifier` for a model held by a server
(``phenosort serve``): the model store, training sets and training jobs, and prediction.
The channel, uploads and error mapping are :class:`~.connection.Connection`'s; live sessions
are in :mod:`.live`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from .. import remote_training
from ..classifier import Explanation, Sample
from ..errors import Cancelled, InvalidInputError
from ..model.metrics import warn_if_chance
from ..remote_training import FitResult, SampleLoader
from ..v1 import phenosort_pb2 as pb
from .connection import Connection, ImageArg, RemoteError, class_field
from .live import LiveSession
from .messages import (
    ModelInfo,
    RemotePrediction,
    Suggestion,
    TrainingProgress,
    explanation_of,
    training_set_summary,
)


class Client(Connection):
    """Connection to a phenosort server; use as a context manager to close the channel.

    Parameters
    ----------
    address : str
        ``host:port`` of ``phenosort serve``.
    token : str, optional
        Bearer token the server was started with.
    tls_ca : path, optional
        PEM root certificate of the server; TLS is used when given.
    timeout : float, optional
        Deadline in seconds of each call (none for watching a training job).
    max_message_bytes, chunk_bytes : int
        Largest gRPC message, and the size of upload chunks.

    Examples
    --------
    >>> with Client("127.0.0.1:50051") as c:                                   # doctest: +SKIP
    ...     c.create_model("cells", ["dim", "bright"], train_epochs=20)
    ...     c.add_training_data("cells", image, labels, {12: 1, 40: 2}, axes="YX")
    ...     metrics = c.train("cells", progress=print)
    ...     pred = c.predict("cells", image, labels, axes="YX")
    """

    # ------------------------------------------------------------------ server
    def server_info(self) -> dict:
        """Versions, device, networks and limits of the server."""
        msg = self._call("GetServerInfo", pb.GetServerInfoRequest())
        info = {}
        for field in msg.DESCRIPTOR.fields:
            value = getattr(msg, field.name)
            info[field.name] = value if isinstance(value, (str, int)) else list(value)
        return info

    # ------------------------------------------------------------------ models
    def create_model(self, name: str, class_names: Sequence[str], **settings) -> ModelInfo:
        """A new, untrained model; ``settings`` are ModelConfig fields (``train_epochs=30``)."""
        request = pb.CreateModelRequest(
            name=name, class_names=list(class_names), settings_json=json.dumps(settings)
        )
        return ModelInfo.of(self._call("CreateModel", request))

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo.of(m) for m in self._call("ListModels", pb.ListModelsRequest()).models]

    def get_model(self, name: str, version: int = 0) -> ModelInfo:
        """A model (metadata of ``version``; 0: the latest)."""
        return ModelInfo.of(self._call("GetModel", pb.GetModelRequest(name=name, version=version)))

    def delete_model(self, name: str, version: int = 0) -> None:
        """Delete one version, or (0) the whole model with its training set."""
        self._call("DeleteModel", pb.DeleteModelRequest(name=name, version=version))

    def export_model(
        self,
        name: str,
        path: str | os.PathLike,
        version: int = 0,
        *,
        overwrite: bool = False,
        report: bool = False,
    ) -> Path:
        """Write a version (0: latest) as a model file, as ``ObjectClassifier.save`` does;
        with ``report``, also its training report as ``<stem>.report.html`` beside it
        (:meth:`training_report`)."""
        from ..report import default_report_path

        path = Path(path)
        page_path = default_report_path(path) if report else None
        for target in (path, page_path):
            if target is not None and target.exists() and not overwrite:
                raise InvalidInputError(f"{target} already exists; choose another path")
        path.parent.mkdir(parents=True, exist_ok=True)  # as ObjectClassifier.save
        part = path.with_name(f".{path.name}.part")  # never a half-written model file
        request = pb.ExportModelRequest(name=name, version=version)
        try:
            with open(part, "wb") as fh:
                for chunk in self._stream("ExportModel", request):
                    fh.write(chunk.data)
            if path.exists() and not overwrite:
                raise InvalidInputError(f"{path} appeared while exporting; not overwritten")
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
        if page_path is not None:
            page_path.write_text(self.training_report(name, version), encoding="utf-8")
        return path

    def training_report(self, name: str, version: int = 0) -> str:
        """The training report of a version (0: latest) as one self-contained HTML page: the
        one stored when the server trained it (with its labelled objects' gallery), else
        rebuilt from the model file (see ``phenosort info --report``)."""
        request = pb.ExportModelRequest(name=name, version=version)
        data = b"".join(chunk.data for chunk in self._stream("GetTrainingReport", request))
        return data.decode("utf-8")

    def import_model(self, path: str | os.PathLike, name: str) -> ModelInfo:
        """Add a model file (from ``ObjectClassifier.save`` or :meth:`export_model`) as ``name``."""

        def chunks():
            with open(path, "rb") as fh:
                first = True
                while (data := fh.read(self.chunk_bytes)) or first:
                    yield pb.FileChunk(name=name if first else "", data=data)
                    first = False

        if not Path(path).is_file():
            raise InvalidInputError(f"model file {path} does not exist")
        return ModelInfo.of(self._call("ImportModel", chunks()))

    # ------------------------------------------------------------------ training
    def add_training_data(
        self,
        model: str,
        image: ImageArg,
        labels: ImageArg,
        annotations: Mapping[int, int | str],
        *,
        axes: str,
        voxel_size: Sequence[float] | None = None,
        name: str = "",
        replace: bool = False,
    ) -> dict:
        """Add an image's annotated objects (label ID -> class index 1..K or class name).

        Returns ``{"n_images": int, "counts": {class name: annotated objects}}``.
        """
        notes = [pb.Annotation(label=int(label), **class_field(value))
                 for label, value in annotations.items()]  # fmt: skip
        request = pb.AddTrainingDataRequest(
            model=model,
            image=self._input(image, labels, axes, voxel_size, name),
            annotations=notes,
            replace=replace,
        )
        n_images, counts = training_set_summary(self._call("AddTrainingData", request))
        return {"n_images": n_images, "counts": counts}

    def start_training(self, model: str, *, continue_training: bool = False, **settings) -> str:
        """Start a background training job (``settings`` override this run); returns its id."""
        request = pb.StartTrainingRequest(
            model=model, settings_json=json.dumps(settings), continue_training=continue_training
        )
        return self._call("StartTraining", request).job_id

    def watch(self, job_id: str) -> Iterator[TrainingProgress]:
        """Every event of a job, past ones first (re-attachable), until it ends."""
        stream = self._stream(
            "WatchTraining", pb.WatchTrainingRequest(job_id=job_id), deadline=False
        )
        for msg in stream:
            event = TrainingProgress.of(msg)
            yield event
            if event.done:
                stream.close()
                return

    def cancel(self, job_id: str) -> str:
        """Ask a job to stop; returns its state after the request."""
        job = self._call("CancelTraining", pb.CancelTrainingRequest(job_id=job_id))
        return pb.JobState.Name(job.state).removeprefix("JOB_STATE_")

    def train(
        self,
        model: str,
        *,
        progress: Callable[[TrainingProgress], None] | None = None,
        continue_training: bool = False,
        **settings,
    ) -> dict:
        """Train on the model's training set and wait until the job ends.

        Returns ``{"validation": metrics or None, "version": new version, "symmetry",
        "assessment", "estimate", "decisions", "warning", "better_than_chance"}`` (see the
        proto's ``TrainingProgress``); a model that learnt nothing that shows also raises a
        :class:`~phenosort.errors.ChanceLevelWarning`. Raises :class:`Cancelled`, or
        :class:`RemoteError` (``JOB_FAILED``, with the server's reason) when the job does
        not succeed.
        """
        job_id = self.start_training(model, continue_training=continue_training, **settings)
        last = None
        try:
            for last in self.watch(job_id):
                if progress is not None:
                    progress(last)
        except KeyboardInterrupt:  # as in-process: Ctrl-C stops the training, not just the wait
            self.cancel(job_id)
            raise
        if last is None or not last.done:
            raise RemoteError("UNKNOWN", f"training job {job_id} ended without a final state")
        if last.state == "CANCELLED":
            raise Cancelled(f"training job {job_id} of {model!r} was cancelled")
        if last.state == "FAILED":
            raise RemoteError("JOB_FAILED", f"training of {model!r} failed: {last.message}")
        result = {"validation": None, "version": last.version, **(last.metrics or {})}
        result.update(
            decisions=last.decisions,
            warning=last.warning,
            better_than_chance=last.better_than_chance,
        )
        warn_if_chance(result.get("assessment"))
        return result

    def fit(
        self,
        name: str,
        samples: Iterable[Sample] | SampleLoader,
        *,
        class_names: Sequence[str] | None = None,
        settings: Mapping[str, object] | None = None,
        from_file: str | os.PathLike[str] | None = None,
        progress: Callable[[TrainingProgress], None] | None = None,
        export: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> FitResult:
        """Train model ``name`` on these annotated images, creating it when needed: the
        whole workflow of ``phenosort train --server`` in one call.

        The model is the server's, else ``from_file`` imported as ``name`` (then trained on
        from its weights), else created with ``class_names`` and ``settings``. ``samples``
        (:class:`~phenosort.classifier.Sample`; class indices refer to ``class_names``, or
        the existing model's classes) replace the annotations these images had in its
        training set; or give a loader, called with the class names to use (None for a new
        model), that returns ``(samples, class_names)``. Annotation classes that differ
        from an existing model's raise. ``settings`` apply to this run when the model
        existed. ``progress`` gets every :class:`TrainingProgress`; ``export`` writes the
        new version to a file; ``log`` gets a line per step (created, training set,
        version, exported). Returns a :class:`~phenosort.remote_training.FitResult`.
        """
        return remote_training.fit(
            self, name, samples, class_names=class_names, settings=settings, from_file=from_file,
            progress=progress, export=export, overwrite=overwrite, log=log,
        )  # fmt: skip

    # ------------------------------------------------------------------ prediction
    def predict(
        self,
        model: str,
        image: ImageArg,
        labels: ImageArg,
        *,
        axes: str,
        voxel_size: Sequence[float] | None = None,
        label_ids: Sequence[int] | None = None,
        version: int = 0,
        class_map: bool = True,
        confidence_map: bool = False,
        class_masks: bool = False,
    ) -> RemotePrediction:
        """Classify every object (or ``label_ids``); output images stream back in chunks."""
        request = pb.PredictRequest(
            model=model,
            version=version,
            image=self._input(image, labels, axes, voxel_size),
            label_ids=[int(i) for i in (label_ids if label_ids is not None else ())],
            class_map=class_map,
            confidence_map=confidence_map,
            class_masks=class_masks,
        )
        return RemotePrediction.of(self._stream("Predict", request), class_masks=class_masks)

    def live_session(
        self,
        model: str,
        *,
        classes: Sequence[str] | None = None,
        include_training_set: bool = False,
        idle_timeout: float = 0.0,
        attach: bool = False,
        **live_settings,
    ) -> LiveSession:
        """Open (or, with ``attach``, re-join) the live session of ``model``.

        ``classes``: the model's classes then any new ones (the only way to add a class);
        ``live_settings``: ``steps``, ``steps_after_change``, ``max_wait_s``, ``batch_size``,
        ``lr``, ``seed``, ``settle``, ``settle_after_s`` (see the proto). Add images with
        :meth:`LiveSession.add_image`.
        """
        request = pb.OpenLiveSessionRequest(
            model=model,
            classes=list(classes or ()),
            live_settings_json=json.dumps(live_settings),
            include_training_set=include_training_set,
            idle_timeout_s=idle_timeout,
            attach=attach,
        )
        return LiveSession(self, self._call("OpenLiveSession", request))

    def suggest(
        self,
        model: str,
        image: ImageArg,
        labels: ImageArg,
        n: int = 10,
        *,
        axes: str,
        voxel_size: Sequence[float] | None = None,
        exclude: Sequence[int] = (),
        version: int = 0,
    ) -> list[Suggestion]:
        """The ``n`` objects most worth labelling next (see :meth:`Prediction.suggest`)."""
        request = pb.SuggestRequest(
            model=model,
            version=version,
            image=self._input(image, labels, axes, voxel_size),
            n=n,
            exclude=[int(i) for i in exclude],
        )
        found = self._call("Suggest", request).suggestions
        return [Suggestion(s.label, s.predicted_class, s.margin) for s in found]

    def gallery(
        self,
        model: str,
        image: ImageArg,
        labels: ImageArg,
        *,
        axes: str,
        voxel_size: Sequence[float] | None = None,
        name: str = "image",
        per_class: int = 48,
        least_certain: int = 24,
        tile_size: int = 96,
        columns: int = 8,
        version: int = 0,
    ):
        """The class gallery of one image, drawn by the server: a
        :class:`phenosort.gallery.Gallery` as :meth:`Prediction.gallery` returns it
        (``.save(folder)``, ``.manifest()``); ``least_certain=0`` leaves that montage out."""
        from ..service.galleries import gallery_from_messages

        request = pb.GalleryRequest(
            model=model,
            version=version,
            image=self._input(image, labels, axes, voxel_size, name),
            per_class=per_class,
            least_certain=least_certain,
            no_least_certain=least_certain == 0,
            tile_size=tile_size,
            columns=columns,
        )
        return gallery_from_messages(list(self._stream("Gallery", request)))

    def explain(
        self,
        model: str,
        image: ImageArg,
        labels: ImageArg,
        label_id: int,
        *,
        axes: str,
        voxel_size: Sequence[float] | None = None,
        class_index: int | None = None,
        version: int = 0,
    ) -> Explanation:
        """Grad-CAM of one object for ``class_index`` (1..K; default: its predicted class)."""
        request = pb.ExplainRequest(
            model=model,
            version=version,
            image=self._input(image, labels, axes, voxel_size),
            label=int(label_id),
            class_index=int(class_index or 0),
        )
        return explanation_of(self._call("Explain", request), label_id)
