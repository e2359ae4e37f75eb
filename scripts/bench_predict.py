#!/usr/bin/env python
"""Prediction per stage with I/O (issue 7 §1): ms per object of ``phenosort predict``.

Cases:

- ``generated``: one 4096 x 4096 uint16 image with 20 000 discs
  (``phenosort.testing.make_disc_image``), written as zlib TIFFs to images/ + masks/, and a
  model trained for a few epochs on ``make_objects("brightness")`` (32 x 32 patches);
- each shared dataset (``pannuke_breast25``, ``wbc``, ``cells3d_nuclei`` in ../shared/data):
  a quick model (default settings, ``--epochs`` epochs) trained on the by-image training
  split (cells3d: every other object of its one volume), then every image of the dataset is
  predicted, training images included (their objects go through the in_training_set check).

Stages, summed over the images, each timed on the code the per-image job runs:

- ``read``: ``dataio.load_pair`` (image and mask TIFFs, phenosort's readers);
- ``table``: ``LabelIndex`` + ``object_table_of`` of the mask;
- ``patches``: the image's intensity range + ``extract_patches`` in prediction batches;
- ``forward``: the network alone on those batches (inference mode, same batch sizes);
- ``membership``: ``in_training_set`` (``ObjectClassifier._training_membership``);
- ``painting``: ``class_map`` + ``confidence_map``;
- ``write``: the class-map and confidence TIFFs, then objects.csv and summary.csv.

``total`` is ``phenosort predict DATA --model M --out OUT --confidence --workers 0`` run
in-process (model loading and pairing included); ``ratio`` = total / forward. Each figure is
the best of ``--repeats`` runs. The shared datasets are read in place through symlinks.

Example::

    .venv/bin/python scripts/bench_predict.py --out /tmp/bench_predict.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))  # run from a checkout without installing

from bench_common import Clock, machine  # noqa: E402
from phenosort.axes import check_voxel_size, to_channel_first  # noqa: E402
from phenosort.classifier import ObjectClassifier, Sample, _Prepared  # noqa: E402
from phenosort.dataio import (  # noqa: E402
    Pair,
    find_pairs,
    load_pair,
    write_class_map,
    write_float_image,
)
from phenosort.image_job import output_paths  # noqa: E402
from phenosort.objects.patches import extract_patches  # noqa: E402
from phenosort.objects.table import LabelIndex, object_table_of  # noqa: E402
from phenosort.results import Prediction, write_table_csv  # noqa: E402
from phenosort.sample_sets import load_sample_set, split_by_image  # noqa: E402
from phenosort.testing import make_disc_image, make_objects  # noqa: E402

STAGES = ("read", "table", "patches", "forward", "membership", "painting", "write")
DATASETS = ("pannuke_breast25", "wbc", "cells3d_nuclei")
KEEP_CLASSES = {"wbc": {1, 2, 3, 4}}  # basophil: 4 examples, too rare to train on


# ---------------------------------------------------------------------- stages
def time_stages(clf: ObjectClassifier, pairs: list[Pair], out: Path) -> dict[str, float]:
    """Seconds per stage, summed over ``pairs``, as the per-image job runs each stage."""
    seconds = dict.fromkeys(STAGES, 0.0)
    rows: list[dict] = []
    summary: list[dict] = []
    for pair in pairs:
        _time_image(clf, pair, out, seconds, rows, summary)
    with Clock() as clock:
        write_table_csv(out / "objects.csv", rows, overwrite=True)
        write_table_csv(out / "summary.csv", summary, overwrite=True)
    seconds["write"] += clock.wall
    return seconds


def _time_image(clf, pair: Pair, out: Path, seconds: dict, rows: list, summary: list) -> None:
    """Add one image's stage times to ``seconds`` and its table rows to ``rows``/``summary``."""
    import torch

    net, names, step = clf.net.eval(), clf.class_names, clf.config.predict_batch_size

    def timed(stage: str, fn):
        with Clock() as clock:
            result = fn()
        seconds[stage] += clock.wall
        return result

    image, labels = timed("read", lambda: load_pair(pair))
    image_cf = to_channel_first(image.array, image.axes)
    index = timed("table", lambda: LabelIndex.of(labels))
    table = timed("table", lambda: object_table_of(index))
    vs = check_voxel_size(image.voxel_size, labels.ndim)
    n = len(table)

    def cut():
        image_range = clf.normalization.image_range(image_cf)
        batches = [
            extract_patches(image_cf, labels, table.subset(np.arange(s, min(s + step, n))),
                            clf.patch_spec, clf.normalization, image_range, vs)
            for s in range(0, n, step)
        ]  # fmt: skip
        return batches, image_range

    batches, image_range = timed("patches", cut)
    with torch.inference_mode():
        logits = timed("forward", lambda: [net(torch.from_numpy(b)) for b in batches])
        probs = [torch.softmax(x.float(), dim=1).numpy() for x in logits]
    probs = np.concatenate(probs) if probs else np.zeros((0, len(names)), np.float32)
    prep = _Prepared(image_cf, labels, index, table, vs, image_range)  # what predict() builds
    member = timed("membership", lambda: clf._training_membership(prep, table))
    pred = Prediction(probs, list(names), member, table, index)
    class_map, confidence = timed("painting", lambda: (pred.class_map(), pred.confidence_map()))

    def write():
        paths, vsize = output_paths(pair.stem, out, names), image.voxel_size
        write_class_map(paths["classes"], class_map, names, voxel_size=vsize, overwrite=True)
        write_float_image(paths["confidence"], confidence, voxel_size=vsize, overwrite=True)
        rows.append({"image": pair.stem, **pred.columns()})
        counts = np.bincount(pred.class_index, minlength=len(names) + 1)[1:]
        summary.append({"image": pair.stem, "n_objects": n, **dict(zip(names, counts))})

    timed("write", write)


