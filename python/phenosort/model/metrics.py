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


def samples_learnt(accuracy: float | None, loss: float | None, stop_loss: float) -> bool:
    """Whether training stops on this score of a set of samples (``train_stop_loss``): the
    hold-out's, or a symmetry probe's own training samples'. Every sample right, with a mean
    loss of at most ``stop_loss`` (0 never stops)."""
    return bool(stop_loss) and accuracy == 1.0 and loss is not None and loss <= stop_loss


def format_report(metrics: dict, scored: str = "validation objects") -> str:
    """Human-readable metrics block: accuracy, macro-F1, per-class table, confusion matrix
    (``scored`` names the objects scored, e.g. ``2-fold estimate objects``)."""
    lines = [
        f"{scored}: {metrics['n']}",
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


CHANCE_ALPHA = 0.05
ESTIMATE_CHANCE_P = 0.25
CHANCE_ADVICE = (
    "label more objects (especially of the classes it confuses); check that the classes "
    "differ inside the patches (patch_size, norm_mode); if orientation, handedness or "
    "polarity is the cue, make sure aug_rot90/aug_flip are not forced on"
)


def chance_check(cm: np.ndarray, source: str, seed: int = 0, permutations: int = 2000) -> dict:
    """Is the balanced accuracy of ``cm`` clearly above chance (1/K)?

    A permutation test: the true classes are shuffled among the scored objects (keeping the
    predictions), which gives the balanced accuracies of a model unrelated to the classes;
    the model is "better than chance" when fewer than 5 % of them reach its own.
    ``verdict``: ``better``; ``uncertain`` (not shown, but the balanced accuracy is over a
    quarter of the way from chance to 1: too few objects to tell; a 2-fold estimate on 10
    labels often is, for a model that then does well; or, for a 2-fold estimate, p < 0.25);
    ``chance`` (the model learnt nothing that shows). ``warning`` says it in plain words
    (empty when better).
    ``source`` names where ``cm`` comes from (``hold-out``, ``2-fold estimate``).
    """
    cm = np.asarray(cm, np.int64)
    truth = np.repeat(np.arange(cm.shape[0]), cm.sum(axis=1))
    predicted = np.concatenate([np.repeat(np.arange(cm.shape[1]), row) for row in cm])
    observed = _balanced_accuracy(truth, predicted, cm.shape[0])
    rng = np.random.default_rng(seed)
    null = np.array(
        [_balanced_accuracy(rng.permutation(truth), predicted, cm.shape[0])
         for _ in range(permutations)]
    )  # fmt: skip
    p_value = (1 + int((null >= observed - 1e-12).sum())) / (permutations + 1)
    n_classes = int((cm.sum(axis=1) > 0).sum())
    chance = 1.0 / max(n_classes, 1)
    n = int(cm.sum())
    # a 2-fold estimate comes from short probes on half the labels, weaker than the model it
    # judges: call it "chance" only when it is not even weakly above chance
    chance_p = CHANCE_ALPHA if source == "hold-out" else ESTIMATE_CHANCE_P
    if p_value < CHANCE_ALPHA:
        verdict, warning = "better", ""
    elif observed >= chance + (1 - chance) / 4 or p_value < chance_p:  # too few to tell
        verdict = "uncertain"
        warning = (
            f"with {n} labelled objects phenosort cannot yet show that this model beats "
            f"chance: its {source} balanced accuracy is {observed:.2f}, guessing gives "
            f"{chance:.2f} (p={p_value:.2f}). Label more objects to know how good it is."
        )
    else:
        verdict = "chance"
        warning = (
            f"this model is not clearly better than chance: its {source} balanced accuracy "
            f"is {observed:.2f} on {n} labelled objects, where guessing gives {chance:.2f} "
            f"(p={p_value:.2f}). It was kept, but do not trust its classes. Try: "
            f"{CHANCE_ADVICE}."
        )
    return {
        "source": source,
        "n": n,
        "balanced_accuracy": round(observed, 4),
        "chance": round(chance, 4),
        "p_value": round(p_value, 4),
        "better_than_chance": verdict == "better",
        "verdict": verdict,
        "warning": warning,
    }


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    recalls = [
        float((predicted[truth == c] == c).mean()) for c in range(n_classes) if (truth == c).any()
    ]
    return float(np.mean(recalls)) if recalls else 0.0


def warn_if_chance(assessment: dict | None) -> None:
    """Raise a :class:`ChanceLevelWarning` for a model that learnt nothing that shows."""
    if assessment and assessment.get("verdict") == "chance":
        import warnings

        from ..errors import ChanceLevelWarning

        warnings.warn(assessment["warning"], ChanceLevelWarning, stacklevel=3)


def drop_test(
    p: np.ndarray, q: np.ndarray, classes: np.ndarray, seed: int, permutations: int = 2000
) -> tuple[float, float]:
    """Class-balanced mean of ``p - q`` and its one-sided sign-flip permutation p-value.

    ``p`` and ``q``: a probe's probabilities of the true class of held-out objects as they
    are and transformed (model/symmetry.py, model/norm_choice.py). Under the null (the
    transformation keeps classes), ``x`` and ``g(x)`` are exchangeable for a probe that saw
    neither, so each difference is as likely negative as positive."""
    d = p - q
    weights = np.zeros(d.size)
    for c in np.unique(classes):
        members = classes == c
        weights[members] = 1.0 / (members.sum() * np.unique(classes).size)
    observed = float((weights * d).sum())
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(permutations, d.size))
    null = (signs * (weights * d)).sum(axis=1)
    p_value = (1 + int((null >= observed - 1e-12).sum())) / (permutations + 1)
    return observed, p_value
