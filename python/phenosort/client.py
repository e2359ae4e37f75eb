"""``Client``: the phenosort gRPC service from Python, numpy in and out.

It mirrors :class:`phenosort.classifier.ObjectClassifier` for a model held by a server
(``phenosort serve``). Images are uploaded once, in chunks, under a content id computed here
exactly as the server computes it; later requests on the same image send only that id.
Server errors become :mod:`phenosort.errors` exceptions carrying the server's message.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from . import remote_training
from .classifier import Explanation, Sample
from .errors import (
    Cancelled,
    InvalidInputError,
    ModelFileError,
    ModelNotFoundError,
    PhenosortError,
)
from .model.metrics import warn_if_chance
from .remote_training import FitResult, SampleLoader
from .results import Prediction, probability_columns
from .service import codec
from .v1 import phenosort_pb2 as pb
from .v1 import phenosort_pb2_grpc as pb_grpc

__all__ = [
    "Client",
    "FitResult",
    "LiveImageResult",
    "LiveSession",
    "LiveUpdate",
    "ModelInfo",
    "RemoteError",
    "RemotePrediction",
    "Suggestion",
    "TrainingProgress",
]


class RemoteError(PhenosortError):
    """A server error without a closer :mod:`phenosort.errors` match.

    Attributes
    ----------
    code : str
        gRPC status code name (``UNAVAILABLE``, ``INTERNAL``...) or ``JOB_FAILED``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code


# status codes whose server message is a user error in the sense of phenosort.errors
_MAPPED = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInputError,
    grpc.StatusCode.ALREADY_EXISTS: InvalidInputError,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidInputError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidInputError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: codec.TensorTooLargeError,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.DATA_LOSS: ModelFileError,
}


def _translate(err: grpc.RpcError, address: str) -> PhenosortError:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    message = (err.details() if hasattr(err, "details") else None) or str(err)
    cls: type[PhenosortError] | None
    if code == grpc.StatusCode.NOT_FOUND:
        # a missing model or version; anything else (a tensor, a label) is an input error
        cls = ModelNotFoundError if "model" in message.lower() else InvalidInputError
    elif code == grpc.StatusCode.UNAVAILABLE:
        return RemoteError(code.name, f"cannot reach the phenosort server at {address}: {message}")
    else:
        cls = _MAPPED.get(code)
    if cls is None:
        return RemoteError(code.name, message)
    exc = cls(message)
    exc.code = code.name
    return exc


@dataclass(frozen=True)
class ModelInfo:
    """A server-side model: classes, trained versions, settings, training set counts."""

    name: str
    class_names: list[str]
    versions: list[int]
    settings: dict
    metadata: dict | None
    n_images: int
    counts: dict[str, int]

    @classmethod
    def of(cls, msg: pb.ModelInfo) -> ModelInfo:
        n_images, counts = _summary(msg.training_set)
        return cls(
            msg.name,
            list(msg.class_names),
            list(msg.versions),
            json.loads(msg.settings_json or "{}"),
            json.loads(msg.metadata_json) if msg.metadata_json else None,
            n_images,
            counts,
        )


def _summary(msg: pb.TrainingSetSummary) -> tuple[int, dict[str, int]]:
    return msg.n_images, {c.class_name: int(c.count) for c in msg.counts}


