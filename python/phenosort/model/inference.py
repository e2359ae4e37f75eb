"""Batched inference: the class probabilities of many objects, a batch at a time.

Objects go through the network in batches of at most ``predict_batch_size``, so memory stays
bounded on huge images. On a CPU a batch is also kept small enough for its largest
activation to stay in cache (:func:`cpu_batch_size`), and batches run side by side in
streams, one thread each, every stream cutting its own batch's patches
(:mod:`.cpu_streams`). On a GPU a worker thread cuts the next batch's patches and pins them
while the network runs one batch.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import Cancelled
from .config import ModelConfig
from .cpu_streams import cpu_streams, stream_count
from .device import autocast, autocast_dtype, host_batch, to_device
from .tta import View, predict_proba

ProgressCallback = Callable[[object], None]

#: A CPU batch's largest activation stays under this many bytes. Measured on a 2-core Xeon
#: (docs/benchmarks.md, issue 15): the light networks ran fastest with 8-16 MB, 1.5-2x
#: slower from 32 MB (the 256 objects of the old fixed batch: 33-130 MB), and one sample
#: at a time was up to 4x slower (the per-call cost).
CPU_BATCH_BYTES = 8 * 2**20
MIN_CPU_BATCH = 4
# bytes of the largest activation of one sample, by architecture and input shape: they do
# not depend on the weights, so a live model's every update reuses one measurement
_ACTIVATION_BYTES: dict[tuple, int] = {}


def on_device(net: nn.Module, device: torch.device) -> nn.Module:
    """``net`` on ``device``; ``Module.to`` walks every parameter even when nothing moves,
    which costs as much as a small image's other set-up."""
    first = next(net.parameters(), None)
    return net if first is not None and first.device == device else net.to(device)


