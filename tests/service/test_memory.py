"""Bounded server memory on large inputs (issue 7 §2), measured in a real ``phenosort serve``
process.

The server's peak RSS (``VmHWM``, reset through ``/proc/<pid>/clear_refs`` right before the
step) may grow by what the step must read or write, never by full-size copies of it. The
inputs are tens of MB so that a copy of the labels (64 MiB as uint32, 128 MiB as intp) stands
far above the allowance; ``scripts/bench_memory.py`` measures the 8000 x 8000 and
200 x 1024 x 1024 cases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phenosort.client import Client
from phenosort.service.local import LocalService
from phenosort.testing import make_objects

MiB = 1 << 20
# per-block temporaries (blocks of 4 M voxels: 32 MiB as intp), gRPC buffers, allocator slack
SCRATCH = 64 * MiB


class PeakMemory:
    """Peak RSS growth of a process since :meth:`reset` (Linux ``/proc``)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def _status(self, key: str) -> int:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        raise KeyError(key)

    def reset(self) -> None:
        with open(f"/proc/{self.pid}/clear_refs", "w") as fh:
            fh.write("5")  # the peak becomes the current RSS
        self._start = self._status("VmRSS")

    def growth(self) -> int:
        return self._status("VmHWM") - self._start


@pytest.fixture(scope="module")
def served(tmp_path_factory, trained):
    """(running ``phenosort serve``, client, its PeakMemory) holding the session's trained
    model as "cells", after one prediction (torch's first-call set-up is not measured)."""
    folder = tmp_path_factory.mktemp("memory")
    model = trained.save(folder / "cells.phenosort")
    service = LocalService(folder / "store", device="cpu", timeout=120)
    address = service.start()
    try:
        memory = PeakMemory(service.process.pid)
        try:
            memory.reset()
        except OSError as exc:
            pytest.skip(f"cannot reset the peak RSS through /proc/<pid>/clear_refs: {exc}")
        with Client(address, timeout=120) as client:
            client.import_model(model, "cells")
            data = make_objects("brightness", grid=(4, 4), seed=1)
            client.predict("cells", data.image, data.labels, axes="YX")
            yield service, client, memory
    finally:
        service.stop()


@pytest.fixture(scope="module")
def large():
    """A 4096 x 4096 uint8 image and uint32 mask with 1024 squares (IDs 7k + 3)."""
    side, step, cells = 4096, 128, 32
    labels = np.zeros((side, side), np.uint32)
    ids = np.arange(cells * cells, dtype=np.uint32).reshape(cells, 1, cells, 1) * 7 + 3
    square = np.zeros((1, step, 1, step), np.uint32)
    square[:, 40:56, :, 40:56] = 1
    np.multiply(ids, square, out=labels.reshape(cells, step, cells, step))
    image = np.random.default_rng(0).integers(0, 255, labels.shape, dtype=np.uint8)
    return image, labels


def test_upload_is_written_to_a_file_not_held_in_server_memory(served):
    service, client, memory = served
    # 256 MiB: far above what gRPC's flow-control window and the chunk objects in flight
    # take (~17-34 MiB measured, more under load), so the bound tells a copy from buffering
    labels = np.zeros((8192, 8192), np.uint32)
    labels[::64, ::64] = np.arange(1, 128 * 128 + 1, dtype=np.uint32).reshape(128, 128)
    client.upload(np.arange(1 << 20, dtype=np.uint32), "X")  # gRPC's buffers, allocated once
    memory.reset()
    tensor_id = client.upload(labels, "YX")
    growth = memory.growth()
    # a memory map or an in-memory buffer would add the whole 256 MiB
    assert growth < SCRATCH, f"server RSS grew {growth / MiB:.1f} MiB"
    stored = Path(service.store) / "tensors" / f"{tensor_id.split(':')[1]}.npy"
    assert np.array_equal(np.load(stored, mmap_mode="r", allow_pickle=False), labels)


def test_predict_reads_its_inputs_in_place_and_paints_one_class_map(served, large):
    _, client, memory = served
    image, labels = large
    inputs = client.upload(image, "YX"), client.upload(labels, "YX")
    memory.reset()
    pred = client.predict("cells", *inputs, axes="YX", class_map=True)
    growth = memory.growth()
    assert len(pred.label_id) == 1024
    # the mapped inputs (read in place), the class map, bounded scratch; no full-size copy
    allowed = labels.nbytes + image.nbytes + pred.class_map.nbytes + SCRATCH
    assert growth < allowed, f"server RSS grew {growth / MiB:.1f} MiB (allowed {allowed / MiB})"
    np.testing.assert_array_equal(pred.class_map, pred.to_prediction(labels).class_map())
