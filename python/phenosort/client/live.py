"""Live sessions from Python: :meth:`Client.live_session` opens one, a :class:`LiveSession`
sends label changes and images, and its stream of :class:`LiveUpdate` carries the live
model's predictions (the RPCs ``OpenLiveSession`` ... ``CloseLiveSession``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import grpc
import numpy as np

from ..errors import Cancelled, InvalidInputError
from ..v1 import phenosort_pb2 as pb
from .connection import Connection, ImageArg, RemoteError, class_field, translate_error
from .messages import training_set_summary


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
    ``trained_version`` is the labels version of the last full update. ``settled``: the
    live model is now a full training on these labels (the last update until the next
    change); ``estimate``: then its quality estimate from that training, ``{"source":
    "hold-out" or "2-fold estimate", "balanced_accuracy", "verdict": "better", "uncertain"
    or "chance"}``, or None.
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
    settled: bool = False
    estimate: dict | None = None

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
            msg.settled,
            {
                "source": msg.estimate_source,
                "balanced_accuracy": msg.estimate_balanced_accuracy,
                "verdict": msg.estimate_verdict,
            }
            if msg.estimate_source
            else None,
        )


class LiveSession:
    """A live classification session on the server (see :meth:`Client.live_session`).

    Send label changes with :meth:`label`, :meth:`set_labels` and :meth:`remove`; each
    returns the session's labels version. Iterate :meth:`updates` for the live model's
    predictions; :meth:`wait` returns the first update that reflects a labels version.
    :meth:`commit` saves the live model as a numbered version; :meth:`close` (or leaving a
    ``with`` block) ends the session.
    """

    def __init__(self, client: Connection, info: pb.LiveSessionInfo) -> None:
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
        changes = [pb.LabelChange(image_id=image_id, label=int(label), **class_field(value))
                   for label, value in classes.items()]  # fmt: skip
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
            raise translate_error(err, self._client.address) from None
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
            result["n_images"], result["counts"] = training_set_summary(reply.training_set)
        return result

    def close(self) -> None:
        """End the session (idempotent: a session closed already is fine)."""
        try:
            self._client._call("CloseLiveSession", pb.CloseLiveSessionRequest(session_id=self.id))
        except InvalidInputError:  # NOT_FOUND: closed or timed out already
            pass
