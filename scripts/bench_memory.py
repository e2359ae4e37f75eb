#!/usr/bin/env python
"""Peak memory of in-process prediction on a huge image (issue 7 §2).

Generates an RGB image (default 8000 x 8000 uint8) with a grid of ~80,000 12 x 12 objects
(uint32 IDs 7k+3, never consecutive), trains a tiny model on synthetic RGB objects, predicts
every object and paints the class map, and prints the peak resident set size (ru_maxrss) of
this process after each step. Run it alone: the peak is the process's, not the machine's.

    .venv/bin/python scripts/bench_memory.py [--size 8000] [--spacing 28]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from phenosort.classifier import ObjectClassifier, Sample
from phenosort.testing import make_objects


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8000, help="image side in pixels")
    ap.add_argument("--spacing", type=int, default=28, help="grid step between objects")
    args = ap.parse_args()
    d = make_objects("brightness", grid=(6, 6), channels=3)
    clf = ObjectClassifier(d.class_names, net_width=16, train_epochs=2, train_min_epoch_samples=64)
    clf.fit([Sample(d.image, d.labels, d.classes, d.axes)])
    print(f"after training: peak RSS {peak_gib():.2f} GiB", flush=True)
    n, step = args.size, args.spacing
    labels = np.zeros((n, n), np.uint32)
    cells = n // step
    for i in range(cells):
        for j in range(cells):
            labels[i * step + 8 : i * step + 20, j * step + 8 : j * step + 20] = (
                i * cells + j
            ) * 7 + 3
    image = np.random.default_rng(0).integers(0, 255, (n, n, 3), dtype=np.uint8)
    data_gib = (labels.nbytes + image.nbytes) / 2**30
    print(
        f"{cells * cells} objects, image + labels {data_gib:.2f} GiB, peak RSS {peak_gib():.2f} GiB"
    )
    start = time.perf_counter()
    prediction = clf.predict(image, labels, axes="YXC")
    prediction.class_map()
    print(f"predict + class map {time.perf_counter() - start:.1f} s for {len(prediction.label_id)} "
          f"objects; peak RSS {peak_gib():.2f} GiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
