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
- ``table``: ``index_and_table`` of the mask (its ``LabelIndex`` and ``ObjectTable``);
- ``patches``: the image's intensity range + ``extract_patches`` in prediction batches;
- ``forward``: the network alone on those batches, as ``predict`` of each image runs it
  (``BatchedInference``: the same batch sizes, in CPU streams; an image of one batch on
  torch's threads in the calling thread). A folder run groups small images' objects into
  shared batches instead: the forward pass in full batches, below, is that cost;
- ``membership``: ``in_training_set`` (``ObjectClassifier._training_membership``);
- ``painting``: ``class_map`` (+ ``confidence_map`` with ``--confidence``);
- ``write``: the class-map (and confidence) TIFFs, then objects.csv and summary.csv.

``total`` is ``phenosort predict DATA --model M --out OUT --workers 0 [--confidence]`` run
in-process (model loading and pairing included); ``ratio`` = total / forward. Each figure is
the best of ``--repeats`` runs (stages and total interleaved), each run into a new output
folder; the ratio is also given per repeat (that repeat's total over its forward pass), whose
median is steadier on a shared machine. Also reported: the forward pass on all images'
patches in full batches, i.e. what the network would cost if small images shared batches.
The shared datasets are read in place through symlinks; ``--work`` keeps everything and
reuses the models found there, so that two versions of the code can be timed on the same
models.

Example::

    .venv/bin/python scripts/bench_predict.py --out /tmp/bench_predict.json
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench_common import SHARED_DATA, Clock, finish_run, start_run
from bench_quality import KEEP  # (wbc without basophils, as in the protocol)
from bench_reference import ReferenceNet, multiply_adds
from bench_reference import predict_folder as reference_predict
from phenosort.axes import check_voxel_size, to_channel_first
from phenosort.batch.image_job import output_paths
from phenosort.classifier import ObjectClassifier, Sample, _Prepared
from phenosort.cpu_share import cpu_share
from phenosort.dataio import (
    Pair,
    find_pairs,
    load_pair,
    write_class_map,
    write_float_image,
)
from phenosort.objects.patches import extract_patches
from phenosort.objects.table import index_and_table
from phenosort.results import Prediction, write_table_csv
from phenosort.sample_sets import load_sample_set, split_by_image
from phenosort.settings_text import parse_settings
from phenosort.testing import make_disc_image, make_objects

CONFIDENCE = False  # --confidence: also paint and write the confidence map
STAGES = ("read", "table", "patches", "forward", "membership", "painting", "write")
DATASETS = ("pannuke_breast25", "wbc", "cells3d_nuclei")


# ---------------------------------------------------------------------- stages
Times = dict[str, tuple[float, float]]  # stage -> (wall, CPU) seconds


def time_stages(clf: ObjectClassifier, pairs: list[Pair], out: Path) -> tuple[Times, list]:
    """Seconds per stage summed over ``pairs``, as the per-image job runs each stage, and
    every image's patch batches (for the batched reference)."""
    seconds = dict.fromkeys(STAGES, (0.0, 0.0))
    rows: list[dict] = []
    summary: list[dict] = []
    batches: list[np.ndarray] = []
    for pair in pairs:
        batches += _time_image(clf, pair, out, seconds, rows, summary)
    with Clock() as clock:
        write_table_csv(out / "objects.csv", rows)
        write_table_csv(out / "summary.csv", summary)
    _add(seconds, "write", clock)
    return seconds, batches


def _add(seconds: Times, stage: str, clock: Clock) -> None:
    wall, cpu = seconds[stage]
    seconds[stage] = (wall + clock.wall, cpu + clock.cpu)


def _time_image(clf, pair: Pair, out: Path, seconds: Times, rows: list, summary: list) -> list:
    """Add one image's stage times to ``seconds``, its rows to ``rows``/``summary``; return
    its patch batches."""
    inference = clf._batched_inference()  # the network and batch size predict() uses
    names, step = clf.class_names, inference.batch_size

    def timed(stage: str, fn):
        with Clock() as clock:
            result = fn()
        _add(seconds, stage, clock)
        return result

    image, labels = timed("read", lambda: load_pair(pair))
    image_cf = to_channel_first(image.array, image.axes)
    index, table = timed("table", lambda: index_and_table(labels))
    vs = check_voxel_size(image.voxel_size, labels.ndim)
    n = len(table)

    def cut():  # in raster order, as predict() cuts
        image_range = clf.normalization.image_range(image_cf)
        order = table.raster_order()
        batches = [
            extract_patches(image_cf, labels, table.subset(order[s : s + step]),
                            clf.patch_spec, clf.normalization, image_range, vs)
            for s in range(0, n, step)
        ]  # fmt: skip
        return batches, image_range, order

    batches, image_range, order = timed("patches", cut)
    # the network as predict() runs it (in CPU streams), on the batches cut above
    probs = timed("forward", lambda: inference.of_objects(n, lambda rows: batches[rows[0] // step]))
    probs[order] = probs.copy()  # back in the table's order
    prep = _Prepared(image_cf, labels, index, table, vs, image_range)  # what predict() builds
    member = timed("membership", lambda: clf._training_membership(prep, table))
    pred = Prediction(probs, list(names), member, table, index)
    class_map = timed("painting", pred.class_map)
    confidence = timed("painting", pred.confidence_map) if CONFIDENCE else None

    def write():
        paths, vsize = output_paths(pair.stem, out, names), image.voxel_size
        write_class_map(paths["classes"], class_map, names, voxel_size=vsize)
        if confidence is not None:
            write_float_image(paths["confidence"], confidence, voxel_size=vsize)
        rows.append({"image": pair.stem, **pred.columns()})
        counts = np.bincount(pred.class_index, minlength=len(names) + 1)[1:]
        summary.append({"image": pair.stem, "n_objects": n, **dict(zip(names, counts))})

    timed("write", write)
    return batches


def time_batched_forward(clf: ObjectClassifier, batches: list[np.ndarray]) -> tuple:
    """(wall, CPU) seconds of the network on all images' patches in full batches: what the
    forward pass would cost if small images shared batches."""
    patches = np.concatenate(batches)
    with Clock() as clock:
        clf._batched_inference().of_patches(patches)
    return clock.wall, clock.cpu


def time_cli(data_dir: Path, model: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of ``phenosort predict ... --workers 0 [--confidence]`` in this
    process, into a new folder ``out``."""
    from phenosort.cli import main as cli

    argv = ["predict", str(data_dir), "--model", str(model), "--out", str(out),
            "--workers", "0", "--quiet", *(["--confidence"] if CONFIDENCE else [])]  # fmt: skip
    with Clock() as clock:
        status = cli(argv)
    if status != 0:
        raise SystemExit(f"phenosort predict failed with status {status}")
    return clock.wall, clock.cpu


def _fresh(folder: Path) -> Path:
    """An empty ``folder``: outputs are written as in a first run (replacing a just-written
    file costs ext4 a flush, which a new --out folder never pays)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def bench_case(
    name: str, model: Path, data_dir: Path, work: Path, repeats: int, reference: bool = False
) -> dict:
    """Per-stage and end-to-end timings of predicting every image of ``data_dir`` (and of
    the reference plugin's loop on the same files, alternated, with ``reference``)."""
    clf = ObjectClassifier.load(model, device="cpu")
    pairs = find_pairs(data_dir)
    runs, totals, ref_runs = [], [], []
    ref_net = ReferenceNet(clf.in_channels + 1, len(clf.class_names)) if reference else None
    for _ in range(max(1, repeats)):  # interleaved, so that all see the same load
        runs.append(time_stages(clf, pairs, _fresh(work / f"{name}-stages")))
        totals.append(time_cli(data_dir, model, _fresh(work / f"{name}-cli") / "out"))
        if ref_net is not None:
            ref_runs.append(time_reference(pairs, ref_net, clf, _fresh(work / f"{name}-ref")))
    stages = {s: min(r[0][s] for r in runs) for s in STAGES}
    total = min(totals)
    batched = time_batched_forward(clf, runs[-1][1])
    with open(work / f"{name}-cli" / "out" / "summary.csv") as fh:
        n_objects = sum(int(line.split(",")[1]) for line in list(fh)[1:])

    def ms(seconds: tuple[float, float], i: int = 0) -> float:
        return 1000 * seconds[i] / n_objects

    per_object = {s: ms(v) for s, v in stages.items()}
    per_object["sum of stages"] = sum(per_object.values())
    per_object["total"] = ms(total)
    cpu_per_object = {s: ms(v, 1) for s, v in stages.items()}
    cpu_per_object["sum of stages"] = sum(cpu_per_object.values())
    cpu_per_object["total"] = ms(total, 1)
    shape, channels = tuple(clf.patch_spec.shape), clf.in_channels + 1
    macs = multiply_adds(clf.net, shape, channels)
    result = {
        "case": name,
        "images": len(pairs),
        "objects": n_objects,
        "patch_shape": list(clf.patch_spec.shape),
        "batch": clf._batched_inference().batch_size,
        "seconds": {s: v[0] for s, v in stages.items()} | {"total": total[0]},
        "cpu_seconds": {s: v[1] for s, v in stages.items()} | {"total": total[1]},
        "ms_per_object": per_object,
        "cpu_ms_per_object": cpu_per_object,
        "forward_batched_across_images_ms_per_object": ms(batched),
        "ratio_total_over_forward": total[0] / stages["forward"][0],
        # each repeat's total over its own forward pass, run one after the other: the
        # machine's speed drifts by 10-20 % between repeats, which best-of figures mix
        "ratio_total_over_forward_per_repeat": [
            t[0] / r[0]["forward"][0] for t, r in zip(totals, runs, strict=True)
        ],
        "ratio_total_over_forward_cpu": total[1] / stages["forward"][1],
        # the least total / forward that the run's CPU time allows on torch's threads (the
        # cores it uses), were every stage to overlap every other perfectly
        "ratio_floor_per_repeat": [
            t[1] / cpu_share() / r[0]["forward"][0] for t, r in zip(totals, runs, strict=True)
        ],
        # the forward pass as a folder run now makes it: small images share batches
        "ratio_total_over_batched_forward": total[0] / batched[0],
        "multiply_adds_per_patch": macs,
        "forward_gmac_per_s": macs * n_objects / stages["forward"][0] / 1e9,
        "batch_norm_folded": _folded(clf),
    }
    if ref_runs:
        ref_macs = multiply_adds(ref_net, shape, channels)
        ref_total = [min(sum(v[i] for v in r.values()) for r in ref_runs) for i in (0, 1)]
        result["reference"] = {
            key: {s: 1000 * min(r[s][i] for r in ref_runs) / n_objects for s in ref_runs[0]}
            | {"total": 1000 * ref_total[i] / n_objects}
            for i, key in enumerate(("ms_per_object", "cpu_ms_per_object"))
        }
        best_forward = min(r["forward"][0] for r in ref_runs)
        result["reference"]["multiply_adds_per_patch"] = ref_macs
        result["reference"]["forward_gmac_per_s"] = ref_macs * n_objects / best_forward / 1e9
        result["ratio_total_over_reference"] = total[0] / ref_total[0]
        result["ratio_total_over_reference_cpu"] = total[1] / ref_total[1]
    return result


def _folded(clf: ObjectClassifier) -> bool:
    """Whether the network prediction runs has no batch norm left (all folded)."""
    import torch

    net = clf._inference_network(clf.net, torch.device("cpu"))
    return not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())


def time_reference(pairs: list[Pair], net, clf: ObjectClassifier, out: Path) -> dict:
    """Seconds per stage of the reference's loop on ``pairs`` (2D grey images only), with
    the same patch size as phenosort's model."""
    if clf.ndim != 2 or clf.in_channels != 1:
        raise SystemExit("--reference times 2D grey images only (as the reference's defaults)")
    images = [p.image_path for p in pairs]
    masks = [p.mask_path for p in pairs]
    return reference_predict(images, masks, out, net, patch=clf.patch_spec.shape[-1])


# ---------------------------------------------------------------------- cases
def generated_case(args, work: Path) -> dict:
    import tifffile

    folder = work / f"generated-{args.size}-{args.objects}-{args.seed}"
    if not (folder / "masks" / "discs.tif").is_file():
        data = make_disc_image(args.size, args.objects, seed=args.seed)
        for sub, array in (("images", data.image), ("masks", data.labels)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(folder / sub / "discs.tif", array, compression="zlib")
    model = work / f"generated{_suffix(args)}.phenosort"
    if not model.is_file():  # a model kept in --work is reused (to compare code versions)
        synth = make_objects("brightness", grid=(12, 12), seed=args.seed)
        clf = ObjectClassifier(synth.class_names, patch_size=32, train_epochs=args.epochs,
                               train_patience=0, device="cpu", **args.settings)  # fmt: skip
        clf.fit([Sample(synth.image, synth.labels, synth.classes, synth.axes, None, "synth")])
        clf.save(model)
    return bench_case("generated", model, folder, work, args.repeats, args.reference)


def dataset_case(args, name: str, work: Path) -> dict:
    root = Path(args.data_root) / name
    model = work / f"{name}{_suffix(args)}.phenosort"
    if not model.is_file():
        samples, names = load_sample_set(root, KEEP.get(name))
        if len(samples) > 1:
            train, _ = split_by_image(samples)
        else:  # one volume: every other annotated object
            (s,) = samples
            half = {k: v for i, (k, v) in enumerate(sorted(s.annotations.items())) if i % 2 == 0}
            train = [Sample(s.image, s.labels, half, s.axes, s.voxel_size, s.name)]
        clf = ObjectClassifier(names, train_epochs=args.epochs, train_patience=0,
                               train_min_epoch_samples=64, device="cpu",
                               **args.settings)  # fmt: skip
        clf.fit(train)
        clf.save(model)
    folder = work / name  # the CLI's images/ + masks/ layout, linked to the samples
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for sample in sorted((root / "samples").iterdir()):
        for sub, file in (("images", "image.tif"), ("masks", "labels.tif")):
            link = folder / sub / f"{sample.name}.tif"
            if not link.exists():
                link.symlink_to(sample / file)
    return bench_case(name, model, folder, work, args.repeats, args.reference)


def _suffix(args) -> str:
    """Model file name suffix for ``--set`` settings (models are reused from ``--work``)."""
    return "".join(f"-{k}={v}" for k, v in sorted(args.settings.items()))


# ---------------------------------------------------------------------- main
def print_case(case: dict) -> None:
    print(
        f"\n{case['case']}: {case['images']} image(s), {case['objects']} objects, patch "
        f"{case['patch_shape']}, batch {case['batch']}"
    )
    cpu = case["cpu_ms_per_object"]
    print(f"  {'ms/object':<14} {'wall':>9} {'CPU':>9}")
    for stage, ms in case["ms_per_object"].items():
        print(f"  {stage:<14} {ms:>9.4f} {cpu[stage]:>9.4f}")
    paired = case["ratio_total_over_forward_per_repeat"]
    print(
        f"  ratio total / forward per repeat: median {statistics.median(paired):.2f} "
        f"({', '.join(f'{r:.2f}' for r in paired)})"
    )
    floor = case["ratio_floor_per_repeat"]
    print(
        f"  its floor (the run's CPU time over {cpu_share()} cores, perfectly overlapped, "
        f"/ forward) per repeat: median {statistics.median(floor):.2f}"
    )
    print(
        f"  ratio total / forward: {case['ratio_total_over_forward']:.2f} (CPU time: "
        f"{case['ratio_total_over_forward_cpu']:.2f}); forward in full batches across images: "
        f"{case['forward_batched_across_images_ms_per_object']:.4f} ms/object (total / that: "
        f"{case['ratio_total_over_batched_forward']:.2f})"
    )
    print(
        f"  network: {case['multiply_adds_per_patch'] / 1e6:.2f} M multiply-adds per patch, "
        f"{case['forward_gmac_per_s']:.1f} GMAC/s, batch norm folded: "
        f"{'yes' if case['batch_norm_folded'] else 'no'}"
    )
    ref = case.get("reference")
    if ref:
        for key in ("ms_per_object", "cpu_ms_per_object"):
            stages = ", ".join(f"{s} {v:.4f}" for s, v in ref[key].items())
            print(f"  reference {'wall' if key == 'ms_per_object' else 'CPU'} ms/object: {stages}")
        print(
            f"  reference network: {ref['multiply_adds_per_patch'] / 1e6:.2f} M multiply-adds "
            f"per patch, {ref['forward_gmac_per_s']:.1f} GMAC/s"
        )
        print(
            f"  phenosort total / reference total: {case['ratio_total_over_reference']:.2f} "
            f"(CPU time: {case['ratio_total_over_reference_cpu']:.2f})"
        )


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
        default=str(SHARED_DATA),
        help="folder of the shared datasets (default ../shared/data from the repository root)",
    )
    p.add_argument("--epochs", type=int, default=2, help="training epochs of the quick models")
    p.add_argument("--repeats", type=int, default=2, help="best of N for stages and total")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep data, models and outputs here, and reuse the models found (default: temp)",
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model setting for the quick models, e.g. net_width=32 (repeatable)",
    )
    p.add_argument(
        "--reference",
        action="store_true",
        help="also time the reference plugin's loop (scripts/bench_reference.py), alternated",
    )
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument(
        "--confidence",
        action="store_true",
        help="also paint and write the confidence map (by default the outputs are the class "
        "map and the tables, what the reference writes)",
    )
    args = p.parse_args(argv)
    args.settings = parse_settings(args.settings)
    global CONFIDENCE
    CONFIDENCE = args.confidence
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = start_run(args)
    result["cases"] = []
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        work = args.work or Path(tmp)
        for name in args.cases.split(","):
            case = generated_case(args, work) if name == "generated" else None
            case = case or dataset_case(args, name, work)
            print_case(case)
            result["cases"].append(case)
    finish_run(result, args.out)
    m = result["machine"]
    print(
        f"\n{m['cpu_count']} CPU(s), torch {m['torch']} ({m['torch_threads']} threads), load "
        f"average {m['load_average_at_start'][0]:.2f} at start, "
        f"{m['load_average_at_end'][0]:.2f} at end"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
