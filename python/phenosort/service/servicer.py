"""The ``phenosort.v1.ObjectClassifier`` RPCs: decode, call the engine, encode.

Handlers hold no training or model logic (see :mod:`.registry` and :mod:`.jobs`). The
:func:`.calls.rpc` decorator turns exceptions into status codes with the user-facing
message, and logs one line per call (method, status, bytes in and out, duration).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import __version__
from ..axes import spatial_axes
from ..classifier import ObjectClassifier
from ..errors import (
    AlreadyExistsError,
    InvalidInputError,
    ModelFileError,
    ModelNotFoundError,
    NotFoundError,
    PreconditionError,
)
from ..model.config import NETWORKS
from ..v1 import phenosort_pb2 as pb
from ..v1 import phenosort_pb2_grpc as pb_grpc
from .cache import TensorCache
from .calls import cancel_event, remaining, rpc
from .codec import DEFAULT_CHUNK_BYTES, TensorTooLargeError, iter_chunks, to_tensor
from .galleries import GalleryOptions, gallery_messages
from .guards import check_label_id, check_label_ids, parse_settings
from .jobs import JobManager
from .live import LiveSessions
from .registry import ModelRegistry
from .reports import report_html

OBJECT_BATCH = 1024  # objects per ObjectBatch message (~50 KB with a few classes)


class PhenosortServicer(pb_grpc.ObjectClassifierServicer):
    """Every RPC of ``phenosort.v1.ObjectClassifier`` over a store folder."""

    def __init__(
        self,
        cache: TensorCache,
        registry: ModelRegistry,
        jobs: JobManager,
        *,
        store: Path,
        live: LiveSessions | None = None,
        device: str = "auto",
        max_message_bytes: int = 64 << 20,
    ) -> None:
        self.cache, self.registry, self.jobs = cache, registry, jobs
        self.live = live or LiveSessions(registry)
        self.store, self.device = store, device
        self.max_message_bytes = max_message_bytes
        self.chunk_bytes = min(DEFAULT_CHUNK_BYTES, max_message_bytes // 2)

    # ------------------------------------------------------------------ helpers
    def _input(self, image: pb.ImageInput):
        pixels, axes = self.cache.get(image.image_id, "image_id")
        labels, _ = self.cache.get(image.labels_id, "labels_id")
        axes = axes or ("ZYX"[-pixels.ndim :] if pixels.ndim in (2, 3) else "")
        return pixels, labels, axes, (tuple(image.voxel_size) or None)

    # ------------------------------------------------------------------ server, tensors
    @rpc
    def GetServerInfo(self, request, context):
        import torch

        from ..model.device import resolve_device

        return pb.ServerInfo(
            phenosort_version=__version__,
            torch_version=torch.__version__,
            device=str(resolve_device(self.device)),
            networks=list(NETWORKS),
            max_message_bytes=self.max_message_bytes,
            chunk_bytes=self.chunk_bytes,
            api_version="v1",
            store=str(self.store),
        )

    @rpc
    def UploadTensor(self, request_iterator, context):
        tensor_id, cached = self.cache.upload(request_iterator)
        return pb.TensorRef(id=tensor_id, cached=cached)

    @rpc
    def HasTensor(self, request, context):
        return pb.HasTensorResponse(present=self.cache.has(request.id))

    # ------------------------------------------------------------------ models
    @rpc
    def CreateModel(self, request, context):
        self.registry.create(request.name, list(request.class_names), request.settings_json)
        return self.registry.model_info(request.name)

    @rpc
    def ListModels(self, request, context):
        models = []
        for name in self.registry.names():
            try:
                models.append(self.registry.model_info(name))
            except (ModelNotFoundError, NotFoundError):  # deleted while listing
                continue
        return pb.ListModelsResponse(models=models)

    @rpc
    def GetModel(self, request, context):
        return self.registry.model_info(request.name, request.version)

    @rpc
    def DeleteModel(self, request, context):
        job = self.jobs.active(request.name)
        if job is not None:
            raise PreconditionError(
                f"model {request.name!r} is training (job {job.id}); cancel the job first"
            )
        session = self.live.of_model(request.name)
        if session is not None and not session.closed:
            raise PreconditionError(
                f"model {request.name!r} has a live session ({session.id}); close it first"
            )
        self.registry.delete(request.name, request.version)
        return pb.DeleteModelResponse()

    # ------------------------------------------------------------------ training
    @rpc
    def AddTrainingData(self, request, context):
        if not request.HasField("image"):
            raise InvalidInputError("image is missing: give image_id and labels_id")
        return self.registry.add_training_data(
            request.model, request.image, request.annotations, request.replace
        )

    @rpc
    def StartTraining(self, request, context):
        settings = parse_settings(request.settings_json)
        job = self.jobs.start(request.model, settings, request.continue_training)
        return job.snapshot()

    @rpc
    def WatchTraining(self, request, context):
        yield from self.jobs.get(request.job_id).watch(context.is_active)

    @rpc
    def CancelTraining(self, request, context):
        job = self.jobs.cancel(request.job_id)
        with job.condition:  # usually ends within one batch: answer with the final state
            job.condition.wait_for(lambda: job.done, timeout=min(5.0, remaining(context)))
            return job.snapshot()

    # ------------------------------------------------------------------ prediction
    @rpc
    def Predict(self, request, context):
        clf, _ = self.registry.classifier(request.model, request.version)
        pixels, labels, axes, voxel_size = self._input(request.image)
        pred = clf.predict(
            pixels,
            labels,
            axes=axes,
            voxel_size=voxel_size,
            label_ids=check_label_ids(request.label_ids, "label_ids") or None,
            cancel=cancel_event(context),
        )
        yield from _object_batches(pred)
        spatial = spatial_axes(axes)
        outputs = []
        if request.class_map:
            outputs.append(("class_map", pred.class_map))
        if request.confidence_map:
            outputs.append(("confidence_map", pred.confidence_map))
        for name, make in outputs:
            for chunk in iter_chunks(make(), spatial, name=name, chunk_bytes=self.chunk_bytes):
                yield pb.PredictResponse(output=chunk)
        if request.class_masks:
            masks = pred.class_masks()
            for class_name in list(masks):
                mask = masks.pop(class_name)  # free each mask once it is sent
                name = f"mask:{class_name}"
                for chunk in iter_chunks(mask, spatial, name=name, chunk_bytes=self.chunk_bytes):
                    yield pb.PredictResponse(output=chunk)
                del mask

    @rpc
    def Suggest(self, request, context):
        clf, _ = self.registry.classifier(request.model, request.version)
        pixels, labels, axes, voxel_size = self._input(request.image)
        pred = clf.predict(
            pixels, labels, axes=axes, voxel_size=voxel_size, cancel=cancel_event(context)
        )
        exclude = check_label_ids(request.exclude, "exclude")
        exclude = np.asarray(exclude, np.int64) if exclude else None
        if request.n < 0:
            raise InvalidInputError(f"n must be >= 0 (0: 10 suggestions), got {request.n}")
        picked = pred.suggest(request.n or 10, exclude)
        rows = np.searchsorted(pred.label_id, picked)
        return pb.SuggestResponse(
            suggestions=[
                pb.Suggestion(
                    label=int(pred.label_id[r]),
                    predicted_class=int(pred.class_index[r]),
                    margin=float(pred.margin[r]),
                )
                for r in rows
            ]
        )

    @rpc
    def Explain(self, request, context):
        clf, _ = self.registry.classifier(request.model, request.version)
        pixels, labels, axes, voxel_size = self._input(request.image)
        exp = clf.explain(
            pixels,
            labels,
            check_label_id(request.label, "label"),
            axes=axes,
            voxel_size=voxel_size,
            class_index=request.class_index or None,
        )
        return pb.ExplainResponse(
            heatmap=to_tensor(exp.heatmap, "ZYX"[-exp.heatmap.ndim :]),
            offset=list(exp.offset),
            scale=float(exp.scale),
            class_index=exp.class_index,
            probabilities=[float(p) for p in exp.probabilities],
        )

    @rpc
    def Gallery(self, request, context):
        options = GalleryOptions.of(request)  # checked before any work
        clf, _ = self.registry.classifier(request.model, request.version)
        pixels, labels, axes, voxel_size = self._input(request.image)
        pred = clf.predict(
            pixels, labels, axes=axes, voxel_size=voxel_size, cancel=cancel_event(context)
        )
        name = request.image.name or "image"
        gallery = pred.gallery(pixels, labels, axes=axes, name=name, **asdict(options))
        yield from gallery_messages(gallery, pred, name, options.columns, self.max_message_bytes)

    # ------------------------------------------------------------------ model files
    @rpc
    def ExportModel(self, request, context):
        version = self.registry.resolve_version(request.name, request.version)
        path = self.registry.store.path(request.name, version)
        with open(path, "rb") as fh:  # an open file survives a concurrent delete
            first = True
            while True:
                data = fh.read(self.chunk_bytes)
                if not data and not first:
                    return
                yield pb.FileChunk(name=request.name if first else "", data=data)
                first = False

    @rpc
    def ImportModel(self, request_iterator, context):
        folder = self.registry.store.root
        tmp = folder / f".import-{uuid.uuid4().hex}.phenosort"
        name, size, limit = None, 0, self.cache.max_bytes or float("inf")
        try:
            with open(tmp, "wb") as fh:
                for chunk in request_iterator:
                    if name is None:
                        name = chunk.name
                        self._check_new_name(name)
                    size += len(chunk.data)
                    if size > limit:
                        raise TensorTooLargeError(
                            f"the model file exceeds the server's limit of {limit} bytes"
                        )
                    fh.write(chunk.data)
            if name is None:
                raise InvalidInputError("the model file stream was empty")
            try:  # verified (format, checksum, no pickle) and buildable by this phenosort
                imported = ObjectClassifier.load(tmp)
            except ModelFileError as exc:
                message = str(exc).replace(str(tmp), "the uploaded file")
                raise InvalidInputError(f"cannot import model {name!r}: {message}") from None
            self.registry.add_version_file(name, tmp, imported)
        finally:
            tmp.unlink(missing_ok=True)
        return self.registry.model_info(name)

    @rpc
    def GetTrainingReport(self, request, context):
        version = self.registry.resolve_version(request.name, request.version)
        path = self.registry.store.path(request.name, version)
        page = report_html(path, f"{request.name} version {version}").encode("utf-8")
        for start in range(0, max(len(page), 1), self.chunk_bytes):
            name = request.name if start == 0 else ""
            yield pb.FileChunk(name=name, data=page[start : start + self.chunk_bytes])

    # ------------------------------------------------------------------ live sessions
    @rpc
    def OpenLiveSession(self, request, context):
        session = self.live.open(request)
        with session.cond:
            return session.info()

    @rpc
    def UpdateLiveSession(self, request, context):
        session = self.live.get(request.session_id)
        self.live.update(session, request)
        with session.cond:
            return session.info()

    @rpc
    def WatchLiveSession(self, request, context):
        session = self.live.get(request.session_id)
        yield from session.watch(context.add_callback)

    @rpc
    def CommitLiveSession(self, request, context):
        session = self.live.get(request.session_id)
        timeout = min(300.0, remaining(context))
        version, labels_version, summary = self.live.commit(session, request.save_labels, timeout)
        with session.cond:
            info = session.info()
        return pb.CommitLiveSessionResponse(
            session=info, version=version, labels_version=labels_version, training_set=summary
        )

    @rpc
    def CloseLiveSession(self, request, context):
        session = self.live.get(request.session_id)
        self.live.close(session)
        with session.cond:
            return session.info()

    def _check_new_name(self, name: str) -> None:
        if not name:
            raise InvalidInputError("the first chunk must name the model to import as")
        if self.registry.exists(name):
            raise AlreadyExistsError(f"a model named {name!r} exists already; choose a new name")


def _object_batches(pred) -> Iterator[pb.PredictResponse]:
    """Per-object results in batches; the first names the classes (also when empty)."""
    names = list(pred.class_names)
    labels = pred.label_id.tolist()
    classes = pred.class_index.tolist()
    confidence = pred.confidence.tolist()
    member = pred.in_training_set.tolist()
    probabilities = pred.probabilities.tolist()
    n = len(labels)
    for start in range(0, max(n, 1), OBJECT_BATCH):
        objects = [
            pb.ObjectResult(
                label=labels[i],
                class_index=classes[i],
                class_name=names[classes[i] - 1],
                probabilities=probabilities[i],
                confidence=confidence[i],
                in_training_set=member[i],
            )
            for i in range(start, min(start + OBJECT_BATCH, n))
        ]
        batch = pb.ObjectBatch(class_names=names if start == 0 else [], objects=objects)
        yield pb.PredictResponse(objects=batch)
