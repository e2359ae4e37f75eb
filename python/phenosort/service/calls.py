"""One RPC's life: exceptions to status codes, one log line per call, cancel events.

:func:`rpc` wraps every handler of :class:`~.servicer.PhenosortServicer`; it works for
streaming requests and replies too.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
import uuid

import grpc

from ..errors import (
    AlreadyExistsError,
    Cancelled,
    InvalidInputError,
    ModelFileError,
    ModelNotFoundError,
    NotFoundError,
    PreconditionError,
)
from .codec import StreamEndedEarly, TensorTooLargeError

log = logging.getLogger("phenosort.service")

_CODES = (  # first match wins: TensorTooLargeError is an InvalidInputError
    (TensorTooLargeError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (ModelNotFoundError, grpc.StatusCode.NOT_FOUND),
    (AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (PreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (InvalidInputError, grpc.StatusCode.INVALID_ARGUMENT),
    (Cancelled, grpc.StatusCode.CANCELLED),
    (ModelFileError, grpc.StatusCode.DATA_LOSS),
)


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """Status code and message for an exception; unexpected ones get a logged error id."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code, str(exc)
    error_id = uuid.uuid4().hex[:12]
    log.error("internal error %s", error_id, exc_info=exc)
    return grpc.StatusCode.INTERNAL, f"internal server error (error id {error_id}, see the log)"


class _Call:
    """Bookkeeping of one RPC for its log line."""

    def __init__(self, method: str, context: grpc.ServicerContext) -> None:
        self.method, self.context = method, context
        self.start = time.perf_counter()
        self.bytes_in = self.bytes_out = 0
        self.code = grpc.StatusCode.OK
        self.ended = threading.Event()  # set when the RPC terminates, a cancel included
        context.add_callback(self.ended.set)

    def count_in(self, request):
        if hasattr(request, "ByteSize"):
            self.bytes_in = request.ByteSize()
            return request
        return self._counted(request)

    def _counted(self, requests):
        for message in requests:
            self.bytes_in += message.ByteSize()
            yield message

    def sent(self, reply):
        self.bytes_out += reply.ByteSize()
        return reply

    def fail(self, exc: Exception):
        if isinstance(exc, StreamEndedEarly):  # a client's cancel may follow its end of stream
            self.ended.wait(0.1)
        if not self.context.is_active() or isinstance(exc, grpc.RpcError):
            # client gone, deadline passed or stream cancelled (a request iterator raises
            # RpcError then): nothing reaches the client, but the log says what happened
            self.code = grpc.StatusCode.CANCELLED
            log.debug("%s ended after the client left", self.method, exc_info=exc)
            self.context.abort(self.code, "the call was cancelled")
        self.code, message = status_of(exc)
        log.debug("%s failed", self.method, exc_info=exc)
        self.context.abort(self.code, message)

    def log(self) -> None:
        ms = (time.perf_counter() - self.start) * 1e3
        log.info(
            "%s %s in=%dB out=%dB %.1fms",
            self.method,
            self.code.name,
            self.bytes_in,
            self.bytes_out,
            ms,
        )


def rpc(method):
    """Map exceptions to status codes and log the call; works for streaming replies too."""
    name = method.__name__
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def streaming(self, request, context):
            call = _Call(name, context)
            try:
                for reply in method(self, call.count_in(request), context):
                    yield call.sent(reply)
            except GeneratorExit:  # the client stopped reading (cancel or disconnect)
                call.code = grpc.StatusCode.CANCELLED
                raise
            except Exception as exc:
                call.fail(exc)
            finally:
                call.log()

        return streaming

    @functools.wraps(method)
    def unary(self, request, context):
        call = _Call(name, context)
        try:
            return call.sent(method(self, call.count_in(request), context))
        except Exception as exc:
            call.fail(exc)
        finally:
            call.log()

    return unary


def cancel_event(context: grpc.ServicerContext) -> threading.Event:
    """An event set when the RPC ends early (client cancel, deadline): stops engine loops."""
    event = threading.Event()
    context.add_callback(event.set)
    return event


def remaining(context: grpc.ServicerContext) -> float:
    remaining = context.time_remaining()
    return 1e9 if remaining is None else max(0.0, remaining)