@dataclass(frozen=True)
class BatchedInference:
    """How a model predicts: its inference network (``networks.inference_network``), the
    test-time augmentation views, the device and autocast type, and the batch size."""

    net: nn.Module
    n_classes: int
    views: list[View]
    device: torch.device
    dtype: torch.dtype | None
    batch_size: int
    overlap: bool = False  # cut the next batch in a worker thread (GPU) or inline (CPU)
    streams: int = 1  # CPU batches run side by side, one thread each (cpu_streams)

    @classmethod
    def of(
        cls,
        net: nn.Module,
        config: ModelConfig,
        n_classes: int,
        device: torch.device,
        views: list[View],
        sample_shape: tuple[int, ...] | None = None,
    ) -> BatchedInference:
        """With ``config``'s precision and batch size; ``net`` is the inference network.
        ``sample_shape`` (channels and patch shape of one input) sizes CPU batches to the
        cache (:func:`cpu_batch_size`)."""
        dtype = autocast_dtype(device, config.precision)
        size = config.predict_batch_size
        if device.type == "cpu" and sample_shape is not None:
            size = cpu_batch_size(net, sample_shape, size)
        overlap, streams = device.type != "cpu", stream_count(device)
        return cls(net, n_classes, views, device, dtype, size, overlap, streams)

    def of_objects(
        self,
        n: int,
        cut: Callable[[np.ndarray], np.ndarray],
        progress: ProgressCallback | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """``(n, K)`` probabilities of ``n`` objects whose patches ``cut(rows)`` makes
        (``rows``: a batch's consecutive indices). ``progress`` receives ``(done, n)`` after
        each batch; ``cancel()`` true between batches raises :class:`Cancelled`."""
        return self._run(n, lambda start, stop: cut(np.arange(start, stop)), progress, cancel)

    def of_patches(
        self,
        patches: np.ndarray,
        cancel: Callable[[], bool] | None = None,
        features: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(N, K)`` probabilities of patches cut before, batch by batch; ``cancel()`` true
        between batches raises :class:`Cancelled`. ``features``, an ``(N, F)`` array,
        receives the pooled features of a network with ``embed`` (one view only)."""
        return self._run(
            patches.shape[0], lambda start, stop: patches[start:stop], None, cancel, features
        )

    def start_patches(self, patches: np.ndarray) -> Running:
        """:meth:`of_patches` begun (:meth:`start`) on patches cut before."""
        return self.start(patches.shape[0], lambda start, stop: patches[start:stop])

    def start(self, n: int, cut: Callable[[int, int], np.ndarray]) -> Running:
        """The probabilities of ``n`` objects begun: in CPU streams the batches (each cut by
        ``cut(start, stop)`` in the stream that runs it) go on while the caller reads and
        cuts the next images. With one stream (a GPU) they are computed now."""
        if self.streams <= 1:
            return Running(self._run(n, cut, None, None), [])
        probabilities, host, compute = self._steps(n, cut)
        pool = cpu_streams(self.streams)
        step = self.batch_size
        return Running(
            probabilities,
            [pool.submit(lambda s: compute(s, host(s)), s) for s in range(0, n, step)],
        )

    def _run(
        self,
        n: int,
        cut: Callable[[int, int], np.ndarray],
        progress: ProgressCallback | None,
        cancel: Callable[[], bool] | None,
        features: np.ndarray | None = None,
    ) -> np.ndarray:
        """The probabilities of ``n`` objects, batch ``[start, stop)`` cut by ``cut``: in
        streams on a CPU (:mod:`.cpu_streams`), else in turn."""
        probabilities, host, compute = self._steps(n, cut, features)
        starts = list(range(0, n, self.batch_size))
        streams = min(self.streams, len(starts))
        if streams > 1:
            _in_streams(starts, lambda s: compute(s, host(s)), streams, n, progress, cancel)
        else:
            _in_turn(starts, host, compute, self.overlap, n, progress, cancel)
        return probabilities

    def _steps(
        self, n: int, cut: Callable[[int, int], np.ndarray], features: np.ndarray | None = None
    ) -> tuple[np.ndarray, Callable[[int], torch.Tensor], Callable[[int, torch.Tensor], int]]:
        """The ``(n, K)`` array that batches fill, ``host(start)`` (a batch's patches, ready
        for the device) and ``compute(start, batch)`` (the network on it; its count)."""
        probabilities = np.zeros((n, self.n_classes), np.float32)
        step, device = self.batch_size, self.device

        def host(start: int) -> torch.Tensor:
            # pinned here for a GPU, in the worker thread, while the network runs
            return host_batch(cut(start, min(start + step, n)), device)

        def compute(start: int, batch: torch.Tensor) -> int:
            # in whichever thread runs it: inference mode and autocast are per thread
            stop = start + batch.shape[0]
            with torch.inference_mode(), autocast(device, self.dtype):
                x = to_device(batch, device)
                out = None if features is None else features[start:stop]
                probabilities[start:stop] = self._probabilities(x, out)
            return stop - start

        return probabilities, host, compute

    def _probabilities(self, x: torch.Tensor, features: np.ndarray | None) -> np.ndarray:
        """One batch's class probabilities, its pooled features into ``features``."""
        net: Any = self.net  # embed and head: the light network's
        if features is not None and len(self.views) == 1:
            embedded = net.embed(x)
            features[...] = embedded.float().cpu().numpy()
            probs = torch.softmax(net.head(embedded).float(), dim=1)
        else:
            probs = predict_proba(net, x, self.views)
        return probs.cpu().numpy()


@dataclass(frozen=True)
class Running:
    """Batches begun by :meth:`BatchedInference.start`, filling ``probabilities``."""

    probabilities: np.ndarray
    batches: list[Future]

    def done(self) -> bool:
        """Whether every batch has finished (then :meth:`result` does not wait)."""
        return all(future.done() for future in self.batches)

    def result(self) -> np.ndarray:
        """The ``(n, K)`` probabilities, once every batch has finished; a batch's error is
        raised here, and no batch runs on after it."""
        try:
            for future in self.batches:
                future.result()
        finally:
            _stop(self.batches)
        return self.probabilities


def _in_turn(
    starts: list[int],
    host: Callable[[int], torch.Tensor],
    compute: Callable[[int, torch.Tensor], int],
    overlap: bool,
    n: int,
    progress: ProgressCallback | None,
    cancel: Callable[[], bool] | None,
) -> None:
    """One batch after the other in this thread; with ``overlap`` (a GPU) a worker thread
    makes the next batch ready while the network runs."""
    done = 0
    # with one batch (small images) there is nothing to overlap, and starting the thread
    # would cost more
    with ThreadPoolExecutor(max_workers=1) if overlap and len(starts) > 1 else _Inline() as pool:
        pending = [pool.submit(host, starts[0])] if starts else []
        for i, start in enumerate(starts):
            _check(cancel)
            batch = pending.pop().result()
            if i + 1 < len(starts):
                pending.append(pool.submit(host, starts[i + 1]))
            done += compute(start, batch)
            if progress is not None:
                progress((done, n))


def _in_streams(
    starts: list[int],
    run: Callable[[int], int],
    streams: int,
    n: int,
    progress: ProgressCallback | None,
    cancel: Callable[[], bool] | None,
) -> None:
    """``run`` on every batch in ``streams`` CPU streams; progress and cancelling are
    handled here, in the calling thread, as batches finish. One batch more than there are
    streams waits in line, so that no stream idles; memory stays bounded."""
    done, queue = 0, iter(starts)
    _check(cancel)
    pool = cpu_streams(streams)
    running = {pool.submit(run, s) for s in itertools.islice(queue, streams + 1)}
    try:
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done += future.result()  # a batch's error is raised here
                if progress is not None:
                    progress((done, n))
            _check(cancel)
            running |= {pool.submit(run, s) for s in itertools.islice(queue, len(finished))}
    finally:
        _stop(running)


def _stop(running: Iterable[Future]) -> None:
    """After an error or a cancel: the batches not started never run, and those running
    finish before the call returns, so that no batch of the call runs on afterwards."""
    running = list(running)
    for future in running:
        future.cancel()
    wait(running)


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("prediction was cancelled")


def cpu_batch_size(net: nn.Module, sample_shape: tuple[int, ...], most: int) -> int:
    """The number of objects per CPU batch: as many as keep the largest activation of the
    batch under :data:`CPU_BATCH_BYTES` (at least :data:`MIN_CPU_BATCH`, at most ``most``).

    The activation size is measured once per architecture (the network's type and its
    parameters' names and shapes) and input shape, on one blank sample.
    """
    params = tuple((name, tuple(p.shape)) for name, p in net.named_parameters())
    key = (type(net).__qualname__, params, tuple(sample_shape))
    if key not in _ACTIVATION_BYTES:
        _ACTIVATION_BYTES[key] = largest_activation_bytes(net, sample_shape)
    fits = CPU_BATCH_BYTES // max(_ACTIVATION_BYTES[key], 1)
    return min(most, max(MIN_CPU_BATCH, fits))


def largest_activation_bytes(net: nn.Module, sample_shape: tuple[int, ...]) -> int:
    """Bytes of the largest output of any layer of ``net`` for one input of
    ``sample_shape`` (channels first, no batch axis)."""
    largest = 0

    def record(_module, _inputs, output) -> None:
        nonlocal largest
        if isinstance(output, torch.Tensor):
            largest = max(largest, output.numel() * output.element_size())

    probe = copy.deepcopy(net)  # hooks on the shared network would see other threads' calls
    for module in probe.modules():
        if not list(module.children()):
            module.register_forward_hook(record)
    first = next(probe.parameters(), None)
    with torch.inference_mode():
        probe(torch.zeros((1, *sample_shape), device=first.device if first is not None else None))
    return largest


class _Inline:
    """A stand-in for a one-thread executor that runs each call at once."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future
