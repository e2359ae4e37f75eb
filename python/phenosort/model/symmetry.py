"""Which symmetries hold for this task: decided from the user's labels, never assumed.

Flips and 90-degree turns multiply a few labels into many, but only when they keep every
object in its class. Where orientation, handedness or polarity is the cue (stripes along
one axis, cells under flow, chiral shapes, apical-basal polarity along Z), they turn one
class into another and the network learns nothing. So each ``auto`` symmetry is tested:

- The labelled objects are split into 2 stratified folds. Short probe runs train on one
  fold and predict the other, so every labelled object gets a prediction from a model that
  never saw it.
- A probe trained *without* symmetry ``g`` predicts each held-out object ``x`` as it is and
  turned, ``g(x)``. If the classes are ``g``-invariant, ``g(x)`` is just another unseen
  object of the same class, and the probe gives its true class the same probability on
  average. If ``g`` maps one class onto another, that probability drops.
- ``g`` is left out when the drop (averaged per class, then over classes) exceeds
  ``MIN_DROP`` with a one-sided sign-flip permutation p-value below ``ALPHA``.

Probes: first one trained with none of the ``auto`` symmetries (it tests them all). If it
learns nothing (not better than chance), one more per symmetry group, trained with all the
others: a task that needs rotations to be learnable at all, such as chiral shapes at random
orientations, is learnt by that probe. The probes are the light network at width 16 (or
the model's width if narrower) trained for ``symmetry_probe_epochs`` (never more than
``train_epochs``), which keeps their cost under half a training. A probe ends sooner once
it has learnt its fold: every sample of an epoch right, with a mean loss of at most
``train_stop_loss`` (on the generated tasks after 2-7 of 10 epochs, with the same
decisions; docs/benchmarks.md, issue 15). The same
held-out predictions give the 2-fold estimate that the chance check uses when there is no
hold-out set. Everything is seeded: the same labels and seed give the same decision.
Every probe epoch is yielded as a :class:`ProbeEpoch`, so the front ends show progress (and
can cancel) while the probes run. With ``norm_mode`` ``auto`` the first probe also tests
per-image intensity ranges, and a probe on training-set ranges may run before the symmetry
groups' (model/norm_choice.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import torch

from .augment import Augmentation, center_crop
from .config import ModelConfig
from .device import to_device
from .metrics import chance_check, confusion_matrix, drop_test
from .norm_choice import Candidates
from .norm_choice import decide as choose_ranges

#: the symmetries a config can leave to ``auto``, with the setting that controls each
SETTINGS = {
    "flip_x": "aug_flip",
    "flip_y": "aug_flip",
    "flip_z": "aug_flip_z",
    "rot90": "aug_rot90",
}
#: symmetries switched together by one setting
GROUPS = {"aug_flip": ("flip_x", "flip_y"), "aug_flip_z": ("flip_z",), "aug_rot90": ("rot90",)}
MIN_DROP = 0.15  # mean drop of the true class's probability that counts as a broken symmetry
ALPHA = 0.05  # one-sided p-value of that drop
PROBE_WIDTH = 16  # the probes' light network (probe_config)
MAX_PER_CLASS = 100  # probe objects per class and fold: bounds the cost with many labels
WHY = {
    "rot90": "orientation separates the classes",
    "flip_x": "left-right mirror images differ in class",
    "flip_y": "top-bottom mirror images differ in class",
    "flip_z": "the classes differ along Z",
}


@dataclass(frozen=True)
class SymmetryTest:
    """Evidence about one symmetry. ``drop``: class-balanced mean drop of the true class's
    probability when held-out objects are transformed; ``p_value`` of that drop."""

    name: str
    kept: bool
    source: str  # "auto" (tested), "setting" (imposed by the user)
    drop: float | None = None
    p_value: float | None = None
    probe: str = ""  # the symmetries the probe that gave this evidence trained with

    def describe(self) -> str:
        """``rot90 off: orientation separates the classes (true-class probability drop
        +0.93, p=0.002)`` and the like."""
        verb = "on" if self.kept else "off"
        if self.source == "setting":
            return f"{self.name} {verb} (setting)"
        reason = f": {WHY[self.name]}" if not self.kept else ""
        if self.drop is None:
            return f"{self.name} {verb}{reason} (not tested: too few labels)"
        return (
            f"{self.name} {verb}{reason} (true-class probability drop {self.drop:+.2f}, "
            f"p={self.p_value:.2g})"
        )


def describe(record: dict | None) -> str:
    """The decisions line of a :meth:`SymmetryDecision.to_dict` record (a model file's
    ``symmetry``): the symmetries left out first, with why."""
    if not record:
        return ""
    tests = [SymmetryTest(**t) for t in record["tests"]]
    tests.sort(key=lambda t: t.kept)
    return "symmetries: " + "; ".join(t.describe() for t in tests)


@dataclass
class SymmetryDecision:
    """What the engine chose and why; ``estimate`` is the pooled 2-fold confusion matrix of
    the probe closest to the final settings (None when no probe ran)."""

    tests: list[SymmetryTest] = field(default_factory=list)
    estimate: dict | None = None
    seconds: float = 0.0
    probe_epochs: list[int] = field(default_factory=list)  # each probe run's, in order
    normalization: dict | None = None  # the test of ``auto`` normalisation (norm_choice.py)

    @property
    def fixed_ranges(self) -> bool:
        """Whether the probes chose training-set (``fixed``) intensity ranges."""
        return (self.normalization or {}).get("chosen") == "fixed"

    def resolved(self) -> dict[str, bool]:
        return {t.name: t.kept for t in self.tests}

    def to_dict(self) -> dict:
        return {
            "tests": [vars(t) for t in self.tests],
            "estimate": self.estimate,
            "seconds": round(self.seconds, 2),
            "probe_epochs": self.probe_epochs,
            "normalization": self.normalization,
            "method": (
                "2-fold probes trained without each symmetry; a symmetry is left out when "
                f"it lowers the held-out true-class probability by more than {MIN_DROP} "
                f"(one-sided sign-flip test, p < {ALPHA})"
            ),
        }


def transform(x: torch.Tensor, name: str) -> torch.Tensor:
    """Apply one symmetry to a batch ``(B, C, [Z,] Y, X)``."""
    if name == "rot90":
        return torch.rot90(x, 1, dims=(-2, -1))
    return x.flip({"flip_x": -1, "flip_y": -2, "flip_z": -3}[name])


def applicable(cfg: ModelConfig, ndim: int, shape: tuple[int, ...]) -> dict[str, str | bool]:
    """Each symmetry that applies to ``ndim``-D patches of ``shape``: its setting's value."""
    names = ["flip_x", "flip_y"]
    if ndim == 3:
        names.append("flip_z")
    if shape[-1] == shape[-2]:
        names.append("rot90")
    return {n: getattr(cfg, SETTINGS[n]) for n in names}