@dataclass(frozen=True)
class TrainingProgress:
    """One event of a training job; validation fields are None without a validation set.

    ``metrics`` (the final validation report) is set on the last event of a finished job.
    """

    job_id: str
    model: str
    state: str  # QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED
    epoch: int
    n_epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    val_macro_f1: float | None
    seconds: float
    version: int
    message: str
    metrics: dict | None
    decisions: str = ""  # at the end: the symmetries kept or left out, and why
    warning: str = ""  # at the end: why the model is not shown to beat chance
    better_than_chance: bool = False

    @property
    def done(self) -> bool:
        return self.state in ("SUCCEEDED", "FAILED", "CANCELLED")

    @property
    def is_epoch(self) -> bool:
        """A finished epoch (its losses are meaningful); the job's first events and its final
        state carry no epoch of their own."""
        return self.state == "RUNNING" and self.epoch > 0

    @classmethod
    def of(cls, msg: pb.TrainingProgress) -> TrainingProgress:
        val = msg.has_validation
        return cls(
            msg.job.job_id,
            msg.job.model,
            pb.JobState.Name(msg.job.state).removeprefix("JOB_STATE_"),
            msg.epoch,
            msg.n_epochs,
            msg.train_loss,
            msg.train_accuracy,
            msg.val_loss if val else None,
            msg.val_accuracy if val else None,
            msg.val_macro_f1 if val else None,
            msg.seconds,
            msg.job.version,
            msg.job.message,
            json.loads(msg.metrics_json) if msg.metrics_json else None,
            msg.decisions,
            msg.warning,
            msg.better_than_chance,
        )


@dataclass(frozen=True)
class Suggestion:
    """An object worth labelling next: its ID, predicted class (1..K) and top-2 margin."""

    label: int
    predicted_class: int
    margin: float


@dataclass(frozen=True)
class RemotePrediction:
    """Per-object results of a server prediction, and the output images asked for.

    ``probabilities`` is (N, K) float32 in ``label_id`` order; maps are None unless
    requested. :meth:`to_prediction` adds the object geometry from the local mask.
    """

    label_id: np.ndarray
    class_index: np.ndarray
    class_names: list[str]
    probabilities: np.ndarray
    confidence: np.ndarray
    in_training_set: np.ndarray
    class_map: np.ndarray | None = None
    confidence_map: np.ndarray | None = None
    class_masks: dict[str, np.ndarray] | None = None

    def columns(self) -> dict[str, np.ndarray]:
        """The keys of :meth:`Prediction.columns` except geometry (centroid, bbox, size)."""
        return probability_columns(
            self.label_id, self.probabilities, list(self.class_names), self.in_training_set
        )

    def to_prediction(self, labels: np.ndarray) -> Prediction:
        """A full :class:`~phenosort.results.Prediction` (geometry, maps, ROIs) painted from
        ``labels``, the mask that was predicted."""
        from .objects.table import LabelIndex, object_table_of

        index = LabelIndex.of(labels)
        table = object_table_of(index)
        table = table.subset(table.rows(self.label_id))
        return Prediction(
            self.probabilities, list(self.class_names), self.in_training_set, table, index
        )


def _native(array: np.ndarray) -> np.ndarray:
    """Native byte order (no copy on little-endian machines)."""
    return array.astype(array.dtype.newbyteorder("="), copy=False)


ImageArg = np.ndarray | str  # an array, or the content id of an uploaded one


