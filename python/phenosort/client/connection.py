"""The connection under :class:`~phenosort.client.Client` and its live sessions: the gRPC
channel (TLS, bearer token, message size), deadlines, server errors turned into
:mod:`phenosort.errors` exceptions, and content-addressed uploads. Images are uploaded once,
in chunks, under a content id computed here exactly as the server computes it; later
requests on the same image send only that id.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np

from ..errors import (
    Cancelled,
    InvalidInputError,
    ModelFileError,
    ModelNotFoundError,
    PhenosortError,
)
from ..service import codec
from ..v1 import phenosort_pb2 as pb
from ..v1 import phenosort_pb2_grpc as pb_grpc


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


def translate_error(err: grpc.RpcError, address: str) -> PhenosortError:
    """The phenosort exception of a failed call to the server at ``address``."""
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


ImageArg = np.ndarray | str  # an array, or the content id of an uploaded one


def class_field(value: int | str) -> dict[str, Any]:  # Any: keyword arguments of pb messages
    """The class of an annotation or label change: a name, or an index 1..K (also as digits)."""
    if isinstance(value, str) and not value.strip().isdigit():
        return {"class_name": value}
    return {"class_index": int(value)}


_C = TypeVar("_C", bound="Connection")


class Connection:
    """A channel to a phenosort server and the plumbing of every call; see
    :class:`~phenosort.client.Client` for the parameters."""

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

    def __enter__(self: _C) -> _C:
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
            raise translate_error(err, self.address) from None

    def _stream(self, method: str, request, *, deadline: bool = True) -> Generator:
        """Iterate a server stream, translating errors raised mid-stream."""
        responses = self._call(method, request, deadline=deadline)
        try:
            yield from responses
        except grpc.RpcError as err:
            raise translate_error(err, self.address) from None
        finally:
            responses.cancel()  # no-op when complete; stops the server when abandoned

    def _input(
        self,
        image: ImageArg,
        labels: ImageArg,
        axes: str,
        voxel_size: Sequence[float] | None,
        name: str = "",
    ) -> pb.ImageInput:
        """An image and its mask as request fields, each uploaded unless the server has it."""
        labels_axes = "".join(a for a in axes.upper() if a in "ZYX")
        return pb.ImageInput(
            image_id=self.upload(image, axes),
            labels_id=self.upload(labels, labels_axes),
            voxel_size=list(voxel_size or ()),
            name=name,
        )

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
