"""What the training report says in words: which evaluation scores the model, and the
decisions the engine took (from a model file's metadata; no pixels, no weights)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .model.config import dropout_rate, epoch_count
from .model.metrics import report, samples_learnt


@dataclass(frozen=True)
class Evaluation:
    """The confusion matrix that scores the model: ``source`` is ``hold-out`` or
    ``2-fold estimate``; ``metrics`` is :func:`phenosort.model.metrics.report` of it."""

    source: str
    title: str
    explanation: str
    matrix: np.ndarray
    metrics: dict


def kfold_evaluation(cv: dict, names: list[str]) -> Evaluation:
    """The K-fold cross-validation of ``phenosort train --kfold K``
    (:func:`phenosort.evaluation.cross_validate`)."""
    k = int(cv["k"])
    cm = np.asarray(cv["confusion_matrix"], np.int64)
    folds = ", ".join(f"{a:.3f}" for a in cv.get("per_fold_accuracy", []))
    return Evaluation(
        f"{k}-fold cross-validation",
        f"{k}-fold cross-validation: {int(cm.sum())} labelled objects, each predicted by a "
        f"model trained without its fold",
        f"Before the final training, {k} models were trained with the same settings, each "
        f"without one fold of the labels (no hold-out), and every label was predicted by the "
        f"model that had not seen it (fold accuracies {folds}). Objects of one image can fall "
        "in different folds.",
        cm,
        report(cm, names),
    )


def evaluation_of(meta: dict, kfold: dict | None = None) -> Evaluation | None:
    """The hold-out's confusion matrix when training made one, else the K-fold
    cross-validation ``kfold`` when one was run, else the 2-fold estimate of the symmetry
    probes, else None (as the CLI's ``training_summary`` picks them)."""
    names = list(meta["class_names"])
    validation = meta.get("validation")
    if not validation and kfold:
        return kfold_evaluation(kfold, names)
    if validation:
        cm = np.asarray(validation["confusion_matrix"], np.int64)
        return Evaluation(
            "hold-out",
            f"hold-out: {int(cm.sum())} labelled objects the model never trained on",
            "A stratified part of the labels was held out of training; its scores chose the "
            "kept epoch, so they are slightly optimistic.",
            cm,
            report(cm, names),
        )
    estimate = (meta.get("symmetry") or {}).get("estimate")
    if estimate:
        cm = np.asarray(estimate["confusion_matrix"], np.int64)
        return Evaluation(
            "2-fold estimate",
            f"2-fold estimate: {int(cm.sum())} labelled objects, each predicted by a probe "
            "that never saw it",
            "There were too few labels for a hold-out set, so every label trained the model. "
            f"This estimate comes from {estimate.get('method', 'short 2-fold probe runs')}; "
            "probes are weaker than the final model, so it is a pessimistic guide.",
            cm,
            report(cm, names),
        )
    return None


def _default(name: str):
    from .model.config import ModelConfig

    return {f.name: f.default for f in fields(ModelConfig)}[name]


def _origin(cfg: dict, *keys: str) -> str:
    changed = [k for k in keys if k in cfg and cfg[k] != _default(k)]
    return f"set ({', '.join(changed)})" if changed else "default"


def decisions(meta: dict) -> list[tuple[str, str, str]]:
    """``(what, chosen, why)`` rows: network, patch, context, normalisation, symmetries,
    epochs, hold-out, class weighting, pseudo-labels, training data."""
    cfg = meta["config"]
    patch, norm = meta["patch"], meta["normalization"]
    rows = []
    if cfg["net_name"] == "light":
        net = f"light, width {cfg['net_width']}, depth {cfg['net_depth']}"
        order = cfg.get("net_block", "conv-relu-bn")  # files made before net_block: the old order
        blocks = "Conv-BN-ReLU-MaxPool" if order == "conv-bn-relu" else "Conv-ReLU-BN-MaxPool"
        why = (
            f"{blocks} blocks; Svetlana et al. 2024 found widths 2-64 and depths 2-3 reach "
            "similar accuracy"
        )
    else:
        net, why = cfg["net_name"], "a larger network"
    if cfg.get("net_weights"):
        why += f"; initialised from {cfg['net_weights']}"
    setting = cfg.get("net_dropout", 0.0)
    dropout = dropout_rate(setting, hold_out=bool(meta.get("validation")))
    if setting == "auto" and dropout:
        why += "; dropout while training: no hold-out set picks the epoch (net_dropout auto)"
    if dropout and cfg["net_name"] == "light":
        net += f", dropout {dropout:g}"
    origin = _origin(cfg, "net_name", "net_width", "net_depth", "net_block", "net_dropout")
    rows.append(("network", net, f"{origin}: {why}"))

    shape = "x".join(str(s) for s in patch["shape"])
    scale = float(patch.get("scale", 1.0))
    if cfg.get("patch_size"):
        why = f"set: patch_size {cfg['patch_size']} pixels"
    else:
        why = "estimated from the labelled objects (90th percentile of their extents x 1.5)"
    if scale > 1:
        why += (
            f"; a field of view over patch_max_size {cfg['patch_max_size']} is sampled every "
            f"{scale:.2f} pixels"
        )
    view = "x".join(str(round(s * scale)) for s in patch["shape"])
    rows.append(("patch", f"{shape} voxels (field of view {view} pixels)", why))
    radius = patch.get("context_radius")
    rows.append(
        (
            "context",
            "kept" if radius is None else f"object dilated by {radius} pixels only",
            "neighbours and surroundings stay in the patch"
            if radius is None
            else "set: patch_context_radius suppresses the neighbours",
        )
    )

    mode = norm["mode"]
    chosen = mode
    if mode in ("percentile", "fixed"):
        chosen += f" {norm['low']}-{norm['high']}, channels {norm.get('channels', 'each')}"
    why = {
        "percentile": "per image: keeps brightness differences between objects, which "
        "per-patch min-max would erase",
        "fixed": "the training set's percentiles for every image: keeps absolute intensity",
        "patch_minmax": "per patch: removes brightness differences between objects",
        "none": "raw values",
    }.get(mode, "")
    test = (meta.get("symmetry") or {}).get("normalization")
    if test:  # norm_mode auto: chosen on the labels
        from .model.norm_choice import reason

        why = f"{why}; {reason(test)}"
    rows.append(("normalisation", chosen, f"{_origin(cfg, 'norm_mode')}: {why}"))

    for test in (meta.get("symmetry") or {}).get("tests", []):
        rows.append(_symmetry_row(test))

    history = meta.get("history") or []
    best = [h["epoch"] for h in history if h.get("best")]
    kept = best[-1] if best else "?"
    patience = cfg.get("train_patience")
    stop_loss = cfg.get("train_stop_loss") or 0
    last = history[-1] if history else {}
    if meta.get("validation") and samples_learnt(
        last.get("val_accuracy"), last.get("val_loss"), stop_loss
    ):
        why = f"stopped once every held-out object was right with a loss <= {stop_loss:g}"
    elif meta.get("validation") and patience:
        why = f"best validation score kept; early stopping after {patience} epochs without gain"
    else:
        why = "no hold-out to judge epochs by: the last epoch is kept"
    at_most = epoch_count(cfg["train_epochs"], hold_out=bool(meta.get("validation")))
    if cfg["train_epochs"] == "auto":
        held = "with" if meta.get("validation") else "without"
        why += f"; {at_most} epochs at most {held} a hold-out (train_epochs auto)"
    rows.append(("epochs", f"{len(history)} run of at most {at_most}, epoch {kept} kept", why))
    if meta.get("validation"):
        rows.append(
            ("hold-out", f"{cfg['train_val_fraction']:.0%} of each class", "validation metrics")
        )
    else:
        rows.append(
            (
                "hold-out",
                "none",
                f"a class has too few labels to hold out {cfg['train_val_min_per_class']} "
                "of them (train_val_min_per_class), or train_val_fraction is 0: every label "
                "trained",
            )
        )
    rows.append(
        (
            "class weighting",
            cfg["train_class_weighting"],
            "the loss weighs classes by inverse frequency, so a rare class counts as much"
            if cfg["train_class_weighting"] == "balanced"
            else "every object counts the same",
        )
    )
    data = meta.get("training_data") or []
    n_pseudo = sum(len(d.get("pseudo_label_ids", [])) for d in data)
    if cfg.get("train_pseudo_threshold"):
        rows.append(
            (
                "pseudo-labels",
                f"{n_pseudo} added",
                f"unlabelled objects predicted with p >= {cfg['train_pseudo_threshold']} "
                "joined a second round",
            )
        )
    for d in data:
        counts = ", ".join(f"{k} {v}" for k, v in d.get("per_class", {}).items())
        rows.append(("training image", d.get("name", "?"), f"labels: {counts}"))
    return rows


def _symmetry_row(test: dict) -> tuple[str, str, str]:
    from .model.symmetry import MIN_DROP, WHY

    name, kept = test["name"], test["kept"]
    state = "used" if kept else "left out"
    if test.get("source") == "setting":
        return (f"symmetry {name}", state, "set by aug_* (not tested)")
    if test.get("drop") is None:
        return (f"symmetry {name}", state, "not tested: too few labels per class")
    evidence = f"true-class probability drop {test['drop']:+.2f}, p={test['p_value']:.2g}"
    if kept:
        why = f"tested on the labels: {evidence}; a drop over {MIN_DROP} would leave it out"
        return (f"symmetry {name}", state, why)
    return (f"symmetry {name}", state, f"{WHY.get(name, 'breaks the classes')} ({evidence})")
