#!/usr/bin/env python
"""Peak memory of predicting a huge image, in-process or through the service (issue 7 §2).

Two generated inputs (uint32 label IDs 7k+3, never consecutive):

- ``--volume 2d``: an 8000 x 8000 RGB uint8 image with a grid of 81,225 12 x 12 squares;
- ``--volume 3d``: a 200 x 1024 x 1024 uint16 volume with 49,152 balls (radius 5) on a 16^3
  grid, dim or bright by class.

A tiny model is trained on ``phenosort.testing.make_objects`` data of the same kind, every
object is predicted and the class map is painted. ``--mode inprocess`` does all of it in this
process; ``--mode service`` starts ``phenosort serve`` as a child process, trains there, and
this process (the client, which never imports torch) uploads image and labels in chunks and
receives the class map. Peak RSS is the kernel's VmHWM (``/proc/<pid>/status``), reset
between stages through ``/proc/<pid>/clear_refs`` so that each stage's peak is its own; the
process's overall peak is the largest of them. Mapped file pages that a process touches
(the server's memory-mapped uploads) count in its RSS. Run it alone: times depend on load.

    .venv/bin/python scripts/bench_memory.py [--mode inprocess|service] [--volume 2d|3d]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

import bench_common  # noqa: F401  (this checkout's phenosort, not the installed one)
from phenosort.testing import SyntheticData, make_objects

GIB = 2**30
MakeInput = Callable[[], tuple[np.ndarray, np.ndarray, str]]  # () -> image, labels, axes
# tiny networks: the point is memory, not accuracy
SETTINGS = {
    "2d": {"net_width": 16, "train_epochs": 2, "train_min_epoch_samples": 64},
    "3d": {"net_width": 8, "train_epochs": 2, "train_min_epoch_samples": 64, "patch_size": 16},
}


def status_kib(pid: int | str, key: str) -> int:
    """A ``VmHWM``/``VmRSS``-style line of ``/proc/<pid>/status``, in KiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


class Peaks:
    """Per-stage peak RSS of one process (VmHWM, reset after each stage)."""

    def __init__(self, pid: int | str = "self") -> None:
        self.pid, self.stages = pid, []
        self.reset()

    def reset(self) -> None:
        with open(f"/proc/{self.pid}/clear_refs", "w") as fh:
            fh.write("5")  # 5: reset the peak RSS to the current RSS

    def stage(self, name: str) -> float:
        peak = status_kib(self.pid, "VmHWM") / 2**20
        self.stages.append((name, peak))
        self.reset()
        return peak

    def overall(self) -> float:
        return max(p for _, p in self.stages)

    def report(self, who: str) -> None:
        for name, peak in self.stages:
            print(f"  {who} peak RSS during {name}: {peak:.2f} GiB")
        print(f"{who} overall peak RSS {self.overall():.2f} GiB", flush=True)


def huge_2d(size: int, spacing: int) -> tuple[np.ndarray, np.ndarray, str]:
    """RGB noise image and a grid of 12 x 12 squares; IDs 7k+3 row by row."""
    cells = size // spacing
    labels = np.zeros((size, size), np.uint32)
    ids = np.arange(cells * cells, dtype=np.uint32).reshape(cells, 1, cells, 1) * 7 + 3
    square = np.zeros((1, spacing, 1, spacing), np.uint32)
    square[:, 8:20, :, 8:20] = 1
    grid = labels[: cells * spacing, : cells * spacing].reshape(cells, spacing, cells, spacing)
    np.multiply(ids, square, out=grid)  # writes through the view: no full temporary
    image = np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8)
    return image, labels, "YXC"


