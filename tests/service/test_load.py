"""Load with faults: well-behaved clients keep working while hostile clients hold stalled
upload streams and cancel others mid-stream. Asserts no error for the well-behaved clients
and a latency bound stated as a ratio against the same requests on an idle server."""

from __future__ import annotations

import statistics
import threading
import time

import grpc
import numpy as np
import pytest

from phenosort.service import codec
from phenosort.service.server import create_server
from phenosort.v1 import phenosort_pb2 as pb

from .hostile import new_stub, stalled_chunks

GOOD_CLIENTS, HOSTILE_CLIENTS, ROUNDS = 4, 3, 8
RATIO = 10.0  # loaded p95 / idle p95, with a floor for 2 shared CPU cores
FLOOR_S = 2.0


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = create_server(
        store=tmp_path_factory.mktemp("store"), workers=24, max_streams=4, stream_idle_s=1.0
    )
    yield running
    running.stop(grace=1.0)


def one_round(stub, model: str, image: pb.ImageInput, seed: int) -> float:
    """Upload a new tensor, check it, predict, list: the seconds it took."""
    start = time.perf_counter()
    array = np.full((64, 64), seed % 251, np.uint8)
    ref = stub.UploadTensor(codec.iter_chunks(array, "YX", chunk_bytes=1024), timeout=30)
    assert stub.HasTensor(pb.TensorRef(id=ref.id), timeout=30).present
    replies = list(stub.Predict(pb.PredictRequest(model=model, image=image), timeout=30))
    assert replies[0].objects.class_names
    stub.ListModels(pb.ListModelsRequest(), timeout=30)
    return time.perf_counter() - start


def hostile(address: str, stop: threading.Event, counts: dict) -> None:
    """Keeps its connection's upload streams stalled, and starts and cancels others."""
    channel, stub = new_stub(address)
    release = threading.Event()
    live = []
    try:
        while not stop.is_set():
            live = [f for f in live if not f.done()]
            while len(live) < 4:
                live.append(stub.UploadTensor.future(stalled_chunks(release)))
                counts["stalled"] += 1
            doomed = stub.UploadTensor.future(stalled_chunks(release))
            time.sleep(0.05)
            doomed.cancel()
            counts["cancelled"] += 1
    finally:
        release.set()
        channel.close()


def test_well_behaved_clients_under_stalls_and_cancels(service):
    from phenosort.testing import make_objects

    from .conftest import create_model, train

    _, stub = new_stub(service.address)
    data = make_objects("brightness", grid=(2, 4), seed=5)
    image = create_model(stub, "load", data)
    assert train(stub, "load")[-1].job.state == pb.JOB_STATE_SUCCEEDED
    one_round(stub, "load", image, -1)  # loads the model: not part of the idle figure
    idle = [one_round(stub, "load", image, i) for i in range(ROUNDS)]

    stop, counts = threading.Event(), {"stalled": 0, "cancelled": 0}
    attackers = [
        threading.Thread(target=hostile, args=(service.address, stop, counts))
        for _ in range(HOSTILE_CLIENTS)
    ]
    for thread in attackers:
        thread.start()
    time.sleep(0.5)
    loaded, errors = [], []

    def good(k: int) -> None:
        channel, own = new_stub(service.address)
        with channel:
            for i in range(ROUNDS):
                try:
                    loaded.append(one_round(own, "load", image, 1000 * k + i))
                except grpc.RpcError as exc:
                    errors.append(f"{exc.code().name}: {exc.details()}")

    clients = [threading.Thread(target=good, args=(k,)) for k in range(GOOD_CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(120)
    stop.set()
    for thread in attackers:
        thread.join(30)
    idle_p95, loaded_p95 = _p95(idle), _p95(loaded)
    print(
        f"\nload: {GOOD_CLIENTS} good clients x {ROUNDS} rounds, {HOSTILE_CLIENTS} hostile "
        f"({counts['stalled']} stalled, {counts['cancelled']} cancelled streams); round p95 "
        f"idle {idle_p95:.3f} s, loaded {loaded_p95:.3f} s (x{loaded_p95 / idle_p95:.1f}); "
        f"errors {len(errors)}"
    )
    assert not errors, errors[:5]
    assert len(loaded) == GOOD_CLIENTS * ROUNDS
    assert loaded_p95 <= max(RATIO * idle_p95, FLOOR_S)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