@dataclass(frozen=True)
class ProbeEpoch:
    """One finished epoch of a probe run, for progress: the probes train before the model
    does, for seconds to minutes, and would otherwise show nothing. ``run`` (1-based) of
    ``n_runs`` planned: each probe trains once per fold, and ``n_runs`` grows when the first
    probe learnt nothing and one per symmetry group follows. A run has at most ``n_epochs``
    and may end sooner, once it has learnt its fold."""

    run: int
    n_runs: int
    epoch: int
    n_epochs: int
    seconds: float


def decide_events(
    patches: np.ndarray,
    targets: np.ndarray,
    rows: np.ndarray,
    cfg: ModelConfig,
    patch_shape: tuple[int, ...],
    n_classes: int,
    device: torch.device,
    build_net,
    *,
    estimate: bool,
    imposed: dict[str, bool] | None = None,
    norm_test: Candidates | None = None,
    cancel: threading.Event | None = None,
) -> Generator[ProbeEpoch, None, SymmetryDecision]:
    """Resolve the ``auto`` symmetries of ``cfg`` from the labelled ``rows`` of ``patches``;
    yields a :class:`ProbeEpoch` per epoch of the probes and returns the decision.

    ``build_net()`` makes a fresh network for a probe. ``estimate`` asks for the 2-fold
    estimate even when no symmetry is ``auto`` (no hold-out set to judge the model by).
    ``imposed`` fixes symmetries by name over the settings (continued training keeps the
    ones its model was trained with, per axis). ``norm_test``: test ``auto`` normalisation
    too (model/norm_choice.py); with training-set ranges chosen, the symmetries are tested
    on their patches.
    """
    start = time.perf_counter()
    ndim = len(patch_shape)
    settings = applicable(cfg, ndim, patch_shape)
    settings = {n: (imposed or {}).get(n, v) for n, v in settings.items()}
    auto = [n for n, v in settings.items() if v == "auto"]
    fixed = [SymmetryTest(n, bool(v), "setting") for n, v in settings.items() if v != "auto"]
    forced_on = tuple(t.name for t in fixed if t.kept)
    decision = SymmetryDecision(tests=list(fixed))
    counts = np.bincount(targets[rows])
    if (
        min(counts[counts > 0]) < 2
        or (not auto and not estimate and norm_test is None)
        or not cfg.symmetry_probe_epochs
    ):
        # a fold without every class cannot test anything: keep the assumption
        decision.tests += [SymmetryTest(n, True, "auto") for n in auto]
        decision.seconds = time.perf_counter() - start
        return decision
    folds = _folds(targets, rows, cfg.train_seed)
    truth = targets[np.concatenate(folds[::-1])]  # held-out objects, in probe order
    run = partial(
        _probe, targets, folds, cfg, patch_shape, n_classes, device, build_net, cancel=cancel
    )
    # first a probe with none of the auto symmetries: it tests them all (and per-image
    # intensity ranges, with their one-class variant)
    probed = np.concatenate(folds)
    variants = {}
    if norm_test is not None:  # aligned with ``probed``, sorted
        order = np.argsort(probed)
        variants = {n: (probed[order], v) for n, v in norm_test.variants(probed[order]).items()}
    first = yield from run(forced_on, auto, patches=patches, runs=(1, 2), variants=variants)
    results = {forced_on: first}
    decision.probe_epochs += first.epochs
    if norm_test is not None:

        def run_fixed():  # the same patches when every image's range is the training set's
            if norm_test.same:
                return first
            result = yield from run(forced_on, auto, patches=norm_test.fixed_patches, runs=(3, 4))
            decision.probe_epochs.extend(result.epochs)
            return result

        use_fixed, decision.normalization, other = yield from choose_ranges(
            first, truth, run_fixed, cfg.train_seed
        )
        if use_fixed:
            patches, results[forced_on] = norm_test.fixed_patches, other
    groups = [g for g in GROUPS.values() if any(n in auto for n in g)]
    if (
        len(groups) > 1
        and not chance_check(results[forced_on].cm, "", cfg.train_seed)["better_than_chance"]
    ):
        # it learnt nothing: the task may need some symmetries to be learnable at all (chiral
        # shapes at random orientations need the turns), so test each group with the others on
        next_run = len(decision.probe_epochs) + 1  # one entry per run so far
        n_runs = next_run - 1 + 2 * len(groups)
        for k, group in enumerate(groups):
            trained_with = forced_on + tuple(n for n in auto if n not in group)
            tested = [n for n in auto if n in group]
            results[trained_with] = yield from run(
                trained_with, tested, patches=patches, runs=(next_run + 2 * k, n_runs)
            )
            decision.probe_epochs += results[trained_with].epochs
    for name in auto:
        evidence = []
        for trained_with, probe in results.items():
            if name in probe.turned:
                drop, p_value = drop_test(probe.p_true, probe.turned[name], truth, cfg.train_seed)
                evidence.append((drop, p_value, trained_with))
        broken = [e for e in evidence if e[0] > MIN_DROP and e[1] < ALPHA]
        drop, p_value, trained_with = max(broken or evidence, key=lambda e: (e[0], -e[1]))
        decision.tests.append(
            SymmetryTest(
                name, not broken, "auto", round(drop, 4), round(p_value, 4),
                "+".join(trained_with) or "none",
            )
        )  # fmt: skip
    kept = {t.name for t in decision.tests if t.kept}
    # the estimate: the probes closest to the final settings (the most symmetries, all of
    # them kept), their probabilities averaged (each object is still predicted only by
    # models that never saw it)
    agreeing = [t for t in results if set(t) <= kept]
    agreeing = [t for t in agreeing if len(t) == max(map(len, agreeing))]  # the closest
    probs = np.mean([results[t].probabilities for t in agreeing], axis=0)
    cm = confusion_matrix(truth, probs.argmax(1), n_classes)
    names = ["+".join(t) or "none" for t in agreeing]
    decision.estimate = {
        "method": f"2-fold cross-validation of short probe runs (at most {_probe_epochs(cfg)} "
        f"epochs, ending once a probe has learnt its fold, light network of width <= "
        f"{PROBE_WIDTH}; symmetries: {', '.join(names)})",
        "confusion_matrix": cm.tolist(),
    }
    decision.seconds = time.perf_counter() - start
    return decision


