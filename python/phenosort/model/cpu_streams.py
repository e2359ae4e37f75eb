"""Streams: worker threads that each run torch on one CPU thread, side by side.

The light networks' convolutions are small (16-64 channels on 8-32 px maps), and torch's
intra-op threads share one batch's work poorly: on 2 cores the network ran a batch 1.5x
faster on two threads than on one, but two batches at once, one per thread, had 1.2-1.6x
the throughput of one batch on two threads (docs/benchmarks.md, issue 15). So on a CPU,
batches go through the network in streams, as inference servers run small models.

torch's thread count is per thread under OpenMP (``omp_set_num_threads`` sets the calling
thread's own count), so each stream sets its own to one; torch's default for threads
started later is put back as soon as the streams run. Under a torch built without OpenMP
the count is shared instead: the streams then run with the default, which is slower but
gives the same results.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import torch

# the streams of this process, by count: made on first use and kept, since a new thread's
# first torch calls cost ~12 ms (measured: one group of 64 PanNuke objects took 1.4x the
# time of one stream with fresh threads); the process ID tells a forked child's copy
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}
_STARTING = threading.Lock()


def stream_count(device: torch.device) -> int:
    """How many streams to run on ``device``: torch's thread count in the calling thread
    on a CPU (a Dask worker's share of the cores, or all of them), else one."""
    return max(1, torch.get_num_threads()) if device.type == "cpu" else 1


def cpu_streams(n: int) -> ThreadPoolExecutor:
    """The executor of ``n`` threads whose torch operations each run on one thread, shared
    by every caller in this process (two predictions at once queue their batches on it)."""
    key = (os.getpid(), n)
    with _STARTING:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = _start(n)
    return pool


def _start(n: int) -> ThreadPoolExecutor:
    """``n`` threads, each set to one torch thread; torch's default is put back at once."""
    ready = threading.Barrier(n + 1)

    def one_thread() -> None:
        torch.get_num_threads()  # torch's per-thread set-up first: it would reset the count
        torch.set_num_threads(1)
        ready.wait()

    pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="phenosort-stream")
    default = torch.get_num_threads()
    try:
        # n tasks that wait for each other start n threads
        started = [pool.submit(one_thread) for _ in range(n)]
        ready.wait()
    except BaseException:
        ready.abort()  # the threads that started stop waiting
        pool.shutdown(wait=False)
        raise
    finally:
        torch.set_num_threads(default)  # this thread's, and new threads' default
    for future in started:
        future.result()
    return pool
