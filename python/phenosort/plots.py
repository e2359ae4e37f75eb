"""The training report's figures, drawn with matplotlib's Agg canvas (no pyplot, no global
backend change), each returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

_DPI = 110


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def training_curves(history: Sequence[dict]) -> bytes:
    """Loss and accuracy per epoch (training, and validation when there was a hold-out),
    with the kept (best) epoch marked."""
    fig = _figure(8.0, 3.2)
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [int(h["epoch"]) for h in history]

    def series(key):
        values = [h.get(key) for h in history]
        return (
            None if all(v is None for v in values) else [np.nan if v is None else v for v in values]
        )

    best = [int(h["epoch"]) for h in history if h.get("best")]
    for ax, keys, label in (
        (loss_ax, (("train_loss", "training"), ("val_loss", "validation")), "loss"),
        (
            acc_ax,
            (
                ("train_accuracy", "training"),
                ("val_accuracy", "validation"),
                ("val_macro_f1", "validation macro-F1"),
            ),
            "accuracy",
        ),
    ):
        for key, name in keys:
            values = series(key)
            if values is not None:
                ax.plot(epochs, values, label=name, linestyle=":" if "f1" in key else "-")
        if best:
            ax.axvline(best[-1], color="0.5", linewidth=0.8, linestyle="--", label="kept epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    acc_ax.set_ylim(-0.02, 1.02)
    if not history:
        loss_ax.text(0.5, 0.5, "no epochs recorded", ha="center", transform=loss_ax.transAxes)
    return png_bytes(fig)


def confusion(cm: np.ndarray, class_names: Sequence[str], title: str) -> bytes:
    """Counts per (true, predicted) class, coloured by the fraction of the true class."""
    cm = np.asarray(cm, np.int64)
    k = len(class_names)
    side = 2.4 + 0.55 * k
    fig = _figure(side + 1.0, side)
    ax = fig.subplots()
    totals = cm.sum(axis=1, keepdims=True)
    fraction = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    image = ax.imshow(fraction, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            color = "white" if fraction[i, j] > 0.6 else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=color, fontsize=10)
    ax.set_xticks(range(k), class_names, rotation=30, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("labelled class")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="fraction of the labelled class", shrink=0.8)
    return png_bytes(fig)


def per_class(metrics: dict) -> bytes:
    """Precision, recall and F1 of each class as grouped bars (support in the labels)."""
    rows = metrics["per_class"]
    names = list(rows)
    fig = _figure(max(4.0, 1.2 + 1.1 * len(names)), 3.0)
    ax = fig.subplots()
    x = np.arange(len(names))
    for i, key in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (i - 1) * 0.27, [rows[n][key] for n in names], 0.27, label=key)
    ax.set_xticks(x, [f"{n}\n(n={rows[n]['support']})" for n in names])
    ax.set_ylim(0, 1.2)  # headroom for the legend, above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", ncols=3, frameon=False)
    return png_bytes(fig)
