"""``phenosort predict`` of many images on Dask distributed: a local cluster or a given one.

Tasks carry paths, never pixels or models: a worker reads its image pair, loads the model file
once (cached per worker process by path and checksum; the file is safetensors+JSON, nothing is
unpickled), writes that image's outputs and returns only its table rows. The client puts the
rows back in the order of the pairs (sorted by stem), so objects.csv and summary.csv are the
serial run's. Dask is imported inside the functions only, so ``import phenosort`` stays light.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..dataio.pairs import Pair
from ..errors import InvalidInputError, ModelFileError
from .image_job import ImageResult, OutputOptions, describe, failed_result, predict_image
from .serial import load_classifier, local_predictor

_CACHE_SIZE = 4  # models kept per worker: clients with other models may share a cluster
_models: dict[tuple, object] = {}
_loads: Counter[str] = Counter()
_lock = threading.Lock()


@dataclass(frozen=True)
class ModelRef:
    """What a worker needs to load the model itself: the file's absolute path (the same on
    every worker, i.e. shared storage), its checksum and the load settings."""

    path: str
    checksum: str
    device: str | None = None
    batch_size: int | None = None
    torch_threads: int | None = None  # None: leave the worker's setting

    @property
    def key(self) -> tuple:
        return (self.path, self.checksum, self.device, self.batch_size)


def model_ref(
    path: str | os.PathLike,
    *,
    device: str | None = None,
    batch_size: int | None = None,
    torch_threads: int | None = None,
) -> ModelRef:
    """A :class:`ModelRef` of a model file (reads only its header)."""
    from ..model.file import model_checksum

    path = Path(path).resolve()
    return ModelRef(str(path), model_checksum(path), device, batch_size, torch_threads)


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, e.g. under SLURM or taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


# By default a local cluster is started only where it can pay off. Measured on 2 cores
# (docs/benchmarks.md): the serial path already keeps both cores busy (torch threads), so 2
# single-threaded workers were slower (0.54x for 8, 0.70x for 32 images of 2048 x 2048); a
# cluster also costs ~10 s to start (processes importing torch).
CLUSTER_MIN_CORES = 4
CLUSTER_MIN_BYTES = 64 << 20


def default_workers(n_images: int) -> int:
    """Local worker processes: one per core, no more than there are images."""
    return max(1, min(cpu_count(), n_images))


def worth_a_cluster(pairs: Sequence[Pair]) -> bool:
    """Whether to predict on a local cluster when not asked: several images, at least
    CLUSTER_MIN_CORES cores and enough pixels to repay starting a cluster (~10 s)."""
    size = sum(p.image_path.stat().st_size for p in pairs)
    return (
        default_workers(len(pairs)) > 1
        and cpu_count() >= CLUSTER_MIN_CORES
        and size >= CLUSTER_MIN_BYTES
    )


def worker_classifier(ref: ModelRef):
    """This process's classifier for ``ref``, loaded on first use."""
    with _lock:  # one load even when a worker runs several tasks at once
        clf = _models.get(ref.key)
        if clf is None:
            clf = _load(ref)
            if len(_models) >= _CACHE_SIZE:
                _models.pop(next(iter(_models)))
            _models[ref.key] = clf
            _loads[ref.path] += 1
    return clf


def _load(ref: ModelRef):
    import torch

    from ..huge_pages import avoid_huge_page_stalls
    from ..model.file import model_checksum

    avoid_huge_page_stalls()  # a worker's first model: this process's set-up
    if ref.torch_threads:
        torch.set_num_threads(ref.torch_threads)  # per process: workers share the cores
    if model_checksum(ref.path) != ref.checksum:
        raise ModelFileError(f"model file {ref.path} on this worker differs from the client's")
    return load_classifier(ref.path, device=ref.device, batch_size=ref.batch_size)


def load_counts() -> dict[str, int]:
    """How often this process loaded each model file (query workers with ``client.run``)."""
    return dict(_loads)


