"""Per-image (``percentile``) against training-set (``fixed``) normalisation when a test
image holds one class only (a well without positive cells).

The generated ``brightness`` task (2 classes that differ only in intensity): 10 labels per
class from one mixed training image (seed 100 + s), default settings but ``norm_mode``;
accuracy on a mixed test image (seed 200 + s) and on that image with the objects of one
class erased (background pixels in their place, their labels removed).

    .venv/bin/python scripts/bench_normalisation.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import bench_common  # noqa: F401  (this checkout's phenosort, not the installed one)
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.testing import SyntheticData, make_objects

MODES = ("percentile", "fixed")


def one_class(d: SyntheticData, keep: int) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """``d``'s image and labels with the objects of every class but ``keep`` erased."""
    image, labels = d.image.copy(), d.labels.copy()
    background = np.median(image[labels == 0])
    for i, k in d.classes.items():
        if k != keep:
            image[labels == i] = background
            labels[labels == i] = 0
    return image, labels, {i: k for i, k in d.classes.items() if k == keep}


def accuracy(clf: ObjectClassifier, image, labels, classes: dict[int, int], axes: str) -> float:
    pred = clf.predict(image, labels, axes=axes)
    right = [classes[int(i)] == int(k) for i, k in zip(pred.label_id, pred.class_index)]
    return float(np.mean(right))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    for seed in parser.parse_args().seeds:
        train = make_objects("brightness", grid=(8, 8), seed=100 + seed)
        test = make_objects("brightness", grid=(8, 8), seed=200 + seed)
        rng = np.random.default_rng(seed)
        labelled = {}
        for k in (1, 2):
            ids = [i for i, c in train.classes.items() if c == k]
            labelled.update({int(i): k for i in rng.choice(ids, 10, replace=False)})
        line = []
        for mode in MODES:
            clf = ObjectClassifier(train.class_names, norm_mode=mode, train_seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the chance check's, if any
                clf.fit([Sample(train.image, train.labels, labelled, train.axes)])
            mixed = accuracy(clf, test.image, test.labels, test.classes, test.axes)
            alone = [accuracy(clf, *one_class(test, k), test.axes) for k in (1, 2)]
            line.append(f"{mode}: mixed {mixed:.3f}, only dim {alone[0]:.3f}, "
                        f"only bright {alone[1]:.3f}")  # fmt: skip
        print(f"seed {seed}  " + " | ".join(line), flush=True)


if __name__ == "__main__":
    main()