def probe_config(cfg: ModelConfig) -> ModelConfig:
    """The settings of the probes' network, whatever the model's: the light network at
    width ``PROBE_WIDTH`` (or the model's, if narrower), no initial weights, no dropout. A
    quarter of the width-32 arithmetic: a probe only has to learn the cue, not be the best
    classifier (with dropout its short runs learnt slower, and the 2-fold chance check
    called a 0.80 model "chance" on PanNuke at 10 labels per class)."""
    light = cfg.net_name == "light"
    width = min(PROBE_WIDTH, cfg.net_width) if light else PROBE_WIDTH
    depth = cfg.net_depth if light else 3
    return replace(
        cfg, net_name="light", net_width=width, net_depth=depth, net_weights=None, net_dropout=0.0
    )


def _probe_epochs(cfg: ModelConfig) -> int:
    """A probe's epochs: ``symmetry_probe_epochs``, never more than the training's own."""
    return min(cfg.symmetry_probe_epochs, cfg.most_epochs)


def _folds(targets: np.ndarray, rows: np.ndarray, seed: int) -> list[np.ndarray]:
    """Two stratified folds of ``rows``, each capped at ``MAX_PER_CLASS`` per class."""
    rng = np.random.default_rng(seed + 7919)
    halves: list[list[np.ndarray]] = [[], []]
    for c in np.unique(targets[rows]):
        members = rng.permutation(rows[targets[rows] == c])
        half = (members.size + 1) // 2
        halves[0].append(members[:half][:MAX_PER_CLASS])
        halves[1].append(members[half:][:MAX_PER_CLASS])
    return [np.sort(np.concatenate(h)) for h in halves]


