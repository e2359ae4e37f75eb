"""Per-image or training-set intensity ranges, chosen from the user's labels (``norm_mode``
``auto``, the default).

``percentile`` maps each image's own low and high percentiles to 0 and 1. That removes
changes of exposure or stain between images, but an image's range depends on what the image
holds: when the classes are brightness levels, the dim cells of an image without bright ones
are stretched to the top of the range and read as bright (0.000 against 1.000 with
``fixed``, docs/benchmarks.md). ``fixed`` (the training images' range for every image) keeps
absolute intensity and is wrong in turn where stain varies between images (PanNuke H&E at
10 labels per class: -0.045 macro-F1). So the choice is tested in the symmetry probes' two
folds (model/symmetry.py), at the cost of a prediction unless the evidence asks for more:

- **composition**: the first probe (per-image ranges) predicts each held-out object again,
  normalised with the range its image would have if its objects were otherwise: all of the
  object's class (:func:`one_class_range`), and mixed as the training set's labelled objects
  are, each class an equal share (:func:`mixed_voxels`; this is the test for images that
  each hold one class). When the true class's probability drops by more than ``MIN_DROP``
  (one-sided sign-flip test, p < ``ALPHA``, as for a symmetry), per-image ranges change the
  class with what an image holds;
- **nothing learnt**: the first probe is not better than chance.

Either way a probe trained on training-set ranges runs on the same folds, and ``fixed`` is
chosen when it predicts the held-out objects at least as well (class-balanced mean
probability of the true class, within ``TOLERANCE``; better than chance where the first
learnt nothing). Otherwise, and with too few labels to test, ``percentile`` stays.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from functools import cached_property, partial
from typing import Any

import numpy as np

from ..objects.normalize import Normalization, channel_percentiles, pooled_ranges, sampled
from ..objects.patches import PatchSpec, extract_patches
from ..objects.prepared import Annotated, PreparedImage
from .metrics import chance_check, drop_test

MIN_DROP = 0.15  # as a symmetry's: the true class's probability drop that counts
ALPHA = 0.05
TOLERANCE = 0.05  # fixed ranges may predict this much worse and still be chosen
ONE_CLASS = "one_class"  # the probes' names of the variants of the patches
MIXED = "mixed"
VARIANTS = (ONE_CLASS, MIXED)
WHAT = {ONE_CLASS: "one class only", MIXED: "the training set's mix of classes"}


def object_voxels(prep: PreparedImage, rows: np.ndarray) -> np.ndarray:
    """The voxels ``(C, n)`` of the objects of table ``rows``, at full resolution (few
    objects, small boxes)."""
    image, labels, table = prep.image_cf, prep.labels, prep.table
    pieces = []
    for r in rows:
        box = tuple(slice(a, b) for a, b in zip(table.bbox_start[r], table.bbox_stop[r]))
        pieces.append(image[(slice(None),) + box][:, labels[box] == table.label_id[r]])
    return np.concatenate(pieces, axis=1)


def image_background(prep: PreparedImage) -> tuple[np.ndarray, float]:
    """The background voxels ``(C, n)`` of the subsample that percentiles are taken from,
    and the share of that subsample that objects cover."""
    view = sampled(prep.labels.shape)
    outside = prep.labels[view] == 0
    return prep.image_cf[(slice(None),) + view][:, outside], 1.0 - float(outside.mean())


def range_with_objects(
    background: np.ndarray, share: float, objects: np.ndarray, norm: Normalization
) -> tuple[np.ndarray, np.ndarray]:
    """The per-channel range ``norm`` (percentile) would measure on an image of this
    ``background`` whose objects, ``share`` of it (:func:`image_background`), were made of
    the voxels ``objects`` ``(C, n)``."""
    if background.shape[1] == 0:  # objects fill the image
        return channel_percentiles(objects, norm.low, norm.high, channels=norm.channels)
    n_objects = max(1, round(background.shape[1] * share / (1.0 - share)))
    cycled = objects[:, np.arange(n_objects) % objects.shape[1]]  # each channel its own
    sample = np.concatenate([background, cycled], axis=1)  # a common type, if they differ
    return channel_percentiles(sample, norm.low, norm.high, channels=norm.channels)


def one_class_range(
    prep: PreparedImage, rows: np.ndarray, norm: Normalization
) -> tuple[np.ndarray, np.ndarray]:
    """The range of ``prep`` if all its objects were like the objects of table ``rows``."""
    return range_with_objects(*image_background(prep), object_voxels(prep, rows), norm)


def mixed_voxels(data: Annotated, objects: int = 256, most: int = 1 << 16) -> np.ndarray:
    """Voxels of the annotated objects of every image (up to ``objects`` a class, spread over
    them), each class an equal share of at most ``most`` voxels: objects as the training set
    mixes them."""
    members: dict[int, list[tuple[PreparedImage, int]]] = {}
    for prep, rows, classes in zip(data.preps, data.rows, data.classes):
        for r, k in zip(rows, classes):
            members.setdefault(int(k), []).append((prep, int(r)))
    pools = []
    for objs in members.values():
        chosen = np.unique(np.linspace(0, len(objs) - 1, min(objects, len(objs))).astype(int))
        pools.append(
            np.concatenate([object_voxels(objs[i][0], np.array([objs[i][1]])) for i in chosen], 1)
        )
    length = min(most, max(p.shape[1] for p in pools))
    spread = [p[:, np.linspace(0, p.shape[1] - 1, length).astype(int)] for p in pools]
    return np.concatenate(spread, axis=1)


@dataclass
class Candidates:
    """What the probes need to test ``auto`` normalisation on the annotated objects of
    ``data``, whose ``patches`` (of ``source`` shape) were cut with per-image ``norm``: the
    patches of some of them cut with other ranges (:meth:`variants`), and all of them under
    training-set ranges (:attr:`fixed_norm`, :meth:`fixed_patches`)."""

    data: Annotated
    source: PatchSpec
    norm: Normalization
    patches: np.ndarray

    def variants(self, wanted: np.ndarray) -> dict[str, np.ndarray]:
        """By name, the patches of the annotated objects ``wanted`` (indices into
        :attr:`Annotated.targets`, ascending): each cut with its image's range if the image
        held only objects of its class (:data:`ONE_CLASS`), and if it held the training
        set's mix (:data:`MIXED`)."""
        mixed = mixed_voxels(self.data)
        one_class, as_mixed = [], []
        offset = 0
        for prep, rows, classes in zip(self.data.preps, self.data.rows, self.data.classes):
            mine = wanted[(wanted >= offset) & (wanted < offset + rows.size)] - offset
            offset += rows.size
            if not mine.size:
                continue
            cut = partial(self._cut, prep)
            background = image_background(prep)  # once: every range below shares it
            out = np.empty((mine.size, prep.n_channels + 1, *self.source.shape), np.float32)
            for k in np.unique(classes[mine]):
                of_k = np.flatnonzero(classes[mine] == k)
                own = object_voxels(prep, rows[classes == k])
                image_range = range_with_objects(*background, own, self.norm)
                out[of_k] = cut(rows[mine[of_k]], image_range)
            one_class.append(out)
            as_mixed.append(cut(rows[mine], range_with_objects(*background, mixed, self.norm)))
        return {ONE_CLASS: np.concatenate(one_class), MIXED: np.concatenate(as_mixed)}

    def _cut(self, prep: PreparedImage, rows: np.ndarray, image_range) -> np.ndarray:
        return extract_patches(
            prep.image_cf, prep.labels, prep.table.subset(rows), self.source, self.norm,
            image_range, prep.voxel_size,
        )  # fmt: skip

    @cached_property
    def fixed_norm(self) -> Normalization:
        """The training-set (``fixed``) normalisation: the median of the ranges already
        measured on the images (``Normalization.fitted`` would measure them again)."""
        low, high = pooled_ranges(self._measured)
        return replace(self.norm, mode="fixed", fixed_low=low, fixed_high=high)

    @cached_property
    def _measured(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each image's own range (``norm`` is per-image: measured when it was prepared)."""
        return [p.image_range for p in self.data.preps if p.image_range is not None]

    @cached_property
    def same(self) -> bool:
        """Whether training-set ranges are every training image's own (one image, or images
        that share their range): then both give the same patches, and one probe tests both."""
        pooled = np.asarray(self.fixed_norm.fixed_low), np.asarray(self.fixed_norm.fixed_high)
        return all(
            np.array_equal(lo, pooled[0]) and np.array_equal(hi, pooled[1])
            for lo, hi in self._measured
        )

    @cached_property
    def fixed_patches(self) -> np.ndarray:
        """The annotated objects' patches under :attr:`fixed_norm` (the per-image ones when
        :attr:`same`)."""
        return self.patches if self.same else self.data.patches(self.source, self.fixed_norm)


def balanced_mean(values: np.ndarray, classes: np.ndarray) -> float:
    """The mean of ``values`` per class, then over classes."""
    return float(np.mean([values[classes == c].mean() for c in np.unique(classes)]))


def decide(
    first: Any,
    truth: np.ndarray,
    run_fixed: Callable[[], Generator[Any, None, Any]],
    seed: int,
) -> Generator[Any, None, tuple[bool, dict, Any]]:
    """Whether to use training-set ranges: ``(fixed, record, fixed probe's result or None)``.

    ``first``: the per-image probe's result (held-out probabilities as they are, ``p_true``,
    and in each of :attr:`Candidates.variants`, in ``turned``); ``truth``: the held-out
    classes; ``run_fixed()`` trains and predicts the same folds on training-set ranges
    (yielding its epochs)."""
    record: dict = {"tests": {}}
    sensitive = []
    for name in VARIANTS:
        drop, p_value = drop_test(first.p_true, first.turned[name], truth, seed)
        record["tests"][name] = {"drop": round(drop, 4), "p_value": round(p_value, 4)}
        if drop > MIN_DROP and p_value < ALPHA:
            sensitive.append(name)
    learnt = chance_check(first.cm, "2-fold estimate", seed)["better_than_chance"]
    base = balanced_mean(first.p_true, truth)
    record.update(percentile_learnt=bool(learnt), percentile_true_probability=round(base, 4))
    if not sensitive and learnt:
        record["chosen"], record["why"] = "percentile", "per-image ranges keep the classes"
        return False, record, None
    fixed = yield from run_fixed()
    score = balanced_mean(fixed.p_true, truth)
    fixed_learnt = chance_check(fixed.cm, "2-fold estimate", seed)["better_than_chance"]
    record.update(fixed_true_probability=round(score, 4), fixed_learnt=bool(fixed_learnt))
    if sensitive:
        chosen = score >= base - TOLERANCE
        why = (
            "per-image ranges change the class when an image holds "
            + " or ".join(WHAT[n] for n in sensitive)
            + (", and training-set ranges predict as well" if chosen else
               ", but training-set ranges predict worse: exposure or stain varies")
        )  # fmt: skip
    else:
        chosen = fixed_learnt and score > base
        why = (
            "per-image ranges learnt nothing; training-set ranges did"
            if chosen else "neither per-image nor training-set ranges learnt the classes"
        )  # fmt: skip
    record["chosen"], record["why"] = ("fixed" if chosen else "percentile"), why
    return chosen, record, fixed


def describe(record: dict | None) -> str:
    """The line of a test record (``SymmetryDecision.normalization``): ``normalisation
    fixed: per-image ranges change the class ... (true-class probability drop +0.49 ...)``."""
    return f"normalisation {record['chosen']}: {reason(record)}" if record else ""


def reason(record: dict) -> str:
    """Why a test record chose what it chose, with its evidence."""
    evidence = "; ".join(
        f"true-class probability drop {t['drop']:+.2f} when an image holds {WHAT[n]}, "
        f"p={t['p_value']:.2g}"
        for n, t in record["tests"].items()
    )
    if "fixed_true_probability" in record:
        evidence += (
            f"; true-class probability {record['percentile_true_probability']:.2f} per image, "
            f"{record['fixed_true_probability']:.2f} training-set"
        )
    return f"{record['why']} ({evidence})"
