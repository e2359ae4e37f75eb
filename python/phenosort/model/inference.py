"""Batched inference: the class probabilities of many objects, a batch at a time.

Objects go through the network in batches of at most ``predict_batch_size``, so memory stays
bounded on huge images. On a CPU a batch is also kept small enough for its largest
activation to stay in cache (:func:`cpu_batch_size`). On a GPU a worker thread cuts the
next batch's patches and pins them while the network runs one batch. On a CPU they are cut
in the calling thread: torch's threads already fill the cores, and a cutting thread beside
them only made both wait (inline, the whole prediction took 0.91x the time, median of 15
alternated pairs; docs/benchmarks.md, issue 15).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import Cancelled
from .config import ModelConfig
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
        return cls(net, n_classes, views, device, dtype, size, overlap=device.type != "cpu")

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
        probabilities = np.zeros((n, self.n_classes), np.float32)
        step, device = self.batch_size, self.device
        starts = list(range(0, n, step))

        def cut_batch(s: int) -> torch.Tensor:
            # pinned here for a GPU, in the worker thread, while the network runs
            return host_batch(cut(np.arange(s, min(s + step, n))), device)

        # with one batch (small images) there is nothing to overlap, and starting the
        # thread would cost more
        overlap = self.overlap and len(starts) > 1
        with (
            ThreadPoolExecutor(max_workers=1) if overlap else _Inline() as pool,
            torch.inference_mode(),
            autocast(device, self.dtype),
        ):
            pending = [pool.submit(cut_batch, starts[0])] if starts else []
            for i, s in enumerate(starts):
                if cancel is not None and cancel():
                    raise Cancelled("prediction was cancelled")
                batch = pending.pop().result()
                if i + 1 < len(starts):
                    pending.append(pool.submit(cut_batch, starts[i + 1]))
                probs = predict_proba(self.net, to_device(batch, device), self.views)
                probabilities[s : s + batch.shape[0]] = probs.cpu().numpy()
                if progress is not None:
                    progress((min(s + step, n), n))
        return probabilities

    def of_patches(
        self,
        patches: np.ndarray,
        cancel: Callable[[], bool] | None = None,
        features: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(N, K)`` probabilities of patches cut before, batch by batch; ``cancel()`` true
        between batches raises :class:`Cancelled`. ``features``, an ``(N, F)`` array,
        receives the pooled features of a network with ``embed`` (one view only)."""
        n, step, device = patches.shape[0], self.batch_size, self.device
        net: Any = self.net  # embed and head: the light network's
        probabilities = np.zeros((n, self.n_classes), np.float32)
        with torch.inference_mode(), autocast(device, self.dtype):
            for s in range(0, n, step):
                if cancel is not None and cancel():
                    raise Cancelled("prediction was cancelled")
                x = to_device(patches[s : s + step], device)
                if features is not None and len(self.views) == 1:
                    embedded = net.embed(x)
                    features[s : s + step] = embedded.float().cpu().numpy()
                    probs = torch.softmax(net.head(embedded).float(), dim=1)
                else:
                    probs = predict_proba(net, x, self.views)
                probabilities[s : s + step] = probs.cpu().numpy()
        return probabilities


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
