"""Start the phenosort gRPC server: service, health checking, reflection, token, TLS.

:func:`create_server` returns a started :class:`RunningServer` (used by tests and the
Python client's tests); :func:`serve` is the ``phenosort serve`` command: it prints a
``READY host:port`` line once the port is open and stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..errors import InvalidInputError
from ..huge_pages import avoid_huge_page_stalls
from ..v1 import phenosort_pb2 as pb
from ..v1 import phenosort_pb2_grpc as pb_grpc
from .cache import TensorCache
from .jobs import JobManager
from .limits import CallLimits
from .live import LiveSessions
from .registry import ModelRegistry
from .servicer import PhenosortServicer

log = logging.getLogger("phenosort.service")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ObjectClassifier"].full_name
_HEALTH_PREFIX = f"/{health.SERVICE_NAME}/"
_REFLECTION_PREFIX = f"/{reflection.SERVICE_NAME}/"


def default_server_root() -> Path:
    """``$PHENOSORT_STORE`` or ``<user data dir>/phenosort/server``."""
    if os.environ.get("PHENOSORT_STORE"):
        return Path(os.environ["PHENOSORT_STORE"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "phenosort" / "server"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


class TokenInterceptor(grpc.ServerInterceptor):
    """Requires ``authorization: Bearer <token>`` metadata.

    Health checks are exempt, and so is reflection: it only describes the public API, and
    a tool such as grpcurl needs it to health-check a server it has no proto for.
    """

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method.startswith((_HEALTH_PREFIX, _REFLECTION_PREFIX)):
            return continuation(handler_call_details)
        given = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        if hmac.compare_digest(str(given).encode(), self._expected):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        reason = "missing" if not given else "wrong"
        log.info("%s UNAUTHENTICATED (%s token)", method.rsplit("/", 1)[-1], reason)
        message = f"{reason} token: send the metadata 'authorization: Bearer <token>'"
        return _denied(handler, message)


def _denied(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same kind as ``handler`` that fails with UNAUTHENTICATED."""

    def deny(request, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    def deny_stream(request, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this a generator

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(deny_stream, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(deny, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(deny_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(deny, **kwargs)


@dataclass
class RunningServer:
    """A started server; :meth:`stop` cancels training jobs and shuts it down."""

    server: grpc.Server
    port: int
    address: str  # "127.0.0.1:<port>": where a local client connects
    store: Path | None = None  # the store folder in use
    jobs: JobManager | None = field(default=None, repr=False)
    health: health.HealthServicer | None = field(default=None, repr=False)
    limits: CallLimits | None = field(default=None, repr=False)
    live: LiveSessions | None = field(default=None, repr=False)

    def stop(self, grace: float | None = 5.0) -> None:
        """Stop serving: running jobs are cancelled and waited for (no half-written
        version), open calls get ``grace`` seconds to finish."""
        if self.health is not None:
            self.health.enter_graceful_shutdown()
        if self.live is not None:
            self.live.shutdown()
        if self.jobs is not None:
            self.jobs.shutdown(timeout=None if grace is None else max(grace, 30.0))
        self.server.stop(grace).wait()
        if self.limits is not None:
            self.limits.close()


def create_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    store: str | Path | None = None,
    token: str | None = None,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
    device: str = "auto",
    max_message_bytes: int = 64 << 20,
    max_tensor_bytes: int = 32 << 30,
    workers: int = 16,
    max_streams: int = 4,
    stream_idle_s: float = 30.0,
    cache_bytes: int | None = 20 << 30,
    weights_dir: str | Path | None = None,
) -> RunningServer:
    """Create and start a phenosort server.

    Parameters
    ----------
    host, port : str, int
        Where to listen; port 0 picks a free port (see ``RunningServer.port``). A host other
        than loopback needs a ``token``.
    store : path, optional
        Folder of models and uploaded tensors (default: :func:`default_server_root`).
    token : str, optional
        Clients must send ``authorization: Bearer <token>``.
    tls_cert, tls_key : path, optional
        PEM certificate chain and private key: serve over TLS.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``mps`` for training and prediction.
    max_message_bytes, max_tensor_bytes : int
        Largest gRPC message, and largest uploaded tensor or model file.
    workers : int
        Threads serving calls (a watched training holds one while watched). All but a
        reserve (an eighth, at least 2) may be busy at once; the reserve keeps health
        checks answering, and calls past the limit get RESOURCE_EXHAUSTED at once.
    max_streams, stream_idle_s : int, float
        Upload streams one connection may have open at once, and seconds an upload may
        go without a message before it is cancelled (a stalled client frees its thread).
    cache_bytes : int or None
        Bound of the uploaded-tensor cache; least recently used tensors that no training
        set holds are removed past it (None: no bound).
    weights_dir : path, optional
        Folder whose files clients may name as ``net_weights``; None (default) refuses
        every client-supplied ``net_weights``.

    Returns
    -------
    RunningServer
    """
    if not token and not is_loopback(host):
        raise InvalidInputError(
            f"refusing to listen on {host} without a token: anyone on the network could use "
            "the server; give a token (--token, --token-file or PHENOSORT_TOKEN) or use "
            "127.0.0.1"
        )
    if bool(tls_cert) != bool(tls_key):
        raise InvalidInputError("TLS needs both a certificate (tls_cert) and a key (tls_key)")
    if device not in ("auto", "cpu", "cuda", "mps"):
        raise InvalidInputError(f"device {device!r} is not auto, cpu, cuda or mps")
    if workers < 4 or max_streams < 1 or not stream_idle_s > 0:
        raise InvalidInputError(
            f"workers must be >= 4, max_streams >= 1 and stream_idle_s > 0; got {workers}, "
            f"{max_streams}, {stream_idle_s}"
        )
    if weights_dir is not None and not Path(weights_dir).is_dir():
        raise InvalidInputError(f"weights_dir {weights_dir} is not a folder")
    root = Path(store) if store is not None else default_server_root()
    root.mkdir(parents=True, exist_ok=True)
    cache = TensorCache(root, max_bytes=max_tensor_bytes, max_total_bytes=cache_bytes)
    registry = ModelRegistry(root, cache, device=device, weights_dir=weights_dir)
    jobs = JobManager(registry)
    live = LiveSessions(registry)
    servicer = PhenosortServicer(
        cache,
        registry,
        jobs,
        store=root,
        live=live,
        device=device,
        max_message_bytes=max_message_bytes,
    )
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),  # a port in use must fail, not be shared
    ]
    limits = CallLimits(workers - max(2, workers // 8), max_streams, stream_idle_s)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="phenosort-rpc"),
        interceptors=[TokenInterceptor(token), limits] if token else [limits],
        options=options,
    )
    pb_grpc.add_ObjectClassifierServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    bind = f"[{host}]:{port}" if ":" in host.strip("[]") else f"{host}:{port}"
    try:
        if tls_cert and tls_key:  # both or neither (checked above)
            creds = grpc.ssl_server_credentials(
                [(Path(tls_key).read_bytes(), Path(tls_cert).read_bytes())]
            )
            bound = server.add_secure_port(bind, creds)
        else:
            bound = server.add_insecure_port(bind)
    except (RuntimeError, OSError) as exc:
        limits.close()
        raise InvalidInputError(f"cannot listen on {bind}: {exc}") from None
    if not bound:
        limits.close()
        raise InvalidInputError(f"cannot listen on {bind}: the address is in use or invalid")
    server.start()
    local = "127.0.0.1" if not is_loopback(host) or host == "localhost" else host
    address = f"[{local}]:{bound}" if ":" in local else f"{local}:{bound}"
    log.info("serving %s on %s (store %s, TLS %s)", SERVICE_NAME, bind, root, bool(tls_cert))
    return RunningServer(server, bound, address, root, jobs, health_servicer, limits, live)


def serve(
    *,
    port_file: str | Path | None = None,
    log_level: str = "INFO",
    **kwargs,
) -> int:
    """Run a server until SIGINT or SIGTERM (``phenosort serve``); returns the exit code.

    Prints ``phenosort serving on <host>:<port>`` and then ``READY <host>:<port>`` on
    stdout, and writes the port to ``port_file`` when given. ``kwargs`` go to
    :func:`create_server`.
    """
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    avoid_huge_page_stalls()
    with _stop_signals() as wait_for_stop:
        running = create_server(**kwargs)
        host = kwargs.get("host", "127.0.0.1")
        where = f"{host}:{running.port}"
        if port_file:
            Path(port_file).write_text(f"{running.port}\n")
        print(f"phenosort serving on {where}", flush=True)
        print(f"READY {where}", flush=True)
        wait_for_stop()
        log.info("stopping: cancelling training jobs")
        running.stop(grace=5.0)
        print("phenosort server stopped", flush=True)
        return 0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_STOP_NUMBERS = {int(sig) for sig in _STOP_SIGNALS}


@contextlib.contextmanager
def _stop_signals() -> Iterator[Callable[[], None]]:
    """Catch SIGINT and SIGTERM from here on; yields a function that blocks until one came.

    The kernel may hand a process's signal to any of its threads (gRPC's, torch's). Python
    then runs its handler in the main thread only when that thread next runs bytecode, so a
    main thread asleep in ``Event.wait()`` can miss the signal forever. CPython's C-level
    handler also writes the signal's number to the wake-up fd, from whichever thread caught
    it: the main thread sleeps in ``os.read`` on that pipe (no periodic wake-up, no CPU).
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in _STOP_SIGNALS}

    def wait_for_stop() -> None:
        while not _STOP_NUMBERS.intersection(os.read(read_fd, 64)):
            pass

    try:
        yield wait_for_stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(read_fd)
        os.close(write_fd)