def predict_task(pair: Pair, ref: ModelRef, options: OutputOptions) -> ImageResult:
    """One Dask task: predict ``pair`` with this worker's model and write its outputs."""
    try:
        clf = worker_classifier(ref)
    except Exception as exc:  # e.g. the model file is not on this worker's storage
        return failed_result(pair.stem, options.class_names, describe(exc))

    return predict_image(pair, local_predictor(clf), options)


def local_cluster(n_workers: int):
    """``n_workers`` processes with one thread each: the GIL-bound parts (reading, painting,
    writing) run in parallel, and torch gets the cores through ``ModelRef.torch_threads``."""
    from distributed import LocalCluster

    # the scheduler's HTTP server on any free local port: the default 8787 may be taken
    # (another cluster), which Dask only warns about, and nobody else should reach it
    return LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    )


def connect(address: str):
    """A client of the Dask scheduler at ``address`` (e.g. ``tcp://host:8786``)."""
    from distributed import Client

    try:
        return Client(address, timeout="30s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InvalidInputError(f"cannot reach the Dask scheduler {address}: {exc}") from None


def run_on_dask(
    pairs: Sequence[Pair],
    ref: ModelRef,
    options: OutputOptions,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    done: Callable[[ImageResult], None] | None = None,
) -> list[ImageResult]:
    """Predict every pair on the cluster at ``scheduler`` or on a new local one of
    ``n_workers``; results in the order of ``pairs``, ``done(result)`` as each completes."""
    from distributed import Client, as_completed

    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(connect(scheduler))
        else:
            cluster = stack.enter_context(local_cluster(n_workers or default_workers(len(pairs))))
            client = stack.enter_context(Client(cluster, set_as_default=False))
        # pure=False: a rerun (--overwrite) must run again, not reuse a cluster's old results
        futures = client.map(predict_task, pairs, ref=ref, options=options, pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        results: list[ImageResult | None] = [None] * len(pairs)
        for future in as_completed(futures, loop=client.loop):
            i = position[future.key]
            if future.status == "finished":
                result = future.result()
            else:  # tasks catch their errors: this is a lost worker or a cancelled task
                if future.status == "error":
                    message = describe(future.exception())
                else:
                    message = f"the task was {future.status} (lost worker?)"
                result = failed_result(pairs[i].stem, options.class_names, message)
            future.release()  # free the rows on the cluster as soon as they are here
            results[i] = result
            if done is not None:
                done(result)
    return results  # type: ignore[return-value]


@dataclass(frozen=True)
class DaskPredictor:
    """A folder run's predictor on Dask: the model the workers load, and the cluster (the
    one at ``scheduler``, else a new local one of ``n_workers``)."""

    ref: ModelRef
    scheduler: str | None = None
    n_workers: int | None = None

    def run(
        self,
        pairs: Sequence[Pair],
        options: OutputOptions,
        done: Callable[[ImageResult], None] | None = None,
    ) -> list[ImageResult]:
        return run_on_dask(pairs, self.ref, options, scheduler=self.scheduler,
                           n_workers=self.n_workers, done=done)  # fmt: skip


def dask_predictor(
    model: str | Path,
    n_images: int,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    device: str | None = None,
    batch_size: int | None = None,
) -> tuple[list[str], DaskPredictor]:
    """The class names of the model file and a :class:`DaskPredictor` of it. Without
    ``scheduler``, the local cluster has ``workers`` processes (default: one per core, at most
    one per image) that share the cores out among their torch threads."""
    from ..model.file import read_metadata

    names = read_metadata(model)["class_names"]  # verifies the file before any task runs
    n_workers, threads = None, None  # a given cluster keeps its workers' settings
    if not scheduler:
        n_workers = workers or default_workers(n_images)
        threads = max(1, cpu_count() // n_workers)
    ref = model_ref(model, device=device, batch_size=batch_size, torch_threads=threads)
    return names, DaskPredictor(ref, scheduler, n_workers)
