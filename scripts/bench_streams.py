#!/usr/bin/env python
"""CPU streams against one stream (issue 15): whole ``phenosort predict`` runs in this
process, the two alternated in pairs, so that the machine's drift cancels in each pair's
ratio.

"One stream" is prediction as it ran before the streams: torch's threads on one batch at a
time (``stream_count`` held at 1; folder groups then fill one batch). Run
``scripts/bench_predict.py --work DIR --cases CASE`` first: it makes the data and the model
that this script reads from DIR.

Example::

    .venv/bin/python scripts/bench_streams.py --work /tmp/bp --case generated --pairs 10
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

import phenosort.model.inference as inference_module
from bench_common import Clock, finish_run, start_run
from phenosort.cli import main as phenosort_main

# the data folder of each bench_predict case inside its --work folder
DATA = {"generated": "generated-4096-20000-0"}


def predict(work: Path, case: str, out: Path, streams: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``phenosort predict`` of ``case``, with or without streams."""
    real = inference_module.stream_count
    if not streams:
        inference_module.stream_count = lambda _device: 1  # type: ignore[assignment]
    shutil.rmtree(out, ignore_errors=True)
    try:
        with Clock() as clock:
            args = [str(work / DATA.get(case, case)), "--model", str(work / f"{case}.phenosort")]
            phenosort_main(["predict", *args, "--out", str(out), "--workers", "0", "--quiet"])
    finally:
        inference_module.stream_count = real
    return clock.wall, clock.cpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True, help="a bench_predict.py --work folder")
    p.add_argument("--case", default="generated", help="generated, pannuke_breast25, wbc, ...")
    p.add_argument("--pairs", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", type=Path, help="write the result as JSON here")
    args = p.parse_args(argv)
    result = start_run(args)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        predict(args.work, args.case, out, True)  # warm-up: model, streams, caches
        predict(args.work, args.case, out, False)
        pairs = []
        for i in range(args.pairs):
            order = (True, False) if i % 2 else (False, True)  # which goes first alternates
            times = {streams: predict(args.work, args.case, out, streams) for streams in order}
            pairs.append([times[True][k] / times[False][k] for k in (0, 1)])
    ratios = np.array(pairs)
    result["pairs"] = pairs
    result["wall_ratio_median"] = float(np.median(ratios[:, 0]))
    result["cpu_ratio_median"] = float(np.median(ratios[:, 1]))
    print(
        f"{args.case}: streams / one stream, median of {args.pairs} pairs: wall "
        f"{result['wall_ratio_median']:.3f} (range {ratios[:, 0].min():.2f}-"
        f"{ratios[:, 0].max():.2f}), CPU time {result['cpu_ratio_median']:.3f}"
    )
    finish_run(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
