"""Annotated datasets in the ``samples/`` layout (as in ../shared/data) and the by-image split.

Layout: ``<root>/classes.txt`` (CSV ``class,name``) and ``<root>/samples/<sample>/`` holding
``image.tif``, ``labels.tif`` and ``classes.csv`` (``label,class`` for the labelled objects).
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from .classifier import Sample
from .dataio.pairs import find_sample_pairs, load_pair
from .errors import InvalidInputError


def load_sample_set(
    root: str | Path, keep_classes: Collection[int] | None = None
) -> tuple[list[Sample], list[str]]:
    """Every sample of a dataset with its annotations, and the class names.

    ``keep_classes`` drops the other classes (e.g. a class too rare to learn); the kept
    classes are renumbered 1..K in their order, and the names follow.
    """
    root = Path(root)
    classes_file = root / "classes.txt"
    if not classes_file.is_file():
        raise InvalidInputError(f"{classes_file} not found: not a dataset in the samples layout")
    with open(classes_file, newline="") as fh:
        names = {int(r["class"]): r["name"] for r in csv.DictReader(fh)}
    kept = sorted(keep_classes) if keep_classes else sorted(names)
    renumber = {old: new for new, old in enumerate(kept, start=1)}
    samples = []
    for pair in find_sample_pairs(root / "samples"):
        image, labels = load_pair(pair)
        with open(pair.image_path.parent / "classes.csv", newline="") as fh:
            rows = [(int(r["label"]), int(r["class"])) for r in csv.DictReader(fh)]
        ann = {label: renumber[c] for label, c in rows if c in renumber}
        samples.append(Sample(image.array, labels, ann, image.axes, image.voxel_size, pair.stem))
    return samples, [names[k] for k in kept]


def split_by_image(
    samples: Sequence[Sample], fraction: float = 0.6, seed: int = 12345
) -> tuple[list[Sample], list[Sample]]:
    """(train, test) by image: sorted names shuffled with ``default_rng(seed).permutation``;
    the first ``round(fraction * n)`` are training images. No image is in both."""
    names = sorted(s.name for s in samples)
    if len(set(names)) != len(names):
        raise InvalidInputError("sample names must be unique to split by image")
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    train = set(order[: round(fraction * len(names))])
    return [s for s in samples if s.name in train], [s for s in samples if s.name not in train]


def labels_per_class(samples: Sequence[Sample], n: int | None, seed: int) -> list[Sample]:
    """Keep ``n`` random labels per class (all when None): for each class in increasing
    order, the objects sorted by (sample, label), ``default_rng(seed).permutation[:n]``."""
    if n is None:
        return list(samples)
    rng = np.random.default_rng(seed)
    chosen: set[tuple[str, int]] = set()
    classes = sorted({int(c) for s in samples for c in s.annotations.values()})
    for k in classes:
        members = sorted(
            (s.name, int(label)) for s in samples for label, c in s.annotations.items() if c == k
        )
        chosen.update(members[i] for i in rng.permutation(len(members))[:n])
    return [
        Sample(
            s.image,
            s.labels,
            {lab: c for lab, c in s.annotations.items() if (s.name, int(lab)) in chosen},
            s.axes,
            s.voxel_size,
            s.name,
        )
        for s in samples
    ]
