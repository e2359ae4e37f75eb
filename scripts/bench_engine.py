#!/usr/bin/env python
"""Engine benchmark (issue 3): training on a real dataset, seconds per epoch and test scores.

Training uses the real ``pannuke_breast25`` dataset with the default ``ObjectClassifier``
settings, split by image (first 60 % of the sorted samples train, the rest test).
Prediction per stage (object table, patches, forward, painting, I/O) moved to
``scripts/bench_predict.py``, which times the same stages plus reading and writing files.

Example::

    .venv/bin/python scripts/bench_engine.py --out bench_engine.json
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench_common import SHARED_DATA, finish_run, start_run
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.model.metrics import confusion_matrix, report


# ---------------------------------------------------------------------- training
def load_dataset(root: Path) -> tuple[list[str], list[Sample]]:
    import tifffile

    with open(root / "classes.txt", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["class"]))
    names = [r["name"] for r in rows]
    samples = []
    for d in sorted(p for p in (root / "samples").iterdir() if p.is_dir()):
        with open(d / "classes.csv", newline="") as fh:
            ann = {int(r["label"]): int(r["class"]) for r in csv.DictReader(fh)}
        image = tifffile.imread(d / "image.tif")
        labels = tifffile.imread(d / "labels.tif")
        samples.append(Sample(image, labels, ann, "YXC", None, d.name))
    return names, samples


def bench_training(args) -> dict:
    root = Path(args.data_root) / args.dataset
    if not (root / "samples").is_dir():
        raise SystemExit(f"dataset {root} not found (see --data-root)")
    names, samples = load_dataset(root)
    n_train = int(round(len(samples) * 0.6))
    train, test = samples[:n_train], samples[n_train:]
    settings = {} if args.train_epochs is None else {"train_epochs": args.train_epochs}
    clf = ObjectClassifier(names, device="cpu", **settings)

    def progress(e):
        if args.verbose:
            print(f"  epoch {e.epoch:3d} {e.seconds:6.2f} s  val macro-F1 {e.val_macro_f1:.3f}")

    start = time.perf_counter()
    clf.fit(train, progress=progress)
    total = time.perf_counter() - start
    seconds = [h["seconds"] for h in clf.history]
    best_epoch = max((h["epoch"] for h in clf.history if h["best"]), default=0)

    truth, predicted = [], []
    start = time.perf_counter()
    for s in test:
        ids = sorted(s.annotations)
        pred = clf.predict(s.image, s.labels, axes=s.axes, label_ids=ids)
        truth.extend(s.annotations[int(i)] - 1 for i in pred.label_id)
        predicted.extend((pred.class_index - 1).tolist())
    predict_s = time.perf_counter() - start
    rep = report(confusion_matrix(np.array(truth), np.array(predicted), len(names)), names)
    return {
        "dataset": args.dataset,
        "train_images": len(train),
        "test_images": len(test),
        "train_objects": int(sum(len(s.annotations) for s in train)),
        "test_objects": rep["n"],
        "patch_shape": list(clf.patch_spec.shape),
        "max_epochs": clf.config.train_epochs,
        "patience": clf.config.train_patience,
        "epochs_run": len(clf.history),
        "best_epoch": best_epoch,
        "seconds_per_epoch": float(np.mean(seconds)),
        "seconds_per_epoch_median": float(np.median(seconds)),
        "seconds_per_epoch_min": float(np.min(seconds)),
        "epoch_seconds": seconds,
        "training_seconds": total,
        "test_predict_seconds": predict_s,
        "test_accuracy": rep["accuracy"],
        "test_macro_f1": rep["macro_f1"],
        "test_confusion_matrix": rep["confusion_matrix"],
        "validation_macro_f1": (clf.validation or {}).get("macro_f1"),
    }


# ---------------------------------------------------------------------- main
def print_tables(result: dict) -> None:
    m = result["machine"]
    print(
        f"\n{m['cpu_count']} CPU(s), torch {m['torch']} ({m['torch_threads']} threads), "
        f"load average {m['load_average_at_start'][0]:.2f} at start, "
        f"{m['load_average_at_end'][0]:.2f} at end"
    )
    tr = result.get("training")
    if tr:
        print(
            f"\nTraining on {tr['dataset']}: {tr['train_images']} images / "
            f"{tr['train_objects']} objects, test {tr['test_images']} images / "
            f"{tr['test_objects']} objects, patch {tr['patch_shape']}"
        )
        rows = [
            (
                "seconds/epoch",
                f"{tr['seconds_per_epoch']:.2f} mean, {tr['seconds_per_epoch_median']:.2f} "
                f"median, {tr['seconds_per_epoch_min']:.2f} min",
            ),
            ("epochs run", f"{tr['epochs_run']} (max {tr['max_epochs']}, best {tr['best_epoch']})"),
            ("training s", f"{tr['training_seconds']:.1f}"),
            ("test accuracy", f"{tr['test_accuracy']:.3f}"),
            ("test macro-F1", f"{tr['test_macro_f1']:.3f}"),
        ]
        for k, v in rows:
            print(f"{k:<14} {v}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data-root",
        default=str(SHARED_DATA),
        help="folder of the real datasets (default ../shared/data from the repository root)",
    )
    p.add_argument("--dataset", default="pannuke_breast25", help="training dataset")
    p.add_argument(
        "--train-epochs",
        type=int,
        default=None,
        help="override the maximum number of training epochs (default: ObjectClassifier's)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--verbose", action="store_true", help="print every training epoch")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = start_run(args)
    result["training"] = bench_training(args)
    result["machine"]["load_average_at_end"] = list(os.getloadavg())
    print_tables(result)
    finish_run(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
