"""Where the network runs and in what precision: one place for training, prediction and Grad-CAM.

On CUDA a batch reaches the GPU in one asynchronous copy from page-locked (pinned) host
memory, so the copy overlaps with work already queued, and the network runs under
``torch.autocast`` in bfloat16 where the GPU supports it (``precision="auto"``). On other
devices nothing changes: on the CPU a batch is the NumPy array's own memory (no copy) and no
autocast runs unless asked for, so CPU results are plain float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch

from ..errors import InvalidInputError

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an unavailable explicit device is an error."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError("device 'cuda' was requested but CUDA is not available")
    if device == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise InvalidInputError("device 'mps' was requested but MPS is not available")
    if device not in ("cpu", "cuda", "mps"):
        raise InvalidInputError(f"unknown device {device!r}; use auto, cpu, cuda or mps")
    return torch.device(device)


def autocast_dtype(
    device: torch.device, precision: str = "auto", *, bf16_supported: bool | None = None
) -> torch.dtype | None:
    """The dtype to autocast to on ``device`` for the ``precision`` setting, or None (float32).

    ``auto`` is bfloat16 on a CUDA GPU with native bfloat16 (Ampere and newer), else float32:
    bfloat16 keeps float32's range, so unnormalised inputs cannot overflow and training needs
    no loss scaling. ``bf16_supported`` overrides the query of the current GPU.
    """
    if precision == "float32":
        return None
    if precision == "auto":
        if device.type != "cuda":
            return None
        if bf16_supported is None:
            bf16_supported = torch.cuda.is_bf16_supported(including_emulation=False)
        return torch.bfloat16 if bf16_supported else None
    if precision not in _DTYPES:
        raise InvalidInputError(
            f"precision {precision!r} is not one of auto, float32, {', '.join(_DTYPES)}"
        )
    return _DTYPES[precision]


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to ``dtype`` on ``device``; a no-op context for None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """Loss scaling for float16 training (small gradients underflow float16's range); for
    other dtypes a disabled scaler, whose ``scale``/``step`` pass through unchanged."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def host_batch(
    batch: np.ndarray | torch.Tensor,
    device: torch.device,
    rows: Sequence[int] | np.ndarray | None = None,
) -> torch.Tensor:
    """``batch`` (or its ``rows``) on the host, ready for :func:`to_device`.

    For CUDA the data is written once into page-locked memory (rows are gathered straight
    into it), which lets the copy to the GPU run asynchronously; this may run in a worker
    thread while the GPU computes. Elsewhere it is the array's own memory, or ``batch[rows]``.
    """
    x = torch.from_numpy(batch) if isinstance(batch, np.ndarray) else batch
    if device.type != "cuda":
        return x if rows is None else x[rows]
    if rows is None:
        return x if x.is_pinned() else x.pin_memory()
    index = torch.as_tensor(np.asarray(rows, np.int64))
    out = torch.empty((index.numel(), *x.shape[1:]), dtype=x.dtype, pin_memory=True)
    return torch.index_select(x, 0, index, out=out)


def to_device(batch: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """One host-to-device copy of ``batch``: asynchronous from pinned memory on CUDA; on the
    CPU the same tensor (no copy)."""
    x = host_batch(batch, device)
    return x.to(device, non_blocking=device.type == "cuda")
