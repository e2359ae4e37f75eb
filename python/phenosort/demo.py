"""The demo main job: generate a small dataset, start the service, train and predict through
it, report, stop the service; on any machine. It calls the library (:meth:`Client.fit`, the
folder runner), not the CLI, and prints what ``phenosort train`` and ``predict`` print."""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from .batch.image_job import Predictor
from .batch.remote import remote_predictor
from .batch.runner import predict_folder
from .batch.serial import local_predictor
from .classifier import ObjectClassifier, Sample
from .client import Client
from .dataio.pairs import find_pairs
from .errors import InvalidInputError
from .model.config import ModelConfig
from .progress_bars import EpochBar
from .report import default_report_path, save_training_report
from .service.local import LocalService
from .testing import make_objects
from .training_samples import counts_line, load_training_samples
from .training_summary import print_training, training_record

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
    out: Path,
    *,
    device: str | None = None,
    quiet: bool = False,
    in_process: bool = False,
    settings: Mapping[str, object] | None = None,
) -> int:
    """Generate data in ``out/data``; start ``phenosort serve`` (unless ``in_process``), train
    ``out/model.phenosort`` and predict into ``out/predictions`` through it; print the
    validation metrics, the held-out accuracy and where the outputs are; stop the service.

    ``settings``: ModelConfig fields of the training (default: the defaults, as the README's
    main job runs); ``device`` is the in-process one (the service keeps its own).
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InvalidInputError(f"demo folder {out} exists and is not empty; choose another")
    data, model, predictions = out / "data", out / "model.phenosort", out / "predictions"
    truth = write_demo_dataset(data)
    print(f"demo data: {data} ({N_IMAGES} images, {LABELS_PER_CLASS} labels per class per image)")
    demo = _Demo(data, model, predictions, dict(settings or {}), quiet)
    service = None if in_process else LocalService(out / "server-store", device)
    try:
        if service is None:
            code = demo.in_process(device)
        else:
            address = service.start()
            print(f"phenosort service started at {service.address} (store {service.store})")
            with Client(address) as client:
                code = demo.on_server(client)
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


@dataclass
class _Demo:
    """Train on the demo folder and predict it, as ``phenosort train`` then ``phenosort
    predict`` would (the same outputs and lines), through the library."""

    data: Path
    model: Path
    predictions: Path
    settings: dict[str, object]
    quiet: bool

    def _samples(self, class_names: list[str] | None = None) -> tuple[list[Sample], list[str]]:
        samples, names = load_training_samples(self.data, self.data / "annotations.csv",
                                               class_names)  # fmt: skip
        print(counts_line(samples, names), file=sys.stderr)
        return samples, names

    def in_process(self, device: str | None) -> int:
        samples, names = self._samples()
        changes = {**({"device": device} if device else {}), **self.settings}
        clf = ObjectClassifier(names, ModelConfig().updated(**changes))
        with EpochBar(self.quiet, total=clf.config.most_epochs) as bar:
            clf.fit(samples, progress=bar.local, probe_progress=bar.probe)
        clf.save(self.model)
        self._report(samples, device)
        print_training(self.model, training_record(clf), clf.version)
        saved = ObjectClassifier.load(self.model, device=device)  # as predict would load it
        return self._predict(local_predictor(saved), saved.class_names)

    def on_server(self, client: Client) -> int:
        loaded: list[Sample] = []  # for the report's gallery

        def load(class_names: list[str] | None) -> tuple[list[Sample], list[str]]:
            samples, names = self._samples(class_names)
            loaded.extend(samples)
            return samples, names

        name = self.model.stem
        with EpochBar(self.quiet) as bar:
            result = client.fit(name, load, settings=self.settings, progress=bar.remote,
                                export=self.model)  # fmt: skip
        self._report(loaded, None)
        outcome = {**result.metrics, "class_names": result.class_names}
        print_training(self.model, outcome, result.version)
        return self._predict(remote_predictor(client, name), result.class_names)

    def _report(self, samples: list[Sample], device: str | None) -> None:
        path = default_report_path(self.model)
        written = save_training_report(path, self.model, samples, device=device)
        if not self.quiet:
            print(
                f"report written to {written[0]} (figures in {written[-1].parent})", file=sys.stderr
            )

    def _predict(self, predict: Predictor, class_names: list[str]) -> int:
        return predict_folder(find_pairs(self.data), predict, self.predictions, class_names,
                              rois=True, confidence=True, quiet=self.quiet)  # fmt: skip
