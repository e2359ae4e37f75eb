"""``phenosort predict`` of a folder: 1 worker (serial, in-process) vs a Dask LocalCluster.

Generates ``--images`` synthetic 2D images (``--side`` pixels, ``--grid`` x ``--grid``
objects) in a temporary folder, trains a small model, then runs the real command line
(``python -m phenosort.cli predict``, a new process each time, so imports, the cluster's start
and the model loads are all counted) with ``--workers 1`` and ``--workers N`` for each N of
``--workers``, alternating, ``--runs`` times each; reports the median images/s and the ratio
to 1 worker, and checks that every run wrote the same tables.

    .venv/bin/python scripts/bench_collections.py [--images 8] [--side 2048] [--grid 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tifffile

import bench_common  # noqa: F401  (this checkout's phenosort, not the installed one)
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.testing import make_objects

SETTINGS = {"train_epochs": 3, "net_width": 16, "train_min_epoch_samples": 64, "patch_size": 24}


def write_folder(root: Path, n: int, side: int, grid: int) -> int:
    """``n`` image/mask pairs under ``root``; returns the number of objects per image."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        d = make_objects("brightness", grid=(grid, grid), cell=side // grid, seed=100 + i)
        tifffile.imwrite(root / "images" / f"img{i:03d}.tif", d.image, imagej=True)
        tifffile.imwrite(root / "masks" / f"img{i:03d}.tif", d.labels, imagej=True)
    return len(d.classes)


def predict(data: Path, model: Path, out: Path, workers: int) -> float:
    """Wall time of one ``phenosort predict`` run in a new process."""
    command = [sys.executable, "-m", "phenosort.cli", "predict", str(data), "--model", str(model),
               "--out", str(out), "--workers", str(workers), "--quiet", "--overwrite"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, env=os.environ.copy())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="images in the folder")
    parser.add_argument("--side", type=int, default=2048, help="image edge in pixels")
    parser.add_argument("--grid", type=int, default=64, help="objects per row and column")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="Dask workers")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per variant")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-collections-") as tmp:
        root = Path(tmp)
        per_image = write_folder(root / "data", args.images, args.side, args.grid)
        train = make_objects("brightness", grid=(8, 8), cell=args.side // args.grid, seed=1)
        clf = ObjectClassifier(train.class_names, **SETTINGS)
        clf.fit([Sample(train.image, train.labels, train.classes, name="train")])
        model = clf.save(root / "model.phenosort")
        variants = [1, *args.workers]
        times: dict[int, list[float]] = {w: [] for w in variants}
        for _ in range(args.runs):
            for w in variants:  # alternate, so that load changes on the machine hit all
                times[w].append(predict(root / "data", model, root / f"out{w}", w))
        tables = {w: (root / f"out{w}" / "objects.csv").read_bytes() for w in variants}
        same = all(t == tables[1] for t in tables.values())

    print(f"{args.images} images of {args.side}x{args.side}, {per_image} objects each; "
          f"{os.cpu_count()} cores; median of {args.runs} runs")  # fmt: skip
    print("| workers | median s | images/s | vs 1 worker |")
    print("|---|---|---|---|")
    base = statistics.median(times[1])
    for w in variants:
        t = statistics.median(times[w])
        how = "1 (serial, in-process)" if w == 1 else f"{w} (Dask LocalCluster)"
        print(f"| {how} | {t:.1f} | {args.images / t:.3f} | {base / t:.2f}x |")
    print(f"objects.csv identical across variants: {same}")


if __name__ == "__main__":  # the Dask runs are subprocesses; the guard keeps spawn safe anyway
    main()
