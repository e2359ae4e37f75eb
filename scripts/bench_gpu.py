#!/usr/bin/env python
"""Issue 15's GPU check, prepared as one run for a lent GPU machine (``scripts/device_check.sh``).

Parts (``--parts``, default all), each against the CPU in the same run, alternated:

- ``tests``: the CUDA tests that a CPU-only CI skips (``tests/model/test_device.py``);
- ``predict``: one ``--size`` x ``--size`` uint16 image of ``--objects`` discs (a uint32
  mask past 32,767 objects; ``phenosort.testing.make_disc_image``), written as zlib TIFFs;
  a model trained for a few epochs on the CPU; then ``phenosort predict`` in this process on
  ``--device`` and on the CPU, ``--repeats`` times each (ms per object, best run), and the
  probabilities of both compared (largest difference, objects whose class differs);
- ``train``: ``pannuke_breast25`` at 50 labels per class, seed 0, issue 8's protocol
  (``bench_quality.run_row``), default settings on ``--device`` and on the CPU, paired:
  seconds and macro-F1 of each;
- ``dask``: a folder of ``--images`` images (``--image-size`` px, ``--image-objects`` discs)
  predicted on a local Dask cluster of N single-threaded CPU workers for each N of
  ``--workers`` (the cluster started before the clock: its start is timed apart), in
  images/s; efficiency(N) = rate(N) / (N x rate(1)). Then the command line as a user runs
  it, ``phenosort predict --workers N --device cpu`` (cluster start and imports included,
  the cores shared among the workers' torch threads), against ``--workers 1`` (serial).
  Every run must write the same objects.csv.

A GPU's bfloat16 (``precision=auto``) is expected to move probabilities by up to ~1e-2;
the CPU's own runs are bit-identical. Results: JSON (``--out``) and a summary on stdout.
``--dry-run`` shrinks every size so the script can be checked on a laptop's CPU.

    python3 scripts/bench_gpu.py --data-root .device-data --out $OUT/gpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_common import REPO, SHARED_DATA, Clock, finish_run, start_run
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.dataio import find_pairs, load_pair
from phenosort.testing import make_disc_image, make_objects

QUICK = {"train_epochs": 3, "train_patience": 0, "train_min_epoch_samples": 64}


# ---------------------------------------------------------------------- data and model
def disc_folder(root: Path, n_images: int, size: int, n_objects: int, seed: int) -> Path:
    """``root`` with images/ and masks/ of ``n_images`` disc images (zlib TIFFs)."""
    import tifffile

    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        data = make_disc_image(size, n_objects, seed=seed + i)
        tifffile.imwrite(root / "images" / f"img{i:03d}.tif", data.image, compression="zlib")
        tifffile.imwrite(root / "masks" / f"img{i:03d}.tif", data.labels, compression="zlib")
    return root


def quick_model(path: Path, seed: int) -> Path:
    """A model of the discs' brightness task, trained for a few epochs on the CPU (once:
    the parts share it)."""
    if path.is_file():
        return path
    synth = make_objects("brightness", grid=(12, 12), seed=seed)
    clf = ObjectClassifier(synth.class_names, patch_size=32, device="cpu", **QUICK)
    clf.fit([Sample(synth.image, synth.labels, synth.classes, synth.axes, None, "synth")])
    return clf.save(path, overwrite=True)


def cli_predict(data: Path, model: Path, out: Path, device: str, workers: int) -> float:
    """Wall seconds of ``phenosort predict`` in this process (``workers`` <= 1: serial)."""
    from phenosort.cli import main as cli

    shutil.rmtree(out, ignore_errors=True)
    argv = ["predict", str(data), "--model", str(model), "--out", str(out), "--quiet",
            "--device", device, "--workers", str(workers)]  # fmt: skip
    start = time.perf_counter()
    if cli(argv) != 0:
        raise SystemExit(f"phenosort predict {' '.join(argv)} failed")
    return time.perf_counter() - start


# ---------------------------------------------------------------------- parts
def part_tests() -> dict:
    """The CUDA tests, run by pytest in a new process."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               str(REPO / "tests" / "model" / "test_device.py")]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    tail = run.stdout.strip().splitlines()[-1:] or [run.stderr.strip()[-300:]]
    print(f"tests/model/test_device.py: {tail[0]} (exit {run.returncode})")
    return {"returncode": run.returncode, "summary": tail[0]}


