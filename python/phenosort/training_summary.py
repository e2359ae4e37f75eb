"""What a finished training says, in words: the validation metrics (or why there is no
validation set, and the estimate instead), the symmetries kept and the chance check; from a
model file's metadata or a training's outcome, local or on a server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .model.metrics import format_report, report

NO_VALIDATION = (
    "no validation set: train_val_fraction is 0, or a class has too few labels to hold "
    "train_val_min_per_class of them out; every label trained (--kfold K estimates accuracy)"
)


def no_validation_reason(record: dict) -> str:
    """Which of the two causes left a training without a hold-out, from the settings
    (``config``) and label counts (``training_data``) of a model file's metadata; the
    rule is :func:`phenosort.model.train.validation_index`'s. :data:`NO_VALIDATION`
    (both causes) when the record lacks them."""
    cfg = record.get("config") or {}
    fraction, least = cfg.get("train_val_fraction"), cfg.get("train_val_min_per_class")
    counts: dict[str, int] = {}
    for entry in record.get("training_data") or []:
        for name, n in (entry.get("per_class") or {}).items():
            counts[name] = counts.get(name, 0) + int(n)
    counts = {name: n for name, n in counts.items() if n > 0}
    tail = "; every label trained (--kfold K estimates accuracy)"
    if fraction is not None and fraction <= 0:
        return f"no validation set: train_val_fraction is {fraction}{tail}"
    if fraction is not None and least is not None and counts:
        name, n = min(counts.items(), key=lambda item: item[1])
        if n * fraction < least:
            return (
                f"no validation set: class {name!r} has {n} labels, and train_val_fraction "
                f"{fraction} of them ({n * fraction:.3g}) is fewer than "
                f"train_val_min_per_class {least}{tail}"
            )
    return NO_VALIDATION


def training_summary(record: dict) -> list[str]:
    """Lines about a training (a model file's metadata or a training outcome)."""
    from .model.norm_choice import describe as describe_ranges
    from .model.symmetry import describe

    lines = []
    if record.get("validation"):
        lines.append(format_report(record["validation"]))
    else:
        lines.append(no_validation_reason(record))
        estimate = (record.get("symmetry") or {}).get("estimate")
        if estimate:
            lines.append(f"estimate from {estimate['method']}:")
            cm = np.asarray(estimate["confusion_matrix"])
            lines.append(format_report(report(cm, record.get("class_names")), "estimate objects"))
    if record.get("symmetry"):
        lines.append(describe(record["symmetry"]))
        if record["symmetry"].get("normalization"):
            lines.append(describe_ranges(record["symmetry"]["normalization"]))
    assessment = record.get("assessment")
    if assessment:
        lines.append(
            f"chance check ({assessment['source']}): balanced accuracy "
            f"{assessment['balanced_accuracy']:.3f} vs chance {assessment['chance']:.3f}, "
            f"p={assessment['p_value']:.3g}: "
            + {
                "better": "better than chance",
                "uncertain": "too few objects to tell",
                "chance": "NOT better than chance",
            }[assessment.get("verdict", "better")]
        )
    return lines


def training_record(clf) -> dict:
    """The outcome of an in-process training, as :func:`print_training` reads it (with
    ``config`` and ``training_data``: why there is no validation set)."""
    return {
        "class_names": clf.class_names,
        "validation": clf.validation,
        "symmetry": clf.symmetry,
        "assessment": clf.assessment,
        "config": clf.config.to_dict(),
        "training_data": clf.training_data,
    }


def print_training(model: Path, outcome: dict, version: int, *, as_json: bool = False) -> None:
    """Where the model went and :func:`training_summary` on stdout (or, ``as_json``, the
    validation, symmetries and chance check as JSON); the chance check's warning goes to
    stderr either way."""
    assessment = outcome.get("assessment") or {}
    if as_json:
        keys = ("validation", "symmetry", "assessment")
        print(json.dumps({"model": str(model), **{k: outcome.get(k) for k in keys}}, indent=2))
    else:
        print(f"model written to {model} (version {version})")
        print("\n".join(training_summary(outcome)))
    if assessment.get("warning"):
        level = "error" if assessment.get("verdict") == "chance" else "warning"
        print(f"{level}: {assessment['warning']}", file=sys.stderr)
