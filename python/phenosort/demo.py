"""The demo main job: generate a small dataset, start the service, train and predict through
it, report, stop the service; on any machine."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import tifffile

from .errors import InvalidInputError
from .service.local import LocalService
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