class Client:
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

    def __init__(
        self,
        address: str = "127.0.0.1:50051",
        *,
        token: str | None = None,
        tls_ca: str | os.PathLike | None = None,
        timeout: float | None = None,
        max_message_bytes: int = 64 << 20,
        chunk_bytes: int = 2 << 20,
    ) -> None:
        self.address, self.timeout, self.chunk_bytes = address, timeout, int(chunk_bytes)
        options = [
            ("grpc.max_send_message_length", int(max_message_bytes)),
            ("grpc.max_receive_message_length", int(max_message_bytes)),
        ]
        if tls_ca is not None:
            creds = grpc.ssl_channel_credentials(Path(tls_ca).read_bytes())
            self._channel = grpc.secure_channel(address, creds, options)
        else:
            self._channel = grpc.insecure_channel(address, options)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._stub = pb_grpc.ObjectClassifierStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _call(self, method: str, request, *, deadline: bool = True):
        """Call a unary RPC (or start a stream); gRPC errors become phenosort errors."""
        timeout = self.timeout if deadline else None
        try:
            return getattr(self._stub, method)(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise _translate(err, self.address) from None

    def _stream(self, method: str, request, *, deadline: bool = True) -> Generator:
        """Iterate a server stream, translating errors raised mid-stream."""
        responses = self._call(method, request, deadline=deadline)
        try:
            yield from responses
        except grpc.RpcError as err:
            raise _translate(err, self.address) from None
        finally:
            responses.cancel()  # no-op when complete; stops the server when abandoned

    def _input(self, image, labels, axes, voxel_size, name="") -> pb.ImageInput:
        labels_axes = "".join(a for a in axes.upper() if a in "ZYX")
        return pb.ImageInput(
            image_id=self.upload(image, axes),
            labels_id=self.upload(labels, labels_axes),
            voxel_size=list(voxel_size or ()),
            name=name,
        )

    # ------------------------------------------------------------------ server and data
    def server_info(self) -> dict:
        """Versions, device, networks and limits of the server."""
        msg = self._call("GetServerInfo", pb.GetServerInfoRequest())
        info = {}
        for field in msg.DESCRIPTOR.fields:
            value = getattr(msg, field.name)
            info[field.name] = value if isinstance(value, (str, int)) else list(value)
        return info

    def upload(self, array: ImageArg, axes: str = "") -> str:
        """Send ``array`` unless the server holds it already; returns its content id.

        A string is taken as the id of an earlier upload and returned as is. At most one
        little-endian C-order copy of ``array`` is made (none when it already is one).
        """
        if isinstance(array, str):
            return array
        wire = codec._wire_array(array)
        digest = hashlib.sha256(wire.reshape(-1).view(np.uint8).data if wire.size else b"")
        cid = codec.content_id(codec.header_of(wire, axes), digest)
        if self._call("HasTensor", pb.TensorRef(id=cid)).present:
            return cid
        chunks = codec.iter_chunks(wire, axes, chunk_bytes=self.chunk_bytes)
        return self._call("UploadTensor", chunks).id

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
        from .report import default_report_path

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
        notes = []
        for label, value in annotations.items():
            if isinstance(value, str) and not value.strip().isdigit():
                notes.append(pb.Annotation(label=int(label), class_name=value))
            else:
                notes.append(pb.Annotation(label=int(label), class_index=int(value)))
        request = pb.AddTrainingDataRequest(
            model=model,
            image=self._input(image, labels, axes, voxel_size, name),
            annotations=notes,
            replace=replace,
        )
        n_images, counts = _summary(self._call("AddTrainingData", request))
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
        names: list[str] = []
        results: list[pb.ObjectResult] = []
        outputs: dict[str, np.ndarray] = {}
        current = None  # (name, assembler) of the output being received
        for response in self._stream("Predict", request):
            if response.HasField("objects"):
                names = names or list(response.objects.class_names)
                results.extend(response.objects.objects)
                continue
            chunk = response.output
            if chunk.HasField("header"):
                if current is not None:
                    outputs[current[0]] = _native(current[1].finish()[0])
                current = (chunk.name, codec.TensorAssembler(chunk.header))
            elif current is None:
                raise RemoteError("DATA_LOSS", "an output chunk came before its header")
            current[1].add(chunk.data)
        if current is not None:
            outputs[current[0]] = _native(current[1].finish()[0])
        k = len(names)
        probabilities = np.array([r.probabilities for r in results], np.float32).reshape(-1, k)
        masks = {n[5:]: a for n, a in outputs.items() if n.startswith("mask:")}
        return RemotePrediction(
            label_id=np.array([r.label for r in results], np.int64),
            class_index=np.array([r.class_index for r in results], np.int64),
            class_names=names,
            probabilities=probabilities,
            confidence=np.array([r.confidence for r in results], np.float32),
            in_training_set=np.array([r.in_training_set for r in results], bool),
            class_map=outputs.get("class_map"),
            confidence_map=outputs.get("confidence_map"),
            class_masks=masks if class_masks else None,
        )

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
        ``lr``, ``seed`` (see the proto). Add images with :meth:`LiveSession.add_image`.
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
        from .service.galleries import gallery_from_messages

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
        r = self._call("Explain", request)
        return Explanation(
            int(label_id),
            r.class_index,
            codec.from_tensor(r.heatmap),
            tuple(int(v) for v in r.offset),
            np.array(r.probabilities, np.float32),
            r.scale,
        )


# ---------------------------------------------------------------------------- live sessions
@dataclass(frozen=True)
class LiveImageResult:
    """The live model's results for every object of one watched image (label ID order)."""

    image_id: str
    label_id: np.ndarray  # (N,) int64: the mask's own IDs
    class_index: np.ndarray  # (N,) 1..K
    probabilities: np.ndarray  # (N, K) float32
    confidence: np.ndarray  # (N,) top probability
    margin: np.ndarray  # (N,) top minus second probability
    labelled: np.ndarray  # (N,) bool: carries a label in the session

    @classmethod
    def of(cls, msg: pb.LiveImagePrediction, k: int) -> LiveImageResult:
        return cls(
            msg.image_id,
            np.array(msg.label_ids, np.int64),
            np.array(msg.class_index, np.int64),
            np.array(msg.probabilities, np.float32).reshape(-1, k),
            np.array(msg.confidence, np.float32),
            np.array(msg.margin, np.float32),
            np.array(msg.labelled, bool),
        )


@dataclass(frozen=True)
class LiveUpdate:
    """One message of a live session's stream.

    ``sequence`` > 0: new predictions for every watched image (``images``); 0: a state
    change only (label counts, closing), ``images`` empty. ``updated_version`` is the labels
    version the predictions reflect; compare it with the version a change returned.
    ``quick``: only the last layer was refitted (a full update follows);
    ``trained_version`` is the labels version of the last full update.
    """

    session_id: str
    state: str  # WAITING, TRAINING, IDLE, CLOSED
    sequence: int
    labels_version: int
    updated_version: int
    n_labels: int
    counts: dict[str, int]
    class_names: list[str]
    images: dict[str, LiveImageResult]
    train_seconds: float
    predict_seconds: float
    latency_seconds: float
    steps: int
    total_steps: int
    train_loss: float
    train_accuracy: float
    message: str
    quick: bool = False
    trained_version: int = 0

    @property
    def closed(self) -> bool:
        return self.state == "CLOSED"

    @classmethod
    def of(cls, msg: pb.LiveUpdate) -> LiveUpdate:
        info = msg.session
        k = len(info.class_names)
        return cls(
            info.session_id,
            pb.LiveState.Name(info.state).removeprefix("LIVE_STATE_"),
            msg.sequence,
            info.labels_version,
            info.updated_version,
            info.n_labels,
            {c.class_name: int(c.count) for c in info.counts},
            list(info.class_names),
            {m.image_id: LiveImageResult.of(m, k) for m in msg.images},
            msg.train_seconds,
            msg.predict_seconds,
            msg.latency_seconds,
            msg.steps,
            msg.total_steps,
            msg.train_loss,
            msg.train_accuracy,
            info.message,
            msg.quick,
            info.trained_version,
        )


class LiveSession:
    """A live classification session on the server (see :meth:`Client.live_session`).

    Send label changes with :meth:`label`, :meth:`set_labels` and :meth:`remove`; each
    returns the session's labels version. Iterate :meth:`updates` for the live model's
    predictions; :meth:`wait` returns the first update that reflects a labels version.
    :meth:`commit` saves the live model as a numbered version; :meth:`close` (or leaving a
    ``with`` block) ends the session.
    """

    def __init__(self, client: Client, info: pb.LiveSessionInfo) -> None:
        self._client = client
        self.id = info.session_id
        self.model = info.model
        self.class_names = list(info.class_names)
        self.labels_version = info.labels_version

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _update(self, **request) -> int:
        reply = self._client._call(
            "UpdateLiveSession", pb.UpdateLiveSessionRequest(session_id=self.id, **request)
        )
        self.labels_version = reply.labels_version
        return reply.labels_version

    def add_image(
        self,
        image: ImageArg,
        labels: ImageArg,
        *,
        axes: str,
        voxel_size: Sequence[float] | None = None,
        name: str = "",
        watch: bool = True,
    ) -> str:
        """Add an image and its mask (uploaded unless the server has them); returns the
        image id that label changes refer to. ``watch``: stream its objects' predictions."""
        live = pb.LiveImage(image=self._client._input(image, labels, axes, voxel_size, name),
                            watch=watch)  # fmt: skip
        self._update(add_images=[live])
        return live.image.image_id

    def remove_image(self, image_id: str) -> int:
        """Drop an image and its labels from the session."""
        return self._update(remove_image_ids=[image_id])

    def set_labels(self, image_id: str, classes: Mapping[int, int | str]) -> int:
        """Label objects (ID -> class name or index 1..K), all in one change; returns the
        labels version. An unknown class name raises (no class is created)."""
        changes = []
        for label, value in classes.items():
            if isinstance(value, str) and not value.strip().isdigit():
                changes.append(pb.LabelChange(image_id=image_id, label=int(label),
                                              class_name=value))  # fmt: skip
            else:
                changes.append(pb.LabelChange(image_id=image_id, label=int(label),
                                              class_index=int(value)))  # fmt: skip
        return self._update(changes=changes)

    def label(self, image_id: str, label: int, value: int | str) -> int:
        """Label one object (or change its class)."""
        return self.set_labels(image_id, {label: value})

    def remove(self, image_id: str, labels: Sequence[int]) -> int:
        """Remove the labels of these objects."""
        changes = [pb.LabelChange(image_id=image_id, label=int(i), remove=True) for i in labels]
        return self._update(changes=changes)

    def updates(self, *, predictions_only: bool = False) -> Iterator[LiveUpdate]:
        """The session's stream: the latest state first, then each update, until the
        session closes (closing the iterator cancels the stream on the server)."""
        request = pb.WatchLiveSessionRequest(session_id=self.id)
        for msg in self._client._stream("WatchLiveSession", request, deadline=False):
            update = LiveUpdate.of(msg)
            if update.sequence or not predictions_only or update.closed:
                yield update
            if update.closed:
                return

    def wait(
        self, labels_version: int | None = None, timeout: float = 60.0, *, full: bool = True
    ) -> LiveUpdate:
        """The first update whose predictions reflect ``labels_version`` (default: the
        latest change sent), a full one unless ``full`` is False; raises
        :class:`Cancelled` after ``timeout`` seconds."""
        want = self.labels_version if labels_version is None else labels_version
        request = pb.WatchLiveSessionRequest(session_id=self.id)
        try:
            stream = self._client._stub.WatchLiveSession(
                request, timeout=timeout, metadata=self._client._metadata
            )
            for msg in stream:
                update = LiveUpdate.of(msg)
                if update.closed:
                    raise InvalidInputError(f"live session {self.id} closed: {update.message}")
                done = update.trained_version if full else update.updated_version
                if update.sequence and done >= want and (update.quick is False or not full):
                    stream.cancel()
                    return update
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise Cancelled(
                    f"no live update for labels version {want} within {timeout:g} s"
                ) from None
            raise _translate(err, self._client.address) from None
        raise RemoteError("UNKNOWN", f"live session {self.id} stream ended")

    def commit(self, *, save_labels: bool = False) -> dict:
        """Save the live model (once it reflects every label) as the model's next version.

        Returns ``{"version", "labels_version", "counts"}``; ``save_labels`` also writes the
        session's labels into the model's training set (for a full training after).
        """
        request = pb.CommitLiveSessionRequest(session_id=self.id, save_labels=save_labels)
        reply = self._client._call("CommitLiveSession", request)
        result = {"version": reply.version, "labels_version": reply.labels_version}
        if reply.HasField("training_set"):
            result["n_images"], result["counts"] = _summary(reply.training_set)
        return result

    def close(self) -> None:
        """End the session (idempotent: a session closed already is fine)."""
        try:
            self._client._call("CloseLiveSession", pb.CloseLiveSessionRequest(session_id=self.id))
        except InvalidInputError:  # NOT_FOUND: closed or timed out already
            pass
