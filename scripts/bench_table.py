#!/usr/bin/env python
"""The object table (``index_and_table``) on masks of several kinds, best of ``--repeats``.

Masks: generated discs (``make_disc_image``, 4096 x 4096, 20,000 objects); a 4096 x 4096
mask covered by 65,536 squares of 16 px; 50,000 one-pixel spots on 4096 x 4096; speckle
(2048 x 2048, every voxel a random ID of 1000, 0 included); and the shared datasets' masks
(cells3d_nuclei's volume, PanNuke's 25 tiles together) when ``../shared/data`` is there. The
first call of the process is reported apart: it pays for memory mapped afresh.

To compare two versions, run each checkout's copy alternately (each imports its own
``python/``); the tables are written with ``--save`` for a field-by-field comparison::

    .venv/bin/python scripts/bench_table.py --save /tmp/now.npz
    .venv/bin/python /path/to/other/checkout/scripts/bench_table.py --save /tmp/then.npz
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench_common import SHARED_DATA
from phenosort.objects.table import index_and_table
from phenosort.testing import make_disc_image

FIELDS = ("label_id", "size", "centroid", "bbox_start", "bbox_stop")


def masks() -> dict[str, list[np.ndarray]]:
    """Each case's masks (a case of several masks is timed as one pass over all)."""
    import tifffile

    rng = np.random.default_rng(0)
    squares = np.arange(1, 256 * 256 + 1, dtype=np.uint32).reshape(256, 256)
    spots = np.zeros((4096, 4096), np.uint32)
    spots.reshape(-1)[rng.choice(spots.size, 50_000, replace=False)] = np.arange(1, 50_001)
    cases = {
        "discs": [make_disc_image(4096, 20_000).labels],
        "covered": [squares.repeat(16, axis=0).repeat(16, axis=1)],
        "spots": [spots],
        "speckle": [rng.integers(0, 1000, (2048, 2048)).astype(np.uint16)],
    }
    volume = SHARED_DATA / "cells3d_nuclei" / "samples" / "cells3d" / "labels.tif"
    if volume.is_file():
        cases["cells3d"] = [tifffile.imread(volume)]
    tiles = sorted((SHARED_DATA / "pannuke_breast25").glob("samples/*/labels.tif"))
    if tiles:
        cases["pannuke"] = [tifffile.imread(p) for p in tiles]
    return cases


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="best of N (default 5)")
    p.add_argument("--save", type=Path, default=None, help="write the tables here (.npz)")
    args = p.parse_args()
    saved: dict[str, np.ndarray] = {}
    for name, group in masks().items():
        seconds = []
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            tables = [index_and_table(m)[1] for m in group]
            seconds.append(time.perf_counter() - start)
        shape = "x".join(map(str, group[0].shape)) + (f" (x{len(group)})" if len(group) > 1 else "")
        print(f"{name:8s} {shape:18s} first {seconds[0] * 1e3:7.1f} ms, "
              f"best {min(seconds) * 1e3:7.1f} ms")  # fmt: skip
        for k, table in enumerate(tables):
            saved.update({f"{name}{k}_{f}": getattr(table, f) for f in FIELDS})
    if args.save:
        np.savez(args.save, **saved)
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
