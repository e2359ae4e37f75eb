"""The demo main job: generate a small dataset, start the service, train and predict through
it, report, stop the service; on any machine."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import tifffile

from .errors import InvalidInputError, PhenosortError
from .testing import make_objects

N_IMAGES = 4
LABELS_PER_CLASS = 12  # per training image


def write_demo_dataset(folder: Path, seed: int = 0) -> dict[str, dict[int, int]]:
    """Write ``images/``, ``masks/``, ``annotations.csv`` (a few labels on the first images)
    and ``truth.csv`` (every object's class); returns the truth."""
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(seed)
    truth: dict[str, dict[int, int]] = {}
    annotations: list[tuple[str, int, str]] = []
    names: list[str] = []
    for i in range(N_IMAGES):
        data = make_objects("demo", grid=(10, 10), seed=seed + i)
        names = data.class_names
        stem = f"demo_{i + 1:02d}"
        tifffile.imwrite(folder / "images" / f"{stem}.tif", data.image, imagej=True)
        tifffile.imwrite(folder / "masks" / f"{stem}.tif", data.labels, imagej=True)
        truth[stem] = data.classes
        if i < N_IMAGES - 1:  # the last image stays unlabelled: a held-out test
            ids = np.array(sorted(data.classes))
            classes = np.array([data.classes[j] for j in ids])
            for k in range(1, len(names) + 1):
                chosen = rng.permutation(ids[classes == k])[:LABELS_PER_CLASS]
                annotations += [(stem, int(j), names[k - 1]) for j in sorted(chosen)]
    for name, rows in (
        ("annotations.csv", annotations),
        (
            "truth.csv",
            [(s, j, names[k - 1]) for s, d in truth.items() for j, k in sorted(d.items())],
        ),
    ):
        with open(folder / name, "w", newline="") as fh:
            csv.writer(fh).writerows([("image", "label", "class"), *rows])
    return truth


def run_demo(
    out: Path, *, device: str | None = None, quiet: bool = False, in_process: bool = False
) -> int:
    """Generate data in ``out/data``; start ``phenosort serve`` (unless ``in_process``), train
    ``out/model.phenosort`` and predict into ``out/predictions`` through it; print the
    validation metrics, the held-out accuracy and where the outputs are; stop the service."""
    from .cli import main

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InvalidInputError(f"demo folder {out} exists and is not empty; choose another")
    data, model, predictions = out / "data", out / "model.phenosort", out / "predictions"
    truth = write_demo_dataset(data)
    print(f"demo data: {data} ({N_IMAGES} images, {LABELS_PER_CLASS} labels per class per image)")
    extra = ["--quiet"] if quiet else []
    service = None if in_process else LocalService(out / "server-store", device)
    try:
        if service is None:
            extra += ["--device", device] if device else []
        else:
            extra += ["--server", service.start()]
            print(f"phenosort service started at {service.address} (store {service.store})")
        code = main(["train", str(data), "--annotations", str(data / "annotations.csv"),
                     "--model", str(model), *extra])  # fmt: skip
        if code:
            return code
        code = main(["predict", str(data), "--model", str(model), "--out", str(predictions),
                     "--rois", "--confidence", *extra])  # fmt: skip
        if code:
            return code
    finally:
        if service is not None:
            service.stop()
            print("phenosort service stopped")
    held_out = f"demo_{N_IMAGES:02d}"
    with open(predictions / "objects.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["image"] == held_out]
    names = make_objects("demo", grid=(1, 1)).class_names  # truth holds indices into these
    correct = sum(r["class_name"] == names[truth[held_out][int(r["label"])] - 1] for r in rows)
    print(f"held-out image {held_out}: {correct}/{len(rows)} objects correct "
          f"({correct / max(len(rows), 1):.1%})")  # fmt: skip
    print(f"model: {model}")
    print(f"outputs: {predictions}/objects.csv, summary.csv, *_classes.tif (class maps), "
          "*_classes.zip (ImageJ ROIs by class), *_confidence.tif")  # fmt: skip
    return 0


class LocalService:
    """``phenosort serve`` as a child process on a free loopback port, for the demo."""

    def __init__(self, store: Path, device: str | None = None, timeout: float = 60.0) -> None:
        self.store, self.device, self.timeout = Path(store), device, timeout
        self.process: subprocess.Popen | None = None
        self._drain: threading.Thread | None = None
        self.address = ""

    def start(self) -> str:
        cmd = [sys.executable, "-m", "phenosort.cli", "serve", "--port", "0",
               "--store", str(self.store), "--log-level", "WARNING"]  # fmt: skip
        if self.device:
            cmd += ["--device", self.device]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        stdout = self.process.stdout
        assert stdout is not None  # stdout=PIPE
        deadline = time.monotonic() + self.timeout
        for line in stdout:  # the server prints READY host:port when listening
            if line.startswith("READY "):
                self.address = line.split()[1]
                # keep draining stdout so the server never blocks on a full pipe
                self._drain = threading.Thread(target=stdout.read, daemon=True)
                self._drain.start()
                return self.address
            if time.monotonic() > deadline:
                break
        self.stop()
        raise PhenosortError("the phenosort service did not start (no READY line)")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            if self._drain is not None:
                self._drain.join(timeout=5)  # reads to EOF now that the process has ended
            self.process.stdout.close()