def time_cli(data_dir: Path, model: Path, out: Path) -> float:
    """Wall seconds of ``phenosort predict ... --confidence --workers 0`` in this process."""
    from phenosort.cli import main as cli

    argv = ["predict", str(data_dir), "--model", str(model), "--out", str(out), "--confidence",
            "--workers", "0", "--quiet", "--overwrite"]  # fmt: skip
    with Clock() as clock:
        status = cli(argv)
    if status != 0:
        raise SystemExit(f"phenosort predict failed with status {status}")
    return clock.wall


def bench_case(name: str, model: Path, data_dir: Path, work: Path, repeats: int) -> dict:
    """Per-stage and end-to-end timings of predicting every image of ``data_dir``."""
    clf = ObjectClassifier.load(model, device="cpu")
    pairs = find_pairs(data_dir)
    stage_out, cli_out = work / f"{name}-stages", work / f"{name}-cli"
    stage_out.mkdir(parents=True, exist_ok=True)
    runs = [time_stages(clf, pairs, stage_out) for _ in range(max(1, repeats))]
    stages = {s: min(r[s] for r in runs) for s in STAGES}
    total = min(time_cli(data_dir, model, cli_out) for _ in range(max(1, repeats)))
    with open(cli_out / "summary.csv") as fh:
        n_objects = sum(int(line.split(",")[1]) for line in list(fh)[1:])
    ms = {s: 1000 * v / n_objects for s, v in stages.items()}
    ms["sum of stages"] = sum(ms[s] for s in STAGES)
    ms["total"] = 1000 * total / n_objects
    return {
        "case": name,
        "images": len(pairs),
        "objects": n_objects,
        "patch_shape": list(clf.patch_spec.shape),
        "batch": clf.config.predict_batch_size,
        "seconds": {**stages, "total": total},
        "ms_per_object": ms,
        "ratio_total_over_forward": total / stages["forward"],
    }


