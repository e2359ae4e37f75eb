#!/usr/bin/env python
"""Training speed (issue 7 §4): phenosort's schedule against the reference's, same net and patches.

For each row (issue 8's split by image and labels-per-class draw, one seed) the training
patches, the test patches and the initial weights are made once, then two schedules train
copies of the same network:

- ``phenosort``: the defaults (AdamW, one-cycle learning rate, epochs of at least
  ``train_min_epoch_samples`` samples, a stratified 20 % hold-out for early stopping, the
  best epoch's weights kept): exactly ``model.train.train_events``.
- ``reference``: Svetlana's schedule, 1000 epochs of Adam at lr 0.01 with x0.1 step decay
  every 100 epochs, one pass over all labelled objects per epoch (it has no hold-out and
  no early stopping), the same batch size and augmentation.

After every epoch the test images' objects are scored (clock paused). Reported: each
schedule's final test accuracy (phenosort: the weights it returns; reference: after the
last epoch), the training time until the test accuracy first reaches that final value
(within ``--tolerance``) and until it settles (stays within 0.02 below it), the whole
run's time, and the ratios reference / phenosort. Times
are the process's CPU seconds (all its threads; scoring excluded), which other jobs on a
shared machine inflate far less than wall time; the samples seen are counted as well.

Rows are shared datasets or generated tasks (``brightness:25``: 25 labels per class of
``make_objects("brightness")``, as scripts/bench_quality.py draws them). ``--set`` applies
phenosort settings; ``--reference-net`` trains the reference's own network (lightNN_3_5,
scripts/bench_reference.py) under its schedule instead of phenosort's. Also reported: the
CPU time of the whole ``ObjectClassifier.fit`` with the settings (symmetry probes and the
estimate included) and its test accuracy, against the reference schedule's total.

    .venv/bin/python scripts/bench_train_speed.py [--rows pannuke_breast25:50 wbc:10]
        [--seeds 0 1 2] [--reference-epochs 1000] [--set KEY=VALUE] [--reference-net]
        [--out speed.json]

With several ``--seeds`` each row runs once per seed (its reference beside it), then a line
gives the whole fit against the reference on the means of the seeds' CPU seconds.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench_common import SHARED_DATA
from bench_quality import KEEP, generated_set  # (KEEP: wbc without basophils)
from bench_reference import ReferenceNet
from phenosort.classifier import ObjectClassifier
from phenosort.model.augment import Augmentation, augment, center_crop, source_shape
from phenosort.model.config import ModelConfig
from phenosort.model.networks import build_network
from phenosort.model.train import TrainResult, stratified_split, train_events
from phenosort.sample_sets import labels_per_class, load_sample_set, split_by_image
from phenosort.settings_text import parse_settings
from phenosort.testing import TASKS

SETTLE_BAND = 0.02  # accuracy band below the final value that "settled" means


def patches_of(clf: ObjectClassifier, samples, spec) -> tuple[np.ndarray, np.ndarray]:
    """Patches ``(N, C + 1, ...)`` and 0-based classes of the annotated objects."""
    xs, ys = [], []
    for s in samples:
        prep = clf._prepare(s.image, s.labels, s.axes, s.voxel_size, s.name)
        ids = np.array(sorted(int(k) for k in s.annotations), np.int64)
        if ids.size:
            xs.append(clf._patches(prep, prep.table.subset(prep.table.rows(ids)), spec))
            ys.append([clf.resolve_class(s.annotations[i]) - 1 for i in ids])
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


@torch.no_grad()
def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    predicted = torch.cat([net(x[s : s + 256]).argmax(1) for s in range(0, len(x), 256)])
    return float((predicted == y).float().mean())


def time_to_final(curve: list[tuple], final: float, tolerance: float) -> tuple[float, int]:
    """(training seconds, samples) at the first scored epoch whose test accuracy is within
    ``tolerance`` of (or above) ``final``; ``curve`` holds (epoch, cumulative seconds,
    cumulative samples, accuracy)."""
    return next((t, n) for _, t, n, acc in curve if acc >= final - tolerance)


def time_to_settle(curve: list[tuple], final: float, band: float) -> tuple[float, int]:
    """(seconds, samples) at the first scored epoch from which every later score stays
    within ``band`` below ``final`` (on a few hundred test objects single epochs hit the
    final value early by chance; settling is what a user can rely on)."""
    for i, (_, t, n, _) in enumerate(curve):
        if all(acc >= final - band for *_, acc in curve[i:]):
            return t, n
    return curve[-1][1], curve[-1][2]


def scored(epoch: int) -> bool:
    """Score every epoch up to 100, then every 10th (1000 reference epochs would otherwise
    spend more time scoring than training)."""
    return epoch <= 100 or epoch % 10 == 0


def run_phenosort(net, x, y, x_test, y_test, spec, cfg, n_classes, tolerance) -> dict:
    _, val_index = stratified_split(y, cfg.train_val_fraction, cfg.train_seed)
    curve, elapsed, seen, best_epoch, result = [], 0.0, 0, 0, None
    passes = -(-cfg.train_min_epoch_samples // (len(y) - len(val_index)))
    events = train_events(
        net, x, y, n_classes, spec.shape, cfg, torch.device("cpu"), val_index=val_index
    )
    start = time.process_time()
    for event in events:
        elapsed += time.process_time() - start
        if isinstance(event, TrainResult):
            result = event
            break
        seen += passes * (len(y) - len(val_index))
        curve.append((event.epoch, elapsed, seen, accuracy(net, x_test, y_test)))
        best_epoch = event.epoch if event.best else best_epoch
        start = time.process_time()
    final = accuracy(net, x_test, y_test)  # train_events loaded the best epoch's weights
    to_final = time_to_final(curve, final, tolerance)
    settle = time_to_settle(curve, final, SETTLE_BAND)
    return {
        "epochs": len(curve),
        "best_epoch": result.best_epoch,
        "final_accuracy": final,
        "seconds_total": elapsed,
        "samples_total": seen,
        "seconds_to_returned_weights": curve[best_epoch - 1][1],
        "seconds_to_final": to_final[0],
        "samples_to_final": to_final[1],
        "seconds_to_settle": settle[0],
        "samples_to_settle": settle[1],
        "curve": curve,
    }


def run_reference(net, x, y, x_test, y_test, spec, cfg, epochs, tolerance) -> dict:
    """Svetlana's schedule on the same patches (its augmentation = flips and rotations)."""
    torch.manual_seed(cfg.train_seed)
    generator = torch.Generator().manual_seed(cfg.train_seed)
    aug = Augmentation.from_config(cfg)
    x_all, y_all = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    curve, elapsed = [], 0.0
    for epoch in range(1, epochs + 1):
        start = time.process_time()
        net.train()
        order = torch.randperm(len(y), generator=generator)
        for s in range(0, len(order), cfg.train_batch_size):
            rows = order[s : s + cfg.train_batch_size]
            if rows.numel() < 2:  # batch norm cannot train on one sample
                continue
            xb = augment(x_all[rows], spec.shape, aug, generator)
            loss = loss_fn(net(xb), y_all[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
        elapsed += time.process_time() - start
        if scored(epoch) or epoch == epochs:
            curve.append((epoch, elapsed, epoch * len(y), accuracy(net, x_test, y_test)))
    final = curve[-1][3]
    to_final = time_to_final(curve, final, tolerance)
    settle = time_to_settle(curve, final, SETTLE_BAND)
    return {
        "epochs": epochs,
        "final_accuracy": final,
        "seconds_total": elapsed,
        "samples_total": epochs * len(y),
        "seconds_to_final": to_final[0],
        "samples_to_final": to_final[1],
        "seconds_to_settle": settle[0],
        "samples_to_settle": settle[1],
        "curve": curve,
    }


def run_row(root: Path, row: str, seed: int, epochs: int, tolerance: float, settings: dict,
            reference_net: bool = False) -> dict:  # fmt: skip
    dataset, _, budget = row.partition(":")
    if dataset in TASKS:
        train, test, names = generated_set(dataset, seed)
    else:
        samples, names = load_sample_set(root / dataset, KEEP.get(dataset))
        train, test = split_by_image(samples)
    labelled = labels_per_class(train, None if budget in ("", "all") else int(budget), seed)
    # a one-epoch fit fixes the patch spec and normalisation exactly as the defaults choose
    clf = ObjectClassifier(names, train_seed=seed, device="cpu", **{**settings, "train_epochs": 1})
    clf.fit(labelled)
    cfg, spec = clf.config.updated(train_epochs=ModelConfig().train_epochs), clf.patch_spec
    source = replace(spec, shape=source_shape(spec.shape, Augmentation.from_config(cfg)))
    x, y = patches_of(clf, labelled, source)
    x_test, y_test = patches_of(clf, test, spec)
    x_test = center_crop(torch.from_numpy(x_test), spec.shape)
    y_test = torch.from_numpy(y_test)
    torch.manual_seed(seed)
    initial = build_network(
        cfg.net_name, clf.ndim, clf.in_channels + 1, len(names), spec.shape,
        width=cfg.net_width, depth=cfg.net_depth, block=cfg.net_block,
    )  # fmt: skip
    torch.manual_seed(seed)
    ref_initial = ReferenceNet(clf.in_channels + 1, len(names)) if reference_net else initial
    # the whole of ObjectClassifier.fit (symmetry probes, training, estimate), CPU seconds
    whole = ObjectClassifier(names, train_seed=seed, device="cpu", **settings)
    start = time.process_time()
    whole.fit(labelled)
    fit_seconds = time.process_time() - start
    fit_accuracy = accuracy(whole.net, x_test, y_test)
    print(f"{row}: {len(y)} training objects, {len(y_test)} test objects, patch {spec.shape}",
          flush=True)  # fmt: skip
    ours = run_phenosort(
        copy.deepcopy(initial), x, y, x_test, y_test, spec, cfg, len(names), tolerance
    )
    print(f"  phenosort: {ours['epochs']} epochs, {ours['seconds_total']:.1f} s, "
          f"test accuracy {ours['final_accuracy']:.3f}", flush=True)  # fmt: skip
    ref = run_reference(
        copy.deepcopy(ref_initial), x, y, x_test, y_test, spec, cfg, epochs, tolerance
    )
    print(f"  reference: {ref['epochs']} epochs, {ref['seconds_total']:.1f} s, "
          f"test accuracy {ref['final_accuracy']:.3f}", flush=True)  # fmt: skip
    return {
        "row": row,
        "seed": seed,
        "n_train": int(len(y)),
        "n_test": int(len(y_test)),
        "settings": settings,
        "reference_net": "lightNN_3_5" if reference_net else "phenosort's",
        "phenosort": ours,
        "reference": ref,
        "fit_seconds": fit_seconds,
        "fit_accuracy": fit_accuracy,
        "ratio_reference_total_over_fit": ref["seconds_total"] / fit_seconds,
        "ratio_to_final": ref["seconds_to_final"] / ours["seconds_to_final"],
        "ratio_total": ref["seconds_total"] / ours["seconds_total"],
        "ratio_samples_to_final": ref["samples_to_final"] / ours["samples_to_final"],
        "ratio_to_settle": ref["seconds_to_settle"] / ours["seconds_to_settle"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=SHARED_DATA)
    ap.add_argument("--rows", nargs="+", default=["pannuke_breast25:50", "wbc:10"])
    ap.add_argument("--seeds", "--seed", type=int, nargs="+", default=[0],
                    help="one run per seed; with several, a line of means")  # fmt: skip
    ap.add_argument("--reference-epochs", type=int, default=1000)
    ap.add_argument("--tolerance", type=float, default=0.005, help="accuracy tolerance")
    ap.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                    help="phenosort setting (repeatable)")  # fmt: skip
    ap.add_argument("--reference-net", action="store_true",
                    help="the reference schedule trains the reference's lightNN_3_5 "
                    "(scripts/bench_reference.py), not phenosort's network")  # fmt: skip
    ap.add_argument("--out", type=Path, help="write every curve as JSON")
    args = ap.parse_args()
    settings = parse_settings(args.settings)
    results = []
    print(f"{'row':<22} {'schedule':<10} {'test acc':>8} {'s to final':>10} {'s total':>8} "
          f"{'samples to final':>16}")  # fmt: skip
    for row, seed in ((row, seed) for row in args.rows for seed in args.seeds):
        r = run_row(args.data_root, row, seed, args.reference_epochs, args.tolerance,
                    settings, args.reference_net)  # fmt: skip
        for name in ("phenosort", "reference"):
            s = r[name]
            print(f"{row:<22} {name:<10} {s['final_accuracy']:>8.3f} "
                  f"{s['seconds_to_final']:>10.1f} {s['seconds_total']:>8.1f} "
                  f"{s['samples_to_final']:>16}")  # fmt: skip
        print(f"{row:<22} ratio reference / phenosort: to final {r['ratio_to_final']:.1f}x, "
              f"total {r['ratio_total']:.1f}x, "
              f"samples to final {r['ratio_samples_to_final']:.1f}x, "
              f"to settle {r['ratio_to_settle']:.1f}x",
              flush=True)  # fmt: skip
        print(f"{row:<22} whole fit (probes included): {r['fit_seconds']:.1f} CPU s, test accuracy "
              f"{r['fit_accuracy']:.3f}; reference total / whole fit "
              f"{r['ratio_reference_total_over_fit']:.1f}x", flush=True)  # fmt: skip
        results.append(r)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))
        if len(args.seeds) > 1 and seed == args.seeds[-1]:
            print(means_line(row, results[-len(args.seeds) :]), flush=True)
    return 0


def means_line(row: str, runs: list[dict]) -> str:
    """The seeds of one row together: the whole fit against the reference's schedule on the
    means of their CPU seconds, and the mean test accuracies."""
    fit = np.mean([r["fit_seconds"] for r in runs])
    ref = np.mean([r["reference"]["seconds_total"] for r in runs])
    per_seed = " / ".join(f"{r['ratio_reference_total_over_fit']:.1f}x" for r in runs)
    return (
        f"{row:<22} mean of {len(runs)} seeds: whole fit {fit:.1f} CPU s, reference "
        f"{ref:.1f} s, reference / whole fit {ref / fit:.1f}x (per seed {per_seed}); test "
        f"accuracy {np.mean([r['fit_accuracy'] for r in runs]):.3f}, reference "
        f"{np.mean([r['reference']['final_accuracy'] for r in runs]):.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
