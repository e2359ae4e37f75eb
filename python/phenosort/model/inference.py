"""Batched inference: the class probabilities of many objects, a batch at a time.

Objects go through the network in batches of ``predict_batch_size``, so memory stays bounded
on huge images. While the network runs one batch, a worker thread cuts the next batch's
patches (and pins them for a GPU): cutting costs about as much as the forward pass.
"""

from __future__ import annotations

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

    @classmethod
    def of(
        cls,
        net: nn.Module,
        config: ModelConfig,
        n_classes: int,
        device: torch.device,
        views: list[View],
    ) -> BatchedInference:
        """With ``config``'s precision and batch size; ``net`` is the inference network."""
        dtype = autocast_dtype(device, config.precision)
        return cls(net, n_classes, views, device, dtype, config.predict_batch_size)

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
        overlap = len(starts) > 1
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