def part_predict(args, work: Path) -> dict:
    """ms per object of the whole prediction on the GPU and the CPU; outputs compared."""
    with Clock() as made:
        folder = disc_folder(work / "big", 1, args.size, args.objects, args.seed)
        model = quick_model(work / "discs.phenosort", args.seed)
    n = args.objects
    devices = {"accelerator": args.device, "cpu": "cpu"}  # distinct keys for a --device cpu check
    times: dict[str, list[float]] = {side: [] for side in devices}
    for _ in range(args.repeats):  # alternated: a load change hits both
        for side, device in devices.items():
            times[side].append(cli_predict(folder, model, work / f"out-{side}", device, 1))
    image, labels = load_pair(find_pairs(folder)[0])
    probabilities = {}
    for side, device in devices.items():
        clf = ObjectClassifier.load(model, device=device)
        probabilities[side] = clf.predict(image.array, labels, axes=image.axes).probabilities
    gpu, cpu = probabilities["accelerator"], probabilities["cpu"]
    result = {
        "device": args.device,
        "objects": n,
        "image": [args.size, args.size],
        "mask_dtype": str(labels.dtype),
        "data_and_model_s": made.wall,
        "ms_per_object": {side: 1000 * min(t) / n for side, t in times.items()},
        "runs_s": times,
        "speedup": min(times["cpu"]) / min(times["accelerator"]),
        "max_abs_probability_difference": float(np.abs(gpu - cpu).max()),
        "objects_with_another_class": int((gpu.argmax(1) != cpu.argmax(1)).sum()),
        "same_objects_csv": _csv(work / "out-accelerator") == _csv(work / "out-cpu"),
    }
    ms = result["ms_per_object"]
    print(
        f"predict {n} objects ({args.size}^2, {labels.dtype} mask): {args.device} "
        f"{ms['accelerator']:.4f} ms/object, cpu {ms['cpu']:.4f} ({result['speedup']:.1f}x); "
        f"largest probability difference {result['max_abs_probability_difference']:.2e}, "
        f"{result['objects_with_another_class']} objects of another class"
    )
    return result


def _csv(out: Path) -> bytes:
    return (out / "objects.csv").read_bytes()


def part_train(args) -> dict:
    """pannuke_breast25:50, seed 0: default settings on the GPU and on the CPU, paired."""
    from bench_quality import run_row

    budget = "10" if args.dry_run else "50"
    row = run_row(args.data_root, "pannuke_breast25", budget, [0],
                  {"device": args.device}, baseline={"device": "cpu"})  # fmt: skip
    gpu, cpu = row, row["baseline"]
    result = {
        "row": row["row"],
        "train_s": {args.device: gpu["train_s"], "cpu": cpu["train_s"]},
        "macro_f1": {args.device: gpu["macro_f1"], "cpu": cpu["macro_f1"]},
        "speedup": cpu["train_s"] / gpu["train_s"],
    }
    print(
        f"train {row['row']} seed 0: {args.device} {gpu['train_s']:.1f} s (macro-F1 "
        f"{gpu['macro_f1']:.3f}), cpu {cpu['train_s']:.1f} s ({cpu['macro_f1']:.3f}), "
        f"{result['speedup']:.1f}x"
    )
    return result


