"""What the server's replies become on this side: plain dataclasses with numpy arrays, each
built from its proto message by ``of``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..classifier import Explanation
from ..results import Prediction, probability_columns
from ..service import codec
from ..v1 import phenosort_pb2 as pb
from .connection import RemoteError


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
        n_images, counts = training_set_summary(msg.training_set)
        return cls(
            msg.name,
            list(msg.class_names),
            list(msg.versions),
            json.loads(msg.settings_json or "{}"),
            json.loads(msg.metadata_json) if msg.metadata_json else None,
            n_images,
            counts,
        )


def training_set_summary(msg: pb.TrainingSetSummary) -> tuple[int, dict[str, int]]:
    """A training set's image count and labelled objects per class."""
    return msg.n_images, {c.class_name: int(c.count) for c in msg.counts}


@dataclass(frozen=True)
class ProbeProgress:
    """An epoch of a symmetry probe run, before training: ``run`` (1-based) of ``n_runs``
    planned so far, its ``epoch`` of at most ``n_epochs`` (see the proto's message)."""

    run: int
    n_runs: int
    epoch: int
    n_epochs: int
    seconds: float


@dataclass(frozen=True)
class TrainingProgress:
    """One event of a training job; validation fields are None without a validation set.

    ``metrics`` (the final validation report) is set on the last event of a finished job.
    ``probe`` is set, and ``epoch`` is 0, while probe runs test the flips and turns.
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
    probe: ProbeProgress | None = None

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
            _probe_of(msg),
        )


def _probe_of(msg: pb.TrainingProgress) -> ProbeProgress | None:
    if not msg.HasField("probe"):
        return None
    p = msg.probe
    return ProbeProgress(p.run, p.n_runs, p.epoch, p.n_epochs, p.seconds)


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
        from ..objects.table import index_and_table

        index, table = index_and_table(labels)
        table = table.subset(table.rows(self.label_id))
        return Prediction(
            self.probabilities, list(self.class_names), self.in_training_set, table, index
        )

    @classmethod
    def of(cls, responses: Iterable[pb.PredictResponse], *, class_masks: bool) -> RemotePrediction:
        """Assemble the stream of a Predict call: per-object results, then each output image
        as a header chunk and its data chunks."""
        names: list[str] = []
        results: list[pb.ObjectResult] = []
        outputs: dict[str, np.ndarray] = {}
        current = None  # (name, assembler) of the output being received
        for response in responses:
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
        return cls(
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


def explanation_of(msg: pb.ExplainResponse, label_id: int) -> Explanation:
    """A server's Grad-CAM of object ``label_id``, as ``ObjectClassifier.explain`` gives it."""
    return Explanation(
        int(label_id),
        msg.class_index,
        codec.from_tensor(msg.heatmap),
        tuple(int(v) for v in msg.offset),
        np.array(msg.probabilities, np.float32),
        msg.scale,
    )


def _native(array: np.ndarray) -> np.ndarray:
    """Native byte order (no copy on little-endian machines)."""
    return array.astype(array.dtype.newbyteorder("="), copy=False)
