"""Helpers shared by the benchmark scripts: timing blocks, describing the machine, where the
shared datasets are."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
# a benchmark measures the checkout it runs from, not the installed phenosort: two checkouts
# timed side by side (`git worktree`) would otherwise both run the installed one
sys.path.insert(0, str(REPO / "python"))
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared beside the repo


class Clock:
    """Wall and process CPU time (all threads) of a block. CPU time is reported next to the
    wall time because wall time swells when other processes share the cores."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def best_of(repeats: int, fn: Callable[[], T]) -> tuple[tuple[float, float], T]:
    """(wall, cpu) seconds of the fastest of ``repeats`` calls, and the last result."""
    best, result = (float("inf"), float("inf")), None
    for _ in range(max(1, repeats)):
        with Clock() as clock:
            result = fn()
        best = min(best, (clock.wall, clock.cpu))
    return best, result


def start_run(args) -> dict:
    """Apply ``args.threads`` to torch and return the result header every benchmark writes:
    the machine, the command line and the arguments."""
    import sys
    from pathlib import Path

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    return {
        "machine": machine(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }


def finish_run(result: dict, out) -> None:
    """Record the load average at the end and write ``result`` as JSON to ``out`` (if set)."""
    import json

    result["machine"]["load_average_at_end"] = list(os.getloadavg())
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
        print(f"wrote {out}")


def machine() -> dict:
    """Platform, library versions, torch threads and the load average now."""
    import numpy as np
    import scipy
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "load_average_at_start": list(os.getloadavg()),
    }
