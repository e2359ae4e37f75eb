"""SIGKILL of a real ``phenosort serve`` in the middle of saving a version: the store
opens again, every listed version loads and predicts, and the partial file is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc

from phenosort.testing import make_objects
from phenosort.v1 import phenosort_pb2 as pb
from phenosort.v1 import phenosort_pb2_grpc as pb_grpc

from .conftest import TINY, create_model, train

# ~25 MB of weights (light net, width 128, depth 4): a save lasts long enough to be caught
HEAVY = {**TINY, "train_epochs": 1, "net_width": 128, "net_depth": 4}


def start(store: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "phenosort.cli", "serve", "--store", str(store),
               "--device", "cpu", "--log-level", "WARNING"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("READY "):
            return proc, line.split()[1]
    raise AssertionError(f"the server did not start (exit {proc.wait()})")


def kill_during_save(proc: subprocess.Popen, folder: Path, timeout: float = 120) -> bool:
    """SIGKILL ``proc`` as soon as a version file is being written in ``folder``; True when
    the partial file was still there after the kill (the save was interrupted)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        partial = [p for p in os.scandir(folder) if p.name.startswith(".phenosort-")]
        if partial:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return Path(partial[0].path).exists()
        time.sleep(0.0005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return False


def test_sigkill_during_a_version_save(tmp_path):
    store = tmp_path / "store"
    data = make_objects("brightness", grid=(2, 4), seed=4)
    interrupted = 0
    for attempt in range(3):  # the kill must land inside the save, not after it
        proc, address = start(store)
        try:
            with grpc.insecure_channel(address) as channel:
                stub = pb_grpc.ObjectClassifierStub(channel)
                if attempt == 0:
                    create_model(stub, "durable", data, HEAVY)
                    assert train(stub, "durable")[-1].job.state == pb.JOB_STATE_SUCCEEDED
                stub.StartTraining(pb.StartTrainingRequest(model="durable"))
                interrupted += kill_during_save(proc, store / "models" / "durable")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
        if interrupted:
            break
    assert interrupted, "no kill landed inside a version save in 3 tries"
    proc, address = start(store)  # the store opens again
    try:
        assert not list((store / "models" / "durable").glob(".phenosort-*"))  # cleaned up
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.ObjectClassifierStub(channel)
            models = stub.ListModels(pb.ListModelsRequest(), timeout=30).models
            assert [m.name for m in models] == ["durable"] and len(models[0].versions) >= 1
            image = pb.ImageInput(
                image_id=_first(stub, "durable").image_id,
                labels_id=_first(stub, "durable").labels_id,
            )
            for version in models[0].versions:
                request = pb.PredictRequest(model="durable", version=version, image=image)
                batches = [r.objects for r in stub.Predict(request, timeout=60)]
                assert sum(len(b.objects) for b in batches) == 8
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        proc.stdout.close()


def _first(stub, name: str) -> pb.ImageInput:
    """The training set's first image, read from the server's store through the registry
    file (the server offers no RPC that lists a training set's tensor ids)."""
    info = stub.GetServerInfo(pb.GetServerInfoRequest())
    entries = json.loads((Path(info.store) / "models" / name / "training.json").read_text())
    return pb.ImageInput(image_id=entries[0]["image_id"], labels_id=entries[0]["labels_id"])
