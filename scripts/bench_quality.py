"""Issue 8's protocol: macro-F1 on held-out images at several label budgets, mean of 3 seeds.

Split by image (sorted ids shuffled with default_rng(12345), first 60 % train); n labels per
class drawn with default_rng(seed) from the training images (phenosort.sample_sets); every
labelled object of the test images scored. wbc leaves class 5 (basophil) out.

    .venv/bin/python scripts/bench_quality.py [--rows pannuke_breast25:10 wbc:50 ...]
        [--seeds 0 1 2] [--set KEY=VALUE ...] [--data-root ../shared/data] [--out r.json]
        [--markdown table.md]

``--markdown`` writes the table in the form of docs/benchmarks.md (paste it there).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench_common import SHARED_DATA
from phenosort.classifier import ObjectClassifier
from phenosort.cli import parse_settings
from phenosort.evaluation import score_samples
from phenosort.sample_sets import labels_per_class, load_sample_set, split_by_image

KEEP = {"wbc": {1, 2, 3, 4}}  # the protocol leaves basophils (4 examples) out
ROWS = ["pannuke_breast25:10", "pannuke_breast25:50", "pannuke_breast25:all", "wbc:10", "wbc:50"]
TARGETS = {  # issue 8: best existing tool's macro-F1, phenosort's target
    "pannuke_breast25:10": (0.65, 0.70),
    "pannuke_breast25:50": (0.71, 0.76),
    "pannuke_breast25:all": (0.75, 0.80),
    "wbc:10": (0.71, 0.76),
    "wbc:50": (0.78, 0.83),
}


def run_row(root: Path, dataset: str, budget: str, seeds, settings) -> dict:
    samples, names = load_sample_set(root / dataset, KEEP.get(dataset))
    train, test = split_by_image(samples)
    n = None if budget == "all" else int(budget)
    f1, acc, secs, per_object = [], [], [], []
    for seed in seeds:
        clf = ObjectClassifier(names, **{"train_seed": seed, **settings})
        start = time.perf_counter()
        clf.fit(labels_per_class(train, n, seed))
        secs.append(time.perf_counter() - start)
        start = time.perf_counter()
        metrics = score_samples(clf, test)
        per_object.append((time.perf_counter() - start) / max(metrics["n"], 1) * 1e3)
        f1.append(metrics["macro_f1"])
        acc.append(metrics["accuracy"])
    return {
        "row": f"{dataset}:{budget}",
        "macro_f1": float(np.mean(f1)),
        "accuracy": float(np.mean(acc)),
        "train_s": float(np.mean(secs)),
        "predict_ms_per_object": float(np.mean(per_object)),
        "per_seed_macro_f1": f1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=SHARED_DATA)
    parser.add_argument("--rows", nargs="+", default=ROWS, help="DATASET:N or DATASET:all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, help="write the rows as JSON")
    parser.add_argument("--markdown", type=Path, help="write the table as Markdown")
    args = parser.parse_args()
    settings = parse_settings(args.set)
    print(f"{'row':<22} {'best tool':>9} {'target':>7} {'macro-F1':>9} {'accuracy':>9} "
          f"{'train s':>8} {'ms/object':>9}")  # fmt: skip
    results = []
    for row in args.rows:
        dataset, _, budget = row.partition(":")
        r = run_row(args.data_root, dataset, budget or "all", args.seeds, settings)
        best, target = TARGETS.get(r["row"], (float("nan"), float("nan")))
        print(f"{r['row']:<22} {best:>9.2f} {target:>7.2f} {r['macro_f1']:>9.3f} "
              f"{r['accuracy']:>9.3f} {r['train_s']:>8.1f} {r['predict_ms_per_object']:>9.2f}",
              flush=True)  # fmt: skip
        results.append(r)
    if args.out:
        args.out.write_text(json.dumps({"settings": settings, "rows": results}, indent=2))
    if args.markdown:
        args.markdown.write_text(markdown_table(results))


def markdown_table(results: list[dict]) -> str:
    """The docs/benchmarks.md table of ``results`` (rows of :func:`run_row`)."""
    lines = [
        "| dataset | labels per class | best existing tool | target | phenosort macro-F1 "
        "| accuracy | train s | predict ms/object |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        dataset, _, budget = r["row"].partition(":")
        best, target = TARGETS.get(r["row"], (float("nan"), float("nan")))
        lines.append(
            f"| {dataset} | {budget} | {best:.2f} | {target:.2f} | {r['macro_f1']:.3f} "
            f"| {r['accuracy']:.3f} | {r['train_s']:.0f} | {r['predict_ms_per_object']:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
