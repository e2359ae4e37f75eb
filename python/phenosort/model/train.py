"""The training loop, written as a generator of progress events.

AdamW with a one-cycle schedule converges in tens of epochs (the reference ran 1000 epochs of
step decay). A stratified hold-out drives early stopping and the best epoch's weights are
kept. Progress is yielded per epoch; a ``threading.Event`` cancels between batches.

Batch norm's running statistics are recomputed on the un-augmented training patches before
each evaluation and at the end (:func:`recalibrate_batch_norm`): the momentum averages lag
behind weights that still move, by a lot after a few dozen steps, and in Conv-BN-ReLU order
a lagging mean silences units at prediction (docs/benchmarks.md, issue 15).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from ..errors import Cancelled, InvalidInputError
from .augment import Augmentation, augment, center_crop
from .config import ModelConfig, epoch_count
from .device import autocast, autocast_dtype, grad_scaler, host_batch, to_device
from .metrics import confusion_matrix, report, samples_learnt
from .networks import training_layout


@dataclass(frozen=True)
class EpochEvent:
    """One finished epoch. Validation fields are None when there is no validation set."""

    epoch: int
    n_epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    val_macro_f1: float | None
    learning_rate: float
    seconds: float
    best: bool


@dataclass
class TrainResult:
    state_dict: dict
    history: list[EpochEvent] = field(default_factory=list)
    best_epoch: int = 0
    validation: dict | None = None  # metrics.report() of the best epoch, or None
    # the last epoch's: not picked for its hold-out score, so it can judge against chance
    last_validation: dict | None = None


def stratified_split(
    targets: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): ``fraction`` of each class held out, rounded, keeping at
    least one training object per class; classes with a single object stay in training."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == cls))
        n_val = min(int(round(fraction * members.size)), members.size - 1)
        if fraction > 0 and members.size >= 2:
            n_val = max(n_val, 1)
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def validation_index(
    targets: np.ndarray, fraction: float, min_per_class: int, seed: int
) -> np.ndarray | None:
    """The hold-out rows, or None when the smallest class would give it fewer than
    ``min_per_class`` objects: early stopping on a couple of objects per class picks noise,
    and those labels are worth more as training data (docs/benchmarks.md)."""
    if fraction <= 0 or np.bincount(targets)[np.unique(targets)].min() * fraction < min_per_class:
        return None
    return stratified_split(targets, fraction, seed)[1]


def class_weights(targets: np.ndarray, n_classes: int, mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def train_events(
    net: nn.Module,
    patches: np.ndarray,
    targets: np.ndarray,
    n_classes: int,
    patch_shape: tuple[int, ...],
    cfg: ModelConfig,
    device: torch.device,
    *,
    val_index: np.ndarray | None = None,
    cancel: threading.Event | None = None,
    class_names: list[str] | None = None,
    epoch_offset: int = 0,
    n_epochs_total: int | None = None,
    augmentation: Augmentation | None = None,
    stop_when_learnt: bool = False,
) -> Iterator[EpochEvent | TrainResult]:
    """Train ``net`` in place; yields an :class:`EpochEvent` per epoch, then the result.

    Events count epochs from ``epoch_offset + 1`` out of ``n_epochs_total`` (default
    ``cfg.train_epochs``; ``auto`` resolved by whether there is a ``val_index``), so a later
    round of the same run continues the count.
    ``patches`` are ``(N, C + 1, *source_shape)`` float32 (cut larger than ``patch_shape``
    when augmentation resamples); ``targets`` are 0-based class indices. ``augmentation``
    is the resolved one (default: ``cfg``'s, with ``auto`` symmetries on).
    ``stop_when_learnt`` ends the training after the first epoch whose every sample was
    classified right with a mean loss of at most ``cfg.train_stop_loss``, as a hold-out
    set ends it (the symmetry probes, which have none: docs/benchmarks.md, issue 15).
    """
    if patches.shape[0] != targets.shape[0]:
        raise InvalidInputError("patches and targets differ in length")
    epochs = epoch_count(cfg.train_epochs, hold_out=val_index is not None and val_index.size > 0)
    val_index = np.zeros(0, int) if val_index is None else val_index
    train_index = np.setdiff1d(np.arange(targets.size), val_index)
    if train_index.size < 2:
        raise InvalidInputError(
            f"training needs at least 2 annotated objects, got {train_index.size}"
        )
    torch.manual_seed(cfg.train_seed)
    generator = torch.Generator().manual_seed(cfg.train_seed)
    aug = augmentation or Augmentation.from_config(cfg, len(patch_shape))
    x_all = torch.from_numpy(patches)
    y_all = torch.from_numpy(targets.astype(np.int64))
    x_val = to_device(center_crop(x_all[val_index], patch_shape), device)
    y_val = to_device(y_all[val_index], device)
    # the un-augmented training patches batch norm is recalibrated on, cut once for all epochs
    x_recalibrate = None
    if cfg.train_bn_recalibrate:
        x_recalibrate = center_crop(x_all[train_index], patch_shape)

    net.to(device)
    weights = class_weights(targets[train_index], n_classes, cfg.train_class_weighting)
    weights = None if weights is None else weights.to(device)
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=cfg.train_label_smoothing)
    eval_loss = nn.CrossEntropyLoss(weight=weights)  # validation scores the plain loss
    batch = min(cfg.train_batch_size, train_index.size)
    passes = max(1, -(-cfg.train_min_epoch_samples // train_index.size))
    steps = int(np.ceil(train_index.size * passes / batch))
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=cfg.train_lr, weight_decay=cfg.train_weight_decay
    )
    # OneCycleLR divides by its warm-up length (0.2 * total - 1): at least 10 steps keeps it
    # defined for a tiny run (e.g. a one-epoch pseudo-label round), which then ends unannealed
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.train_lr, total_steps=max(epochs * steps, 10), pct_start=0.2
    )
    dtype = autocast_dtype(device, cfg.precision)
    scaler = grad_scaler(device, dtype)  # a pass-through unless float16
    result = TrainResult(state_dict=_snapshot(net))
    best_key, stale = None, 0
    # 2D trains channels-last (docs/benchmarks.md, issue 15); the weights come back contiguous
    with training_layout(net) as layout:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            net.train()
            order = _epoch_order(train_index, cfg.train_min_epoch_samples, generator)
            y_epoch = to_device(y_all[order], device)  # the epoch's targets in one copy
            total_loss, correct = 0.0, 0
            for s in range(0, order.size, batch):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("training was cancelled")
                rows = order[s : s + batch]
                if rows.size < 2:  # batch norm cannot train on a single sample
                    continue
                # the batch's one host-to-device copy (rows gathered into pinned memory on CUDA)
                xb = augment(to_device(host_batch(x_all, device, rows), device), patch_shape, aug,
                             generator)  # fmt: skip
                if layout is not None:
                    xb = xb.contiguous(memory_format=layout)
                yb = y_epoch[s : s + batch]
                with autocast(device, dtype):
                    if cfg.train_mixup > 0:
                        lam, other = _mixup_draw(cfg.train_mixup, rows.size, generator)
                        other = other.to(xb.device)
                        # image channels blend; the mask stays the row's own object's: two
                        # half-weight masks would not say which object is classified (PanNuke
                        # lost 0.038 with blended masks, 0.018 with this; docs/benchmarks.md)
                        mixed = lam * xb + (1 - lam) * xb[other]
                        mixed[:, -1:] = xb[:, -1:]
                        logits = net(mixed)
                        loss = lam * loss_fn(logits, yb) + (1 - lam) * loss_fn(logits, yb[other])
                    else:
                        logits = net(xb)
                        loss = loss_fn(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scale = scaler.get_scale()  # 1.0 when disabled
                scaler.step(optimizer)
                scaler.update()
                if scaler.get_scale() >= scale:  # a lower scale: float16 skipped an inf/NaN step
                    scheduler.step()
                total_loss += loss.item() * rows.size
                correct += int((logits.argmax(1) == yb).sum())
            lr = float(scheduler.get_last_lr()[0])
            learnt = stop_when_learnt and samples_learnt(
                correct / max(order.size, 1), total_loss / max(order.size, 1), cfg.train_stop_loss
            )
            last = epoch == epochs or learnt
            if x_recalibrate is not None and (val_index.size or last):
                recalibrate_batch_norm(net, x_recalibrate, device, dtype, cfg.predict_batch_size)
            with autocast(device, dtype):
                val = _evaluate(net, x_val, y_val, eval_loss, n_classes, cfg.predict_batch_size)
            if val is None:
                key, improved = None, True
            else:
                key = (round(val["macro_f1"], 6), -val["loss"])
                improved = best_key is None or key > best_key
                result.last_validation = report(val["cm"], class_names)
            if improved:
                best_key, stale = key, 0
                result.state_dict = _snapshot(net)
                result.best_epoch = epoch_offset + epoch
                if val is not None:
                    result.validation = report(val["cm"], class_names)
            else:
                stale += 1
            event = EpochEvent(
                epoch=epoch_offset + epoch,
                n_epochs=n_epochs_total or epochs,
                train_loss=total_loss / max(order.size, 1),
                train_accuracy=correct / max(order.size, 1),
                val_loss=None if val is None else val["loss"],
                val_accuracy=None if val is None else val["accuracy"],
                val_macro_f1=None if val is None else val["macro_f1"],
                learning_rate=lr,
                seconds=time.perf_counter() - start,
                best=improved,
            )
            result.history.append(event)
            yield event
            if learnt:
                break
            if val is not None and cfg.train_patience and stale >= cfg.train_patience:
                break
            if val is not None and samples_learnt(
                val["accuracy"], val["loss"], cfg.train_stop_loss
            ):
                break
    net.load_state_dict(result.state_dict)
    yield result


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``net``'s weights in the usual (contiguous) layout, whatever it trains in."""
    return {
        k: v.detach().clone(memory_format=torch.contiguous_format)
        for k, v in net.state_dict().items()
    }


def recalibrate_batch_norm(
    net: nn.Module, x: torch.Tensor, device: torch.device, dtype: torch.dtype | None, batch: int
) -> None:
    """Set every batch norm's running mean and variance to the averages over ``x`` (host
    patches, cut to the network's input) under the current weights, as
    ``torch.optim.swa_utils.update_bn`` does. Batches are of near-equal size, because each
    weighs the same in its cumulative average."""
    chunks = torch.tensor_split(x, -(-x.shape[0] // batch)) if x.shape[0] else ()
    with autocast(device, dtype):
        update_bn((to_device(c, device) for c in chunks if c.shape[0] > 1), net)


def _mixup_draw(alpha: float, n: int, generator: torch.Generator) -> tuple[float, torch.Tensor]:
    """Mixup's weight, Beta(alpha, alpha) folded to >= 0.5 so the row's own target leads,
    and the batch's partner rows; both from the training generator (one seed, one run)."""
    rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
    lam = float(rng.beta(alpha, alpha))
    return max(lam, 1 - lam), torch.randperm(n, generator=generator)


def _epoch_order(index: np.ndarray, minimum: int, generator: torch.Generator) -> np.ndarray:
    """Shuffled training rows, repeated (each pass reshuffled) up to ``minimum`` samples.

    With a few dozen labels an epoch would be one or two steps: too few for the optimiser
    and for batch-norm running statistics, which then lag behind the weights at evaluation.
    """
    passes = max(1, -(-minimum // index.size))  # the same count as the schedule's steps
    return np.concatenate(
        [index[torch.randperm(index.size, generator=generator).numpy()] for _ in range(passes)]
    )


@torch.no_grad()
def _evaluate(net, x, y, loss_fn, n_classes: int, batch: int) -> dict | None:
    if x.shape[0] == 0:
        return None
    net.eval()
    logits = torch.cat([net(x[s : s + batch]) for s in range(0, x.shape[0], batch)])
    predicted = logits.argmax(1)
    cm = confusion_matrix(y.cpu().numpy(), predicted.cpu().numpy(), n_classes)
    rep = report(cm)
    return {
        "loss": float(loss_fn(logits, y)),
        "accuracy": rep["accuracy"],
        "macro_f1": rep["macro_f1"],
        "cm": cm,
    }