# ---------------------------------------------------------------------- cases
def generated_case(args, work: Path) -> dict:
    import tifffile

    data = make_disc_image(args.size, args.objects, seed=args.seed)
    folder = work / "generated"
    for sub, array in (("images", data.image), ("masks", data.labels)):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(folder / sub / "discs.tif", array, compression="zlib")
    synth = make_objects("brightness", grid=(12, 12), seed=args.seed)
    clf = ObjectClassifier(synth.class_names, patch_size=32, train_epochs=args.epochs,
                           train_patience=0, device="cpu")  # fmt: skip
    clf.fit([Sample(synth.image, synth.labels, synth.classes, synth.axes, None, "synthetic")])
    model = clf.save(work / "generated.phenosort", overwrite=True)
    return bench_case("generated", model, folder, work, args.repeats)


def dataset_case(args, name: str, work: Path) -> dict:
    root = Path(args.data_root) / name
    samples, names = load_sample_set(root, KEEP_CLASSES.get(name))
    if len(samples) > 1:
        train, _ = split_by_image(samples)
    else:  # one volume: every other annotated object
        (s,) = samples
        half = {k: v for i, (k, v) in enumerate(sorted(s.annotations.items())) if i % 2 == 0}
        train = [Sample(s.image, s.labels, half, s.axes, s.voxel_size, s.name)]
    clf = ObjectClassifier(names, train_epochs=args.epochs, train_patience=0,
                           train_min_epoch_samples=64, device="cpu")  # fmt: skip
    clf.fit(train)
    model = clf.save(work / f"{name}.phenosort", overwrite=True)
    folder = work / name  # the CLI's images/ + masks/ layout, linked to the samples
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for sample in sorted((root / "samples").iterdir()):
        for sub, file in (("images", "image.tif"), ("masks", "labels.tif")):
            link = folder / sub / f"{sample.name}.tif"
            if not link.exists():
                link.symlink_to(sample / file)
    return bench_case(name, model, folder, work, args.repeats)


# ---------------------------------------------------------------------- main
def print_case(case: dict) -> None:
    print(
        f"\n{case['case']}: {case['images']} image(s), {case['objects']} objects, patch "
        f"{case['patch_shape']}, batch {case['batch']}"
    )
    for stage, ms in case["ms_per_object"].items():
        print(f"  {stage:<14} {ms:>9.4f} ms/object")
    print(f"  ratio total / forward: {case['ratio_total_over_forward']:.2f}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--size", type=int, default=4096, help="generated image edge (default 4096)")
    p.add_argument("--objects", type=int, default=20000, help="generated objects (default 20000)")
    p.add_argument(
        "--cases",
        default=",".join(("generated", *DATASETS)),
        help="comma-separated: generated and/or dataset names (default: all four)",
    )
    p.add_argument(
        "--data-root",
        default=str(REPO.parent / "shared" / "data"),
        help="folder of the shared datasets (default ../shared/data from the repository root)",
    )
    p.add_argument("--epochs", type=int, default=2, help="training epochs of the quick models")
    p.add_argument("--repeats", type=int, default=2, help="best of N for stages and total")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=None, help="keep the files here (default: temp)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    result = {"machine": machine(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
    result["arguments"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    result["cases"] = []
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        work = args.work or Path(tmp)
        for name in args.cases.split(","):
            case = generated_case(args, work) if name == "generated" else None
            case = case or dataset_case(args, name, work)
            print_case(case)
            result["cases"].append(case)
    result["machine"]["load_average_at_end"] = list(os.getloadavg())
    m = result["machine"]
    print(
        f"\n{m['cpu_count']} CPU(s), torch {m['torch']} ({m['torch_threads']} threads), load "
        f"average {m['load_average_at_start'][0]:.2f} at start, "
        f"{m['load_average_at_end'][0]:.2f} at end"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