def part_dask(args, work: Path) -> dict:
    """Images/s on a local cluster of N single-threaded workers; the CLI's own split too."""
    from distributed import Client

    from phenosort.batch.cluster import local_cluster, model_ref, run_on_dask
    from phenosort.batch.image_job import OutputOptions

    folder = disc_folder(work / "folder", args.images, args.image_size, args.image_objects, 1000)
    model = quick_model(work / "discs.phenosort", args.seed)
    pairs = find_pairs(folder)
    names = ObjectClassifier.load(model, device="cpu").class_names
    ref = model_ref(model, device="cpu", torch_threads=1)
    rates, starts = {}, {}
    for n in args.workers:
        out = work / f"dask-{n}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        options = OutputOptions(out=out, class_names=tuple(names))
        with contextlib.ExitStack() as stack:
            with Clock() as started:
                cluster = stack.enter_context(local_cluster(n))
                client = stack.enter_context(Client(cluster, set_as_default=False))
                client.wait_for_workers(n)
            with Clock() as ran:
                results = run_on_dask(pairs, ref, options, scheduler=cluster.scheduler_address)
        failed = [r.stem for r in results if r.error]
        if failed:
            raise SystemExit(f"{len(failed)} images failed on {n} workers: {failed[:3]}")
        rates[n], starts[n] = len(pairs) / ran.wall, started.wall
        print(f"dask {n:2d} single-threaded workers: {rates[n]:.2f} images/s "
              f"(cluster start {starts[n]:.1f} s)")  # fmt: skip
    one = rates[min(rates)] / min(rates)  # per worker at the smallest count (1)
    efficiency = {n: rates[n] / (n * one) for n in rates}
    cli = {}
    for n in args.workers:  # as a user runs it: serial for 1, else cluster start included
        cli[n] = cli_predict(folder, model, work / f"cli-{n}", "cpu", n)
    same = len({_csv(work / f"cli-{n}") for n in args.workers}) == 1
    result = {
        "images": len(pairs),
        "image": [args.image_size, args.image_size],
        "objects_per_image": args.image_objects,
        "images_per_s": rates,
        "cluster_start_s": starts,
        "efficiency": efficiency,
        "cli_s": cli,
        "cli_speedup_over_serial": {n: cli[min(cli)] / cli[n] for n in cli},
        "same_objects_csv": same,
    }
    for n in args.workers:
        print(f"  {n:2d} workers: efficiency {efficiency[n]:.2f}; the CLI {cli[n]:.1f} s "
              f"({result['cli_speedup_over_serial'][n]:.2f}x serial)")  # fmt: skip
    return result


# ---------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="tests,predict,train,dask", help="comma-separated")
    p.add_argument("--device", default="cuda", help="the accelerator to compare with the CPU")
    p.add_argument("--size", type=int, default=8192, help="edge of the large image")
    p.add_argument("--objects", type=int, default=80_000, help="discs in the large image")
    p.add_argument("--repeats", type=int, default=2, help="alternated runs per device")
    p.add_argument("--images", type=int, default=64, help="images in the Dask folder")
    p.add_argument("--image-size", type=int, default=1024, help="edge of the folder's images")
    p.add_argument("--image-objects", type=int, default=1500, help="discs per folder image")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8, 16])
    p.add_argument("--data-root", type=Path, default=SHARED_DATA, help="holds pannuke_breast25")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--work", type=Path, default=None, help="keep the data here (default: temp)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument("--dry-run", action="store_true", help="small sizes, to check the script")
    args = p.parse_args(argv)
    if args.dry_run:
        args.size, args.objects, args.repeats = 1024, 2000, 1
        args.images, args.image_size, args.image_objects = 4, 512, 300
        args.workers = [1, 2]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = start_run(args)
    if args.device != "cpu":
        import torch

        if not torch.cuda.is_available() and args.device == "cuda":
            raise SystemExit("no CUDA device here; --device cpu --dry-run checks the script")
        result["gpu"] = torch.cuda.get_device_name(0) if args.device == "cuda" else args.device
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for part in parts:
            start = time.perf_counter()
            if part == "tests":
                result["tests"] = part_tests()
            elif part == "predict":
                result["predict"] = part_predict(args, work)
            elif part == "train":
                result["train"] = part_train(args)
            elif part == "dask":
                result["dask"] = part_dask(args, work)
            else:
                raise SystemExit(f"unknown part {part!r}")
            print(f"[{part}: {time.perf_counter() - start:.0f} s]", flush=True)
    finish_run(result, args.out)
    m = result["machine"]
    print(f"{m['cpu_count']} CPU(s), torch {m['torch']}, load {m['load_average_at_start'][0]:.1f}"
          f" at start, {m['load_average_at_end'][0]:.1f} at end")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
