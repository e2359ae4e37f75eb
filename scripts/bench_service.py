"""Predict through the gRPC service vs in-process, on one large synthetic image.

A small model is trained in-process, saved, and imported into a server started in this
process on a loopback port (``phenosort.service.server.create_server``). Each variant runs
``--runs`` times after one warm-up (variants alternate); the median time per object is
reported:

- ``in-process``: ``ObjectClassifier.predict``;
- ``grpc, cached``: ``Client.predict`` on arrays the server holds (hash + HasTensor only);
- ``grpc, by id``: ``Client.predict`` with the content ids of earlier uploads;
- ``grpc, with upload``: ``Client.predict`` on an image the server has not seen.

    .venv/bin/python scripts/bench_service.py [--side 2048] [--grid 64] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import bench_common  # noqa: F401  (this checkout's phenosort, not the installed one)
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.client import Client
from phenosort.service.server import create_server
from phenosort.testing import make_objects

SETTINGS = {"train_epochs": 3, "net_width": 16, "train_min_epoch_samples": 64, "patch_size": 24}


def medians(variants: dict, runs: int) -> dict[str, float]:
    """Median wall time per variant over ``runs`` rounds after one warm-up round; variants
    alternate within a round so that load changes on a shared machine hit all of them."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(runs + 1):
        for name, (run, prepare) in variants.items():
            arg = prepare(i)
            start = time.perf_counter()
            run(arg)
            if i:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2048, help="image edge in pixels")
    parser.add_argument("--grid", type=int, default=64, help="objects per row and column")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--device", default="cpu", help="engine device on both sides")
    parser.add_argument(
        "--class-map", action="store_true", help="also make (and send) the class map"
    )
    args = parser.parse_args()

    data = make_objects("brightness", grid=(args.grid, args.grid), cell=args.side // args.grid)
    image, labels = data.image, data.labels
    n = len(data.classes)
    train = make_objects("brightness", grid=(8, 8), cell=args.side // args.grid, seed=1)
    clf = ObjectClassifier(train.class_names, device=args.device, **SETTINGS)
    clf.fit([Sample(train.image, train.labels, train.classes, train.axes)])

    with tempfile.TemporaryDirectory() as tmp:
        model = clf.save(Path(tmp) / "bench.phenosort")
        srv = create_server(host="127.0.0.1", port=0, store=Path(tmp) / "store", token=None,
                            tls_cert=None, tls_key=None, device=args.device,
                            max_message_bytes=64 << 20, max_tensor_bytes=32 << 30)  # fmt: skip
        try:
            with Client(srv.address) as client:
                client.import_model(model, "bench")
                local = ObjectClassifier.load(model, device=args.device)

                def in_process(_):
                    pred = local.predict(image, labels, axes=data.axes)
                    if args.class_map:
                        pred.class_map()

                def remote(inputs):
                    client.predict("bench", *inputs, axes=data.axes, class_map=args.class_map)

                ids = (client.upload(image, "YX"), client.upload(labels, "YX"))

                def unseen(i):  # a new image per run: one pixel differs
                    changed = image.copy()
                    changed[0, 0] = 60000 + i
                    return changed, labels

                results = medians(
                    {
                        "in-process": (in_process, lambda i: None),
                        "grpc, cached": (remote, lambda i: (image, labels)),
                        "grpc, by id": (remote, lambda i: ids),
                        "grpc, with upload": (remote, unseen),
                    },
                    args.runs,
                )
        finally:
            srv.stop(None)
    base = results["in-process"]
    print(f"{args.side}x{args.side} uint16 image, {n} objects, device {args.device}, "
          f"median of {args.runs} runs")  # fmt: skip
    for name, seconds in results.items():
        print(f"{name:>18}: {seconds:7.3f} s  {seconds / n * 1e3:7.4f} ms/object  "
              f"x{seconds / base:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