def huge_3d(planes: int, side: int, cell: int = 16) -> tuple[np.ndarray, np.ndarray, str]:
    """uint16 volume with a ball (radius 5) in every full cell^3 block; IDs 7k+3, class
    (dim/bright) by ID. Built slab by slab, so no temporary is volume-sized."""
    cz, cy = planes // cell, side // cell
    labels = np.zeros((planes, side, side), np.uint32)
    ids = np.arange(cz * cy * cy, dtype=np.uint32).reshape(cz, 1, cy, 1, cy, 1) * 7 + 3
    r = np.arange(cell) - (cell - 1) / 2
    ball = (r[:, None, None] ** 2 + r[None, :, None] ** 2 + r[None, None, :] ** 2) <= 25
    ball = ball.astype(np.uint32).reshape(1, cell, 1, cell, 1, cell)
    grid = labels[: cz * cell, : cy * cell, : cy * cell].reshape(cz, cell, cy, cell, cy, cell)
    np.multiply(ids, ball, out=grid)
    level = np.full(int(ids.max()) + 1, 100, np.uint16)  # background
    level[ids.ravel()] = np.where((ids.ravel() // 7) % 2, 650, 450)  # bright / dim
    image = np.empty(labels.shape, np.uint16)
    rng = np.random.default_rng(0)
    for z in range(0, planes, cell):
        slab = level[labels[z : z + cell]]
        image[z : z + cell] = slab + rng.integers(0, 60, slab.shape, dtype=np.uint16)
    return image, labels, "ZYX"


def training_data(volume: str) -> SyntheticData:
    if volume == "2d":
        return make_objects("brightness", grid=(6, 6), channels=3)
    return make_objects("brightness", grid=(6, 6), cell=16, z_planes=16)


def digest(*arrays: np.ndarray) -> str:
    """Short SHA-256 of the arrays' bytes (to compare outputs between code versions)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:16]


def in_process(volume: str, make: MakeInput) -> None:
    from phenosort.classifier import ObjectClassifier, Sample

    peaks = Peaks()
    d = training_data(volume)
    clf = ObjectClassifier(d.class_names, **SETTINGS[volume])
    clf.fit([Sample(d.image, d.labels, d.classes, d.axes, d.voxel_size)])
    peaks.stage("training (torch loaded)")
    image, labels, axes = make()
    print(f"{volume}: {describe(image, labels)}")
    peaks.stage("generating the input")
    start = time.perf_counter()
    prediction = clf.predict(image, labels, axes=axes)
    predicted = time.perf_counter() - start
    peaks.stage("predict")
    class_map = prediction.class_map()
    seconds = time.perf_counter() - start
    peaks.stage("class_map")
    print(f"predict {predicted:.1f} s + class map: {seconds:.1f} s for "
          f"{len(prediction.label_id)} objects")  # fmt: skip
    print(f"outputs: class map {digest(class_map)}, probabilities "
          f"{digest(prediction.label_id, prediction.probabilities)}")  # fmt: skip
    peaks.report("in-process")


def through_service(volume: str, make: MakeInput) -> None:
    from phenosort.client import Client
    from phenosort.service.local import LocalService

    assert "torch" not in sys.modules  # the client's figure must not include torch
    mine = Peaks()
    image, labels, axes = make()
    print(f"{volume}: {describe(image, labels)}")
    mine.stage("generating the input")
    with tempfile.TemporaryDirectory() as tmp:
        service = LocalService(Path(tmp) / "store", device="cpu", timeout=120)
        address = service.start()
        try:
            server = Peaks(service.process.pid)
            with Client(address) as client:
                d = training_data(volume)
                client.create_model("bench", d.class_names, **SETTINGS[volume])
                client.add_training_data("bench", d.image, d.labels, d.classes, axes=d.axes)
                client.train("bench")
                del d
                server.stage("training (torch loaded)")
                mine.stage("training (on the server)")
                start = time.perf_counter()
                ids = client.upload(image, axes), client.upload(labels, "ZYX"[-labels.ndim :])
                uploaded = time.perf_counter() - start
                server.stage("upload")
                mine.stage("upload")
                start = time.perf_counter()
                pred = client.predict("bench", *ids, axes=axes, class_map=True)
                predicted = time.perf_counter() - start
                server.stage("predict + class map")
                mine.stage("predict + class map")
        finally:
            service.stop()
    print(f"upload {uploaded:.1f} s, predict + class map {predicted:.1f} s for "
          f"{len(pred.label_id)} objects")  # fmt: skip
    print(f"outputs: class map {digest(pred.class_map)}, probabilities "
          f"{digest(pred.label_id, pred.probabilities)}")  # fmt: skip
    server.report("server")
    mine.report("client")


def describe(image: np.ndarray, labels: np.ndarray) -> str:
    return (f"image {image.shape} {image.dtype} {image.nbytes / GIB:.2f} GiB, labels "
            f"{labels.dtype} {labels.nbytes / GIB:.2f} GiB")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("inprocess", "service"), default="inprocess")
    ap.add_argument("--volume", choices=("2d", "3d"), default="2d")
    ap.add_argument("--size", type=int, default=8000, help="2d: image side in pixels")
    ap.add_argument("--spacing", type=int, default=28, help="2d: grid step between objects")
    ap.add_argument("--planes", type=int, default=200, help="3d: planes")
    ap.add_argument("--side", type=int, default=1024, help="3d: plane side in pixels")
    args = ap.parse_args()
    if args.volume == "2d":
        make = partial(huge_2d, args.size, args.spacing)
    else:
        make = partial(huge_3d, args.planes, args.side)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    (in_process if args.mode == "inprocess" else through_service)(args.volume, make)
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