@dataclass(frozen=True)
class _ProbeResult:
    probabilities: np.ndarray  # (N, K) of every held-out object, as it is
    p_true: np.ndarray  # the true class's probability, as it is
    turned: dict[str, np.ndarray]  # ... and under each tested symmetry or variant
    cm: np.ndarray
    epochs: list[int]  # each fold's probe ran, in order


def _probe(
    targets, folds, cfg, patch_shape, n_classes, device, build_net, trained_with, tested, *,
    patches, runs, cancel, variants=None,
) -> Generator[ProbeEpoch, None, _ProbeResult]:  # fmt: skip
    """Train on each fold, predict the other: every held-out object as it is, under each
    ``tested`` symmetry and in each of ``variants`` (by name, ``(rows, patches)``: other
    patches of the objects ``rows``, ascending). ``runs``: the first fold's run number and
    the runs planned."""
    from .train import EpochEvent, train_events

    resolved = {n: n in trained_with for n in SETTINGS}
    aug = replace(Augmentation.from_config(cfg, len(patch_shape), **resolved), shift=1)
    probe_cfg = replace(
        cfg,
        train_epochs=_probe_epochs(cfg),
        train_patience=0,
        train_pseudo_threshold=0.0,
        train_mixup=0.0,  # a probe must see the cue itself, not blends of two objects
    )
    fold_probs: list[np.ndarray] = []
    p_true: list[np.ndarray] = []
    variants = variants or {}
    turned: dict[str, list[np.ndarray]] = {n: [] for n in [*tested, *variants]}
    epochs: list[int] = []
    first_run, n_runs = runs
    for run, (train_rows, test_rows) in enumerate(
        ((folds[0], folds[1]), (folds[1], folds[0])), first_run
    ):
        net = build_net()
        # a handful of objects would make tiny batches (the step count, not the arithmetic,
        # sets the time): repeat them to fill a batch, each copy augmented on its own
        repeat = -(-cfg.train_batch_size // train_rows.size)
        train_rows = np.repeat(train_rows, repeat)
        events = train_events(
            net, patches[train_rows], targets[train_rows], n_classes, patch_shape, probe_cfg,
            device, cancel=cancel, augmentation=aug, stop_when_learnt=True,
        )  # fmt: skip
        epochs.append(0)
        for event in events:
            if isinstance(event, EpochEvent):
                epochs[-1] += 1
                yield ProbeEpoch(run, n_runs, event.epoch, event.n_epochs, event.seconds)
        x = to_device(center_crop(torch.from_numpy(patches[test_rows]), patch_shape), device)
        y = targets[test_rows]
        net.eval()
        with torch.no_grad():
            probs = _softmax(net, x)
            fold_probs.append(probs)
            p_true.append(probs[np.arange(y.size), y])
            for name in tested:
                turned[name].append(_softmax(net, transform(x, name))[np.arange(y.size), y])
            for name, (rows, other) in variants.items():
                picked = other[np.searchsorted(rows, test_rows)]
                v = to_device(center_crop(torch.from_numpy(picked), patch_shape), device)
                turned[name].append(_softmax(net, v)[np.arange(y.size), y])
    truth = targets[np.concatenate([folds[1], folds[0]])]
    probabilities = np.concatenate(fold_probs)
    return _ProbeResult(
        probabilities,
        np.concatenate(p_true),
        {n: np.concatenate(v) for n, v in turned.items()},
        confusion_matrix(truth, probabilities.argmax(1), n_classes),
        epochs,
    )


def _softmax(net, x: torch.Tensor, batch: int = 256) -> np.ndarray:
    out = [torch.softmax(net(x[s : s + batch]).float(), 1) for s in range(0, x.shape[0], batch)]
    return torch.cat(out).cpu().numpy()
