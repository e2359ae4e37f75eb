"""Admission limits that keep one slow or hostile client from starving the server.

Every call holds one thread of the server's pool for as long as it runs, and a client
stream that stops sending holds it forever. :class:`CallLimits` (a server interceptor)
therefore

- admits at most ``max_calls`` calls at once (the pool size less a reserve), so that health
  checks, which are never counted, and quick refusals always find a thread;
- admits at most ``max_streams`` client streams (UploadTensor, ImportModel) per connection;
- cancels a client stream that sent nothing for ``idle_s`` seconds, freeing its thread.

A refused call gets RESOURCE_EXHAUSTED with a message saying what to do; it never waits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import grpc

log = logging.getLogger("phenosort.service")

HEALTH_CHECK = "/grpc.health.v1.Health/Check"


class _IdleGuard:
    """A request iterator whose waits for the next message are timed by the watchdog."""

    def __init__(self, requests: Iterator, context: grpc.ServicerContext, peer: str) -> None:
        self._requests = requests
        self.context, self.peer = context, peer
        self.waiting_since: float | None = None
        self.timed_out = False

    def __iter__(self) -> _IdleGuard:
        return self

    def __next__(self):
        self.waiting_since = time.monotonic()
        try:
            return next(self._requests)
        finally:
            self.waiting_since = None


class CallLimits(grpc.ServerInterceptor):
    """Admission control; see the module docstring.

    Parameters
    ----------
    max_calls : int
        Calls running at once (health checks excepted).
    max_streams : int
        Client-streaming calls at once per connection (peer address and port).
    idle_s : float
        Seconds a client stream may wait for its next message before it is cancelled.
    """

    def __init__(self, max_calls: int, max_streams: int = 4, idle_s: float = 30.0) -> None:
        self.max_calls, self.max_streams, self.idle_s = max_calls, max_streams, idle_s
        self._lock = threading.Lock()
        self._guarded = threading.Condition(self._lock)  # notified when a stream is guarded
        self._calls = 0
        self._streams: Counter[str] = Counter()
        self._guards: set[_IdleGuard] = set()
        self._closed = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="phenosort-idle", daemon=True)
        self._watchdog.start()

    def close(self) -> None:
        """Stop the watchdog thread (the server is stopping)."""
        self._closed.set()
        with self._guarded:
            self._guarded.notify_all()

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method == HEALTH_CHECK:
            return handler
        return _wrapped(handler, handler_call_details.method.rsplit("/", 1)[-1], self)

    # ------------------------------------------------------------------ admission
    def admit(self, method: str, peer: str, stream: bool) -> str | None:
        """None when admitted (call :meth:`release` after), else the refusal message."""
        with self._lock:
            if self._calls >= self.max_calls:
                reason = (
                    f"the server is busy ({self._calls} calls in progress, its limit); "
                    "retry shortly"
                )
            elif stream and self._streams[peer] >= self.max_streams:
                reason = (
                    f"this connection has {self._streams[peer]} upload streams open already, "
                    f"the limit per client; finish one first"
                )
            else:
                self._calls += 1
                self._streams[peer] += stream
                return None
        log.warning("%s RESOURCE_EXHAUSTED from %s: %s", method, peer, reason)
        return reason

    def release(self, peer: str, stream: bool) -> None:
        with self._lock:
            self._calls -= 1
            if stream:
                self._streams[peer] -= 1
                if self._streams[peer] <= 0:
                    del self._streams[peer]

    def guard(self, requests: Iterator, context: grpc.ServicerContext, peer: str) -> _IdleGuard:
        guard = _IdleGuard(requests, context, peer)
        with self._guarded:
            self._guards.add(guard)
            self._guarded.notify_all()
        return guard

    def unguard(self, guard: _IdleGuard, method: str) -> None:
        with self._lock:
            self._guards.discard(guard)
        if guard.timed_out:
            log.warning(
                "%s from %s cancelled: no message for %.0f s (idle stream limit)",
                method,
                guard.peer,
                self.idle_s,
            )

    def _watch(self) -> None:
        """Checks the open client streams every ``period``; with none open it sleeps until
        one is guarded (an idle server uses no CPU)."""
        period = max(0.05, min(1.0, self.idle_s / 4))
        while True:
            with self._guarded:
                while not self._guards and not self._closed.is_set():
                    self._guarded.wait()
            if self._closed.wait(period):
                return
            now = time.monotonic()
            with self._lock:
                idle = [
                    g
                    for g in self._guards
                    if g.waiting_since is not None and now - g.waiting_since > self.idle_s
                ]
            for guard in idle:
                guard.timed_out = True
                guard.context.cancel()  # wakes the handler's read with an error


def _wrapped(handler: grpc.RpcMethodHandler, method: str, limits: CallLimits):
    """``handler`` with admission, release and (client streams) the idle guard."""
    stream = handler.request_streaming
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }

    def enter(request, context):
        peer = context.peer()  # read now: a cancelled call's peer is empty
        reason = limits.admit(method, peer, stream)
        if reason is not None:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, reason)
        return (limits.guard(request, context, peer) if stream else request), peer

    def leave(request, peer: str) -> None:
        limits.release(peer, stream)
        if stream:
            limits.unguard(request, method)

    def unary_reply(behavior: Callable):
        def run(request, context):
            request, peer = enter(request, context)
            try:
                return behavior(request, context)
            finally:
                leave(request, peer)

        return run

    def streaming_reply(behavior: Callable):
        def run(request, context):
            request, peer = enter(request, context)
            try:
                yield from behavior(request, context)
            finally:
                leave(request, peer)

        return run

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(
            streaming_reply(handler.stream_stream), **kwargs
        )
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(unary_reply(handler.stream_unary), **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(streaming_reply(handler.unary_stream), **kwargs)
    return grpc.unary_unary_rpc_method_handler(unary_reply(handler.unary_unary), **kwargs)
