"""Classification metrics from a confusion matrix (no scikit-learn dependency for four sums)."""

from __future__ import annotations

import numpy as np


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """``(K, K)`` counts; rows are true classes, columns predicted (0-based indices)."""
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (np.asarray(truth, int), np.asarray(predicted, int)), 1)
    return cm


def report(cm: np.ndarray, class_names: list[str] | None = None) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support from a confusion matrix.

    Classes without true or predicted objects get precision/recall 0 where undefined; the
    macro-F1 averages over classes that have true objects.
    """
    cm = np.asarray(cm)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = support > 0
    total = cm.sum()
    names = class_names or [str(i + 1) for i in range(len(cm))]
    return {
        "n": int(total),
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "confusion_matrix": cm.tolist(),
        "per_class": {
            name: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for name, p, r, f, s in zip(names, precision, recall, f1, support)
        },
    }


def format_report(metrics: dict) -> str:
    """Human-readable metrics block: accuracy, macro-F1, per-class table, confusion matrix."""
    lines = [
        f"validation objects: {metrics['n']}",
        f"accuracy: {metrics['accuracy']:.3f}   macro-F1: {metrics['macro_f1']:.3f}",
        f"{'class':<20} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>5}",
    ]
    for name, row in metrics["per_class"].items():
        lines.append(
            f"{name[:20]:<20} {row['precision']:>9.3f} {row['recall']:>7.3f} "
            f"{row['f1']:>6.3f} {row['support']:>5d}"
        )
    names = list(metrics["per_class"])
    lines.append("confusion matrix (rows: true, columns: predicted)")
    width = max(6, *(len(n[:12]) for n in names))
    lines.append(" ".join(f"{n[:12]:>{width}}" for n in ["", *names]))
    for name, row in zip(names, metrics["confusion_matrix"]):
        lines.append(" ".join([f"{name[:12]:>{width}}", *(f"{v:>{width}d}" for v in row)]))
    return "\n".join(lines)
