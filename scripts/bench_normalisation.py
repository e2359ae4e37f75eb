"""Per-image (``percentile``), training-set (``fixed``) and label-chosen (``auto``, the
default) normalisation when an image holds one class only (a well without positive cells).

The generated ``brightness`` task (2 classes that differ only in intensity), 10 labels per
class, default settings but ``norm_mode``, trained two ways:

- ``mixed``: on one mixed training image (seed 100 + s);
- ``apart``: on two images of one class each (that image with the other class erased);

and scored on a mixed test image (seed 200 + s) and on that image with the objects of one
class erased (background pixels in their place, their labels removed). ``--task`` runs
another generated task, where the classes are no brightness levels.

    .venv/bin/python scripts/bench_normalisation.py [--seeds 0 1 2] [--task texture]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import bench_common  # noqa: F401  (this checkout's phenosort, not the installed one)
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.testing import SyntheticData, make_objects

MODES = ("auto", "percentile", "fixed")


def accuracy(clf: ObjectClassifier, d: SyntheticData) -> float:
    pred = clf.predict(d.image, d.labels, axes=d.axes)
    right = [d.classes[int(i)] == int(k) for i, k in zip(pred.label_id, pred.class_index)]
    return float(np.mean(right))


def labelled(d: SyntheticData, n: int, seed: int) -> dict[int, int]:
    rng = np.random.default_rng(seed)
    chosen = {}
    for k in sorted(set(d.classes.values())):
        ids = sorted(i for i, c in d.classes.items() if c == k)
        chosen.update({int(i): k for i in rng.choice(ids, min(n, len(ids)), replace=False)})
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--task", default="brightness")
    args = parser.parse_args()
    for seed in args.seeds:
        train = make_objects(args.task, grid=(8, 8), seed=100 + seed)
        test = make_objects(args.task, grid=(8, 8), seed=200 + seed)
        classes = sorted(set(test.classes.values()))
        designs = {
            "mixed": [Sample(train.image, train.labels, labelled(train, 10, seed), train.axes)],
            "apart": [
                Sample(d.image, d.labels, labelled(d, 10, seed), d.axes)
                for d in (train.only(k) for k in classes)
            ],
        }
        for design, samples in designs.items():
            line = []
            for mode in MODES:
                clf = ObjectClassifier(train.class_names, norm_mode=mode, train_seed=seed)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the chance check's, if any
                    clf.fit(samples)
                seconds = time.perf_counter() - start
                scores = [accuracy(clf, test)] + [accuracy(clf, test.only(k)) for k in classes]
                chosen = f"={clf.normalization.mode}" if mode == "auto" else ""
                line.append(
                    f"{mode}{chosen} {seconds:.1f} s: " + " ".join(f"{v:.3f}" for v in scores)
                )
            print(f"seed {seed} {design:5s} " + " | ".join(line), flush=True)


if __name__ == "__main__":
    main()
