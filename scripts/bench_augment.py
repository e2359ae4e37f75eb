"""Measure augmentation settings on the real datasets (held-out images), to choose defaults.

For each dataset: split by image (60 % train, seed 12345), train with each augmentation
variant (everything else at its default), score macro-F1 and accuracy on the test images.

    .venv/bin/python scripts/bench_augment.py [--seeds 0 1] [--labels-per-class 50]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench_common import SHARED_DATA
from phenosort.classifier import ObjectClassifier
from phenosort.evaluation import score_samples
from phenosort.sample_sets import labels_per_class, load_sample_set, split_by_image

DATASETS = {"pannuke_breast25": None, "wbc": {1, 2, 3, 4}}  # wbc: basophil (4) left out
VARIANTS = {
    "default": {},
    "none": {
        "aug_flip": False,
        "aug_rot90": False,
        "aug_rotate_degrees": 0.0,
        "aug_scale": 0.0,
        "aug_intensity": 0.0,
        "aug_noise": 0.0,
    },
    "flips+rot90 only": {
        "aug_rotate_degrees": 0.0,
        "aug_scale": 0.0,
        "aug_intensity": 0.0,
        "aug_noise": 0.0,
    },
    "geometric only": {"aug_intensity": 0.0, "aug_noise": 0.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=SHARED_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--labels-per-class", type=int, default=None, help="default: all")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args()
    results = []
    for name, keep in DATASETS.items():
        samples, names = load_sample_set(args.data_root / name, keep)
        train, test = split_by_image(samples)
        for variant in args.variants:
            f1s, accs, secs = [], [], []
            for seed in args.seeds:
                picked = labels_per_class(train, args.labels_per_class, seed)
                clf = ObjectClassifier(names, train_seed=seed, **VARIANTS[variant])
                start = time.perf_counter()
                clf.fit(picked)
                secs.append(time.perf_counter() - start)
                metrics = score_samples(clf, test)
                f1s.append(metrics["macro_f1"])
                accs.append(metrics["accuracy"])
            row = {
                "dataset": name,
                "variant": variant,
                "macro_f1": float(np.mean(f1s)),
                "accuracy": float(np.mean(accs)),
                "train_s": float(np.mean(secs)),
                "seeds": args.seeds,
            }
            results.append(row)
            print(
                f"{name:<18} {variant:<18} macro-F1 {row['macro_f1']:.3f}  "
                f"accuracy {row['accuracy']:.3f}  train {row['train_s']:.0f} s",
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
