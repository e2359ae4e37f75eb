"""Live classification (issue 16): latency, idle CPU and the live model's quality.

**Latency** (``--part latency``): ``phenosort serve`` runs as a child process; a generated
image of ``--size``² pixels with about one object per 32² pixels (1024²: 1,024 objects,
``demo`` task, 3 classes) is watched by a live session. A simulated user labels one object
at a time (random order, the true class) and waits for the full update that reflects it.
Two latencies per label, the client's wall time from sending the label: to the first
update that reflects it (a quick update, the last layer refitted on cached features, once a
full update has cached them) and to the full update (training steps, every object predicted
again). Reported: the first update of the session (it sets up the network) and the median
and 95th percentile over the labels 5..``--labels``. ``--think S``: the simulated user looks
at the image for S seconds before the first label, as a person does (default 0).

The server's CPU time (all threads) per change is recorded beside the wall times: on a
shared machine it does not depend on what else runs as much as wall time does.

**Idle CPU** (``--part latency`` too): after the last update, with the watch stream still
open and no label change, the server process's CPU time (all threads, /proc) over 10 s.

**Quality** (``--part quality``): the live model against a full training on the same
labels. The live model is the engine (``phenosort.model.live_update``) driven as a session
would drive it: labels arrive ``--labels-per-update`` at a time in random order, each
update trains ``steps`` steps from the current weights; after the last label, the full
training a session makes once the labels settle (``phenosort.model.live_settle``). Scored
at the last label and settled. The full training is
``ObjectClassifier.fit`` with the default settings. Both are scored (macro-F1) on held-out
images: generated tasks (one training image, two test images, as scripts/bench_quality.py)
or the shared datasets with issue 8's protocol (by-image split, n labels per class).

    nice .venv/bin/python scripts/bench_live.py --part latency [--size 1024 --labels 100]
    nice .venv/bin/python scripts/bench_live.py --part quality --rows demo:10 pannuke_breast25:10
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench_common import SHARED_DATA
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.client import Client
from phenosort.evaluation import score_samples
from phenosort.model.live_settings import LiveSettings
from phenosort.model.live_settle import full_training
from phenosort.model.live_update import LiveModel
from phenosort.sample_sets import labels_per_class, load_sample_set, split_by_image
from phenosort.service.local import LocalService
from phenosort.testing import TASKS, make_objects

KEEP = {"wbc": {1, 2, 3, 4}}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency(args) -> dict:
    grid = args.size // 32
    data = make_objects("demo", grid=(grid, grid), cell=32, seed=args.seed)
    order = np.random.default_rng(args.seed).permutation(sorted(data.classes))
    store = Path(tempfile.mkdtemp(prefix="bench-live-"))
    service = LocalService(store, device="cpu", timeout=120)
    address = service.start()
    assert service.process is not None
    pid = service.process.pid
    rows = []
    live_settings = LiveSettings(**args.live)
    try:
        with Client(address, timeout=600) as client:
            client.create_model("live", data.class_names)
            live = client.live_session("live", **args.live)
            key = live.add_image(data.image, data.labels, axes=data.axes, name="bench")
            updates = live.updates(predictions_only=True)
            time.sleep(args.think)  # the user looks at the image before the first label
            first_classes: dict[int, bool] = {}
            for n, label in enumerate(order[: args.labels], start=1):
                k = data.classes[int(label)]
                cpu = cpu_seconds(pid)
                start = time.perf_counter()
                version = live.label(key, int(label), k)
                first_classes[k] = True
                if len(first_classes) < 2:
                    continue  # one class: nothing to train yet
                first = next(u for u in updates if u.updated_version >= version)
                first_s = time.perf_counter() - start
                update = first
                while update.quick or update.trained_version < version:
                    update = next(updates)
                wall = time.perf_counter() - start
                cpu = cpu_seconds(pid) - cpu
                truth = {key: np.array([data.classes[int(i)] for i in first.images[key].label_id])}
                rows.append({
                    "labels": n, "seconds": wall, "first_s": first_s, "quick": first.quick,
                    "server_cpu_s": cpu,
                    "train_s": update.train_seconds, "predict_s": update.predict_seconds,
                    "quick_s": first.predict_seconds if first.quick else None,
                    "steps": update.steps,
                    "accuracy": float((update.images[key].class_index == truth[key]).mean()),
                    "quick_accuracy": float((first.images[key].class_index == truth[key]).mean()),
                })  # fmt: skip
                print(f"{n:4d} labels  first {first_s:5.2f} s ({'quick' if first.quick else 'full'}"
                      f", acc {rows[-1]['quick_accuracy']:.3f})  full {wall:5.2f} s (train "
                      f"{update.train_seconds:.2f}, predict {update.predict_seconds:.2f}, "
                      f"{update.steps} steps, acc {rows[-1]['accuracy']:.3f}; server CPU "
                      f"{cpu:.2f} s)",
                      flush=True)  # fmt: skip
            # a user who pauses: the full training on the settled labels starts, and the
            # next label cancels it
            settle_after = live_settings.settle_after_s
            time.sleep(settle_after + 1.0)
            label = int(order[args.labels])
            start = time.perf_counter()
            version = live.label(key, label, data.classes[label])
            update = next(u for u in updates if u.updated_version >= version)
            cancel_first_s = time.perf_counter() - start
            while update.quick or update.trained_version < version:
                update = next(updates)
            cancel_full_s = time.perf_counter() - start
            print(f"a label during the full training: first update {cancel_first_s:.2f} s, "
                  f"full {cancel_full_s:.2f} s", flush=True)  # fmt: skip
            while not update.settled:
                update = next(updates)
            settle_s = time.perf_counter() - start
            settled = float((update.images[key].class_index == truth[key]).mean())
            print(f"settled {settle_s:.1f} s after the last label (accuracy {settled:.3f}, "
                  f"estimate {update.estimate})", flush=True)  # fmt: skip
            time.sleep(1.0)  # let the last stream message and log lines settle
            before = cpu_seconds(pid)
            time.sleep(10.0)
            idle = cpu_seconds(pid) - before
            updates.close()
            live.close()
    finally:
        service.stop()
    kept = [r for r in rows[1:] if r["labels"] >= 5]
    timed, firsts = [r["seconds"] for r in kept], [r["first_s"] for r in kept]
    result = {
        "image": f"{args.size}x{args.size}",
        "objects": len(data.classes),
        "first_update_s": rows[0]["seconds"],
        "median_s": float(np.median(firsts)),
        "p95_s": float(np.percentile(firsts, 95)),
        "full_median_s": float(np.median(timed)),
        "full_p95_s": float(np.percentile(timed, 95)),
        "quick_share": float(np.mean([r["quick"] for r in kept])),
        "server_cpu_median_s": float(np.median([r["server_cpu_s"] for r in kept])),
        "n_updates": len(timed),
        "final_accuracy": rows[-1]["accuracy"],
        "label_during_full_training_first_s": cancel_first_s,
        "label_during_full_training_full_s": cancel_full_s,
        "settled_s_after_last_label": settle_s,
        "settled_accuracy": settled,
        "idle_cpu_s_per_10s": idle,
        "updates": rows,
    }
    print(f"first update {result['first_update_s']:.2f} s; 5..{args.labels} labels, "
          f"{len(timed)} changes: first update median {result['median_s']:.2f} s, p95 "
          f"{result['p95_s']:.2f} s ({result['quick_share']:.0%} quick); full update median "
          f"{result['full_median_s']:.2f} s, p95 {result['full_p95_s']:.2f} s (server CPU "
          f"{result['server_cpu_median_s']:.2f} s per change); idle server "
          f"CPU {idle:.3f} s in 10 s")  # fmt: skip
    return result


def live_fit(names, train: list[Sample], settings: LiveSettings, per_update: int, seed: int):
    """The engine driven as a session would: labels arrive ``per_update`` at a time."""
    clf = ObjectClassifier(names, train_seed=seed)
    model = LiveModel(clf, settings)
    pending = []
    for s in train:
        model.add_image(s.name, s.image, s.labels, axes=s.axes, voxel_size=s.voxel_size,
                        watch=False)  # fmt: skip
        pending += [(s.name, int(i), int(c)) for i, c in s.annotations.items()]
    order = np.random.default_rng(seed).permutation(len(pending))
    labels: dict[str, dict[int, int]] = {}
    updates = 0
    for start in range(0, len(order), per_update):
        for j in order[start : start + per_update]:
            key, label, k = pending[j]
            labels.setdefault(key, {})[label] = k
        if len({k for v in labels.values() for k in v.values()}) < 2:
            continue
        model.set_labels(labels)
        model.train_steps(settings.steps)
        model.refit_head()
        updates += 1
    return model, updates, labels


def settle(model: LiveModel, labels) -> None:
    """What a session does once the labels stop changing: a full training, adopted."""
    model.adopt(full_training(model, labels, threading.Event()), labels)


def quality(args) -> list[dict]:
    settings = LiveSettings(**args.live)
    results = []
    for row in args.rows:
        dataset, _, budget = row.partition(":")
        n = None if budget in ("", "all") else int(budget)
        runs = []
        for seed in args.seeds:
            if dataset in TASKS:

                def sample(s: int, task: str = dataset) -> Sample:
                    d = make_objects(task, grid=(8, 8), seed=s)
                    return Sample(d.image, d.labels, d.classes, d.axes, d.voxel_size, f"{s}")

                names = make_objects(dataset, grid=(1, 2), seed=0).class_names
                train_all, test = [sample(100 + seed)], [sample(200 + seed), sample(300 + seed)]
            else:
                samples, names = load_sample_set(args.data_root / dataset, KEEP.get(dataset))
                train_all, test = split_by_image(samples)
            train = [s for s in labels_per_class(train_all, n, seed) if s.annotations]
            start = time.perf_counter()
            model, updates, labels = live_fit(names, train, settings, args.labels_per_update,
                                              seed)  # fmt: skip
            live_s = time.perf_counter() - start
            steps = model.total_steps
            at_last_label = score_samples(model.clf, test)["macro_f1"]
            start = time.perf_counter()
            settle(model, labels)
            settle_s = time.perf_counter() - start
            start = time.perf_counter()
            full = ObjectClassifier(names, train_seed=seed)
            full.fit(train)
            full_s = time.perf_counter() - start
            run = {
                "seed": seed,
                "live_at_last_label_macro_f1": at_last_label,
                "live_macro_f1": score_samples(model.clf, test)["macro_f1"],
                "full_macro_f1": score_samples(full, test)["macro_f1"],
                "live_s": live_s, "settle_s": settle_s, "full_s": full_s, "updates": updates,
                "steps": steps,
            }  # fmt: skip
            runs.append(run)
            print(f"{row} seed {seed}: live at the last label {at_last_label:.3f} ({updates} "
                  f"updates, {steps} steps, {live_s:.0f} s), settled "
                  f"{run['live_macro_f1']:.3f} ({settle_s:.0f} s)"
                  f"  full {run['full_macro_f1']:.3f} ({full_s:.0f} s)", flush=True)  # fmt: skip
        diff = np.array([r["live_macro_f1"] - r["full_macro_f1"] for r in runs])
        summary = {
            "row": row,
            "live_at_last_label_macro_f1": float(
                np.mean([r["live_at_last_label_macro_f1"] for r in runs])
            ),
            "live_macro_f1": float(np.mean([r["live_macro_f1"] for r in runs])),
            "full_macro_f1": float(np.mean([r["full_macro_f1"] for r in runs])),
            "delta": float(diff.mean()),
            "delta_se": float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0,
            "runs": runs,
        }
        print(f"{row}: live {summary['live_macro_f1']:.3f} full {summary['full_macro_f1']:.3f} "
              f"difference {summary['delta']:+.3f} ± {summary['delta_se']:.3f}",
              flush=True)  # fmt: skip
        results.append(summary)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["latency", "quality", "all"], default="all")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds between adding the image and the first label")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", nargs="+", default=["demo:10", "shape:10", "pannuke_breast25:10"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--labels-per-update", type=int, default=1)
    parser.add_argument("--live", type=json.loads, default={}, help="live settings as JSON")
    parser.add_argument("--data-root", type=Path, default=SHARED_DATA)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (quality part)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out: dict = {"load_average_at_start": list(os.getloadavg()), "live": args.live}
    if args.part in ("latency", "all"):
        out["latency"] = latency(args)
    if args.part in ("quality", "all"):
        out["quality"] = quality(args)
    out["load_average_at_end"] = list(os.getloadavg())
    print(f"load average: start {out['load_average_at_start']}, end {out['load_average_at_end']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
