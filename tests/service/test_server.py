"""The gRPC server through the raw generated stubs: every RPC, streaming of tensors larger
than a gRPC message, background training (watch, re-attach, cancel, concurrency), status
codes of bad requests, persistence across restarts, token, TLS, health and reflection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from phenosort.errors import InvalidInputError
from phenosort.model.config import ModelConfig, epoch_count
from phenosort.service import codec
from phenosort.service.server import create_server
from phenosort.testing import make_objects
from phenosort.v1 import phenosort_pb2 as pb
from phenosort.v1 import phenosort_pb2_grpc as pb_grpc

from .conftest import TINY, create_model, image_input, outputs_of, rpc_error, train, upload

Code = grpc.StatusCode


# ---------------------------------------------------------------------------- basics
def test_server_info_health_and_reflection(service, stub):
    info = stub.GetServerInfo(pb.GetServerInfoRequest())
    assert info.api_version == "v1" and info.max_message_bytes == 64 << 20
    assert "light" in info.networks and info.device == "cpu" and info.chunk_bytes > 0
    channel = grpc.insecure_channel(service.address)
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "phenosort.v1.ObjectClassifier"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    reply = next(reflection.ServerReflectionInfo(iter([request])))
    names = {s.name for s in reply.list_services_response.service}
    assert {"phenosort.v1.ObjectClassifier", "grpc.health.v1.Health"} <= names
    channel.close()


def test_upload_is_cached_by_content(service, stub):
    array = np.arange(5000, dtype=np.uint16).reshape(50, 100)
    ref = stub.UploadTensor(codec.iter_chunks(array, "YX", chunk_bytes=999))
    assert ref.id.startswith("sha256:") and not ref.cached
    again = stub.UploadTensor(codec.iter_chunks(array, "YX", chunk_bytes=4096))
    assert again.id == ref.id and again.cached
    assert stub.HasTensor(pb.TensorRef(id=ref.id)).present
    assert not stub.HasTensor(pb.TensorRef(id="sha256:" + "0" * 64)).present
    other = upload(stub, array, "XY")  # the axes are part of the content id
    assert other != ref.id
    stored = np.load(service_tensor(service, ref.id), allow_pickle=False)
    np.testing.assert_array_equal(stored, array)


def service_tensor(service, tensor_id: str):
    """Where the server stores a tensor."""
    return service.store / "tensors" / f"{tensor_id.split(':')[1]}.npy"


# ---------------------------------------------------------------------------- the workflow
def test_train_predict_explain_export_import_delete(stub, cells):
    name, data, image, events = cells
    states = [e.job.state for e in events]
    assert states[0] == pb.JOB_STATE_QUEUED and states[-1] == pb.JOB_STATE_SUCCEEDED
    assert [e.epoch for e in events if e.epoch and e.job.state == pb.JOB_STATE_RUNNING] == [1, 2, 3]
    assert events[-1].job.version == 1 and "confusion" in events[-1].metrics_json
    info = stub.GetModel(pb.GetModelRequest(name=name))
    assert list(info.versions) == [1] and json.loads(info.settings_json) == TINY
    assert json.loads(info.metadata_json)["class_names"] == ["dim", "bright"]
    assert [c.count for c in info.training_set.counts] == [8, 8]
    assert name in [m.name for m in stub.ListModels(pb.ListModelsRequest()).models]

    request = pb.PredictRequest(
        model=name, image=image, class_map=True, confidence_map=True, class_masks=True
    )
    batches, outputs = outputs_of(stub.Predict(request))
    assert list(batches[0].class_names) == ["dim", "bright"]
    objects = [o for b in batches for o in b.objects]
    assert sorted(o.label for o in objects) == sorted(data.classes)
    assert all(o.in_training_set and len(o.probabilities) == 2 for o in objects)
    assert list(outputs) == ["class_map", "confidence_map", "mask:dim", "mask:bright"]
    by_label = {o.label: o.class_index for o in objects}
    some = next(iter(by_label))
    assert outputs["class_map"][data.labels == some].max() == by_label[some]
    np.testing.assert_array_equal(outputs["mask:dim"] + outputs["mask:bright"], data.labels)

    subset = sorted(data.classes)[:3]
    picked = pb.PredictRequest(model=name, version=1, image=image, label_ids=subset)
    batches, outputs = outputs_of(stub.Predict(picked))
    assert [o.label for o in batches[0].objects] == subset and not outputs

    other = image_input(stub, make_objects("brightness", grid=(4, 4), seed=5))
    suggested = stub.Suggest(pb.SuggestRequest(model=name, image=other, n=3)).suggestions
    assert len(suggested) == 3 and all(s.predicted_class in (1, 2) for s in suggested)

    explained = stub.Explain(pb.ExplainRequest(model=name, image=image, label=some))
    heatmap = codec.from_tensor(explained.heatmap)
    assert heatmap.shape == (24, 24) and len(explained.offset) == 2
    assert explained.class_index in (1, 2) and len(explained.probabilities) == 2

    chunks = list(stub.ExportModel(pb.ExportModelRequest(name=name)))
    assert chunks[0].name == name and sum(len(c.data) for c in chunks) > 1000
    chunks[0].name = "cells-copy"
    imported = stub.ImportModel(iter(chunks))
    assert list(imported.versions) == [1] and list(imported.class_names) == ["dim", "bright"]
    batches, _ = outputs_of(stub.Predict(pb.PredictRequest(model="cells-copy", image=image)))
    assert [o.class_index for o in batches[0].objects] == [o.class_index for o in objects]
    stub.DeleteModel(pb.DeleteModelRequest(name="cells-copy"))
    error = rpc_error(stub.GetModel, pb.GetModelRequest(name="cells-copy"))
    assert error.code() == Code.NOT_FOUND


def test_training_set_merge_replace_and_class_names(stub):
    data = make_objects("brightness", grid=(4, 4), seed=7)
    stub.CreateModel(pb.CreateModelRequest(name="notes", class_names=data.class_names))
    image = image_input(stub, data)
    ids = sorted(data.classes)

    def add(notes, replace=False):
        request = pb.AddTrainingDataRequest(
            model="notes", image=image, annotations=notes, replace=replace
        )
        return [c.count for c in stub.AddTrainingData(request).counts]

    assert add([pb.Annotation(label=ids[0], class_name="dim")]) == [1, 0]
    assert add([pb.Annotation(label=ids[1], class_name="bright")]) == [1, 1]  # merged
    assert add([pb.Annotation(label=ids[0], class_index=2)]) == [0, 2]  # re-classified
    assert add([pb.Annotation(label=ids[2], class_index=1)], replace=True) == [1, 0]
    summary = stub.GetModel(pb.GetModelRequest(name="notes")).training_set
    assert summary.n_images == 1 and [c.class_name for c in summary.counts] == ["dim", "bright"]


# ---------------------------------------------------------------------------- big tensors
def test_tensors_larger_than_a_message_stream_both_ways(service, stub, cells):
    name, data, _, _ = cells
    side = 4200  # a uint32 mask of 4200 x 4200 is 70.6 MB > the 64 MiB message limit
    labels = np.zeros((side, side), np.uint32)
    labels[:96, :96] = data.labels
    pixels = np.full((side, side), 100, np.uint16)
    pixels[:96, :96] = data.image
    image = pb.ImageInput(image_id=upload(stub, pixels, "YX"), labels_id=upload(stub, labels))
    del pixels
    assert service_tensor(service, image.labels_id).stat().st_size > labels.nbytes
    request = pb.PredictRequest(model=name, image=image, class_masks=True)
    batches, outputs = outputs_of(stub.Predict(request, timeout=120))
    assert len(batches[0].objects) == len(data.classes)
    dim, bright = outputs["mask:dim"], outputs["mask:bright"]
    assert dim.nbytes > 64 << 20 and dim.dtype == np.uint32
    assert np.array_equal(dim[:96, :96] + bright[:96, :96], data.labels)
    assert not dim[96:].any() and not bright[:, 96:].any()


# ---------------------------------------------------------------------------- training jobs
def test_watch_reattaches_with_the_whole_history(stub):
    data = make_objects("brightness", grid=(4, 4), seed=2)
    create_model(stub, "reattach", data, {**TINY, "train_epochs": 6})
    job = stub.StartTraining(pb.StartTrainingRequest(model="reattach"))
    request = pb.WatchTrainingRequest(job_id=job.job_id)
    first = stub.WatchTraining(request)
    seen = [next(first), next(first)]
    first.cancel()  # the client disconnects; the job keeps running
    replay = list(stub.WatchTraining(request, timeout=120))
    assert replay[:2] == seen
    assert replay[-1].job.state == pb.JOB_STATE_SUCCEEDED and replay[-1].job.version == 1
    running = [e.epoch for e in replay if e.job.state == pb.JOB_STATE_RUNNING and e.epoch]
    assert running == [1, 2, 3, 4, 5, 6]
    assert list(stub.WatchTraining(request)) == replay  # a finished job replays as well


def test_cancel_training(stub):
    data = make_objects("brightness", grid=(4, 4), seed=3)
    create_model(stub, "cancel", data, {**TINY, "train_epochs": 500})
    job = stub.StartTraining(pb.StartTrainingRequest(model="cancel"))
    error = rpc_error(stub.StartTraining, pb.StartTrainingRequest(model="cancel"))
    assert error.code() == Code.FAILED_PRECONDITION and job.job_id in error.details()
    for event in stub.WatchTraining(pb.WatchTrainingRequest(job_id=job.job_id), timeout=60):
        if event.epoch >= 1:
            break
    error = rpc_error(stub.DeleteModel, pb.DeleteModelRequest(name="cancel"))
    assert error.code() == Code.FAILED_PRECONDITION and "cancel the job" in error.details()
    cancelled = stub.CancelTraining(pb.CancelTrainingRequest(job_id=job.job_id))
    assert cancelled.state == pb.JOB_STATE_CANCELLED
    events = list(stub.WatchTraining(pb.WatchTrainingRequest(job_id=job.job_id)))
    assert events[-1].job.state == pb.JOB_STATE_CANCELLED and events[-1].epoch == 0
    assert not stub.GetModel(pb.GetModelRequest(name="cancel")).versions  # nothing saved


def test_default_settings_value_is_the_service_default(stub):
    """A run's "default" value takes ModelConfig's default, not the setting the model was
    created with (Fiji's "epochs=0 (0 = default)", issue 16); without it the model's stays."""
    # the default resolved for these runs, which have a hold-out (TINY's 1 per class)
    default_epochs = epoch_count(ModelConfig().train_epochs, hold_out=True)
    assert TINY["train_epochs"] != default_epochs
    data = make_objects("brightness", grid=(4, 4), seed=3)
    create_model(stub, "defaults", data)  # train_epochs 3

    def planned(continue_training=False, **settings) -> int:
        """The epochs the run trains (its first epoch's n_epochs); the run is then cancelled."""
        request = pb.StartTrainingRequest(
            model="defaults", settings_json=json.dumps(settings),
            continue_training=continue_training,
        )  # fmt: skip
        job = stub.StartTraining(request)
        watch = pb.WatchTrainingRequest(job_id=job.job_id)
        first = next(e for e in stub.WatchTraining(watch, timeout=60) if e.epoch >= 1)
        stub.CancelTraining(pb.CancelTrainingRequest(job_id=job.job_id))
        events = list(stub.WatchTraining(watch, timeout=60))  # to its end: the model is free
        assert events[-1].job.state in (pb.JOB_STATE_CANCELLED, pb.JOB_STATE_SUCCEEDED)
        return first.n_epochs

    assert planned(train_epochs="default") == default_epochs
    assert planned() == TINY["train_epochs"]  # the model's own setting
    events = train(stub, "defaults", settings_json=json.dumps({"train_epochs": 2}))
    assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED
    # continued training starts from the latest version's settings (2 epochs): "default" too
    assert planned(continue_training=True, train_epochs="default") == default_epochs
    # only known keys: an unknown one is still named
    request = pb.StartTrainingRequest(model="defaults", settings_json='{"epochs": "default"}')
    error = rpc_error(stub.StartTraining, request)
    assert error.code() == Code.INVALID_ARGUMENT and "unknown settings: epochs" in error.details()


def test_training_while_another_client_predicts(service, stub, cells):
    name, _, image, _ = cells
    create_model(stub, "busy", make_objects("brightness", grid=(4, 4), seed=4), TINY)
    finished, errors, stop = [], [], threading.Event()

    def predict_loop():
        with grpc.insecure_channel(service.address) as channel:
            other = pb_grpc.ObjectClassifierStub(channel)
            while not stop.is_set():
                try:
                    replies = other.Predict(pb.PredictRequest(model=name, image=image))
                    batches, _ = outputs_of(replies)
                    finished.append((time.monotonic(), len(batches[0].objects)))
                except grpc.RpcError as exc:  # pragma: no cover - reported below
                    errors.append(exc)

    thread = threading.Thread(target=predict_loop)
    thread.start()
    try:
        while not finished and thread.is_alive():  # predictions flow before training starts
            time.sleep(0.01)
        start = time.monotonic()
        events = train(stub, "busy", settings_json=json.dumps({"train_epochs": 8}))
        end = time.monotonic()
    finally:
        stop.set()
        thread.join(60)
    assert not errors and events[-1].job.state == pb.JOB_STATE_SUCCEEDED
    assert any(start < t < end and n == 16 for t, n in finished)


# ---------------------------------------------------------------------------- errors
def test_bad_requests_get_clear_status_codes(service, stub, cells):
    name, data, image, _ = cells
    stub.CreateModel(pb.CreateModelRequest(name="untrained", class_names=["a", "b"]))
    missing = "sha256:" + "f" * 64
    wrong_shape = upload(stub, np.zeros((10, 10), np.uint16))
    unknown_label = max(data.classes) + 1

    def add(model="untrained", img=image, notes=None):
        notes = [pb.Annotation(label=min(data.classes), class_index=1)] if notes is None else notes
        return stub.AddTrainingData(
            pb.AddTrainingDataRequest(model=model, image=img, annotations=notes)
        )

    header = pb.TensorHeader(dtype="uint16", shape=[100, 100])
    cases = [
        (Code.NOT_FOUND, "nope", stub.GetModel, pb.GetModelRequest(name="nope")),
        (Code.NOT_FOUND, "version 9", stub.GetModel, pb.GetModelRequest(name=name, version=9)),
        (Code.ALREADY_EXISTS, name, stub.CreateModel,
         pb.CreateModelRequest(name=name, class_names=["a", "b"])),
        (Code.INVALID_ARGUMENT, "bogus", stub.CreateModel,
         pb.CreateModelRequest(name="x", class_names=["a", "b"], settings_json='{"bogus": 1}')),
        (Code.INVALID_ARGUMENT, "model name", stub.CreateModel,
         pb.CreateModelRequest(name="../x", class_names=["a", "b"])),
        (Code.INVALID_ARGUMENT, "2 class names", stub.CreateModel,
         pb.CreateModelRequest(name="x", class_names=["a"])),
        (Code.NOT_FOUND, missing, add, "untrained",
         pb.ImageInput(image_id=missing, labels_id=image.labels_id)),
        (Code.INVALID_ARGUMENT, "shape", add, "untrained",
         pb.ImageInput(image_id=image.image_id, labels_id=wrong_shape)),
        (Code.INVALID_ARGUMENT, str(unknown_label), add, "untrained", image,
         [pb.Annotation(label=unknown_label, class_index=1)]),
        (Code.INVALID_ARGUMENT, "unknown class 'huge'", add, "untrained", image,
         [pb.Annotation(label=min(data.classes), class_name="huge")]),
        (Code.INVALID_ARGUMENT, "class index 3", add, "untrained", image,
         [pb.Annotation(label=min(data.classes), class_index=3)]),
        (Code.NOT_FOUND, "nope", add, "nope"),
        (Code.FAILED_PRECONDITION, "empty", stub.StartTraining,
         pb.StartTrainingRequest(model="untrained")),
        (Code.INVALID_ARGUMENT, "train_epochs", stub.StartTraining,
         pb.StartTrainingRequest(model=name, settings_json='{"train_epochs": 0}')),
        (Code.INVALID_ARGUMENT, "cannot change: net_width", stub.StartTraining,
         pb.StartTrainingRequest(model=name, continue_training=True,
                                 settings_json='{"net_width": 16, "patch_size": 24}')),
        (Code.NOT_FOUND, "no version 7", stub.DeleteModel,
         pb.DeleteModelRequest(name=name, version=7)),
        (Code.FAILED_PRECONDITION, "not trained", stub.ExportModel,
         pb.ExportModelRequest(name="untrained")),
        (Code.FAILED_PRECONDITION, "not trained", stub.Predict,
         pb.PredictRequest(model="untrained", image=image)),
        (Code.NOT_FOUND, missing, stub.Predict,
         pb.PredictRequest(model=name, image=pb.ImageInput(image_id=missing, labels_id=missing))),
        (Code.RESOURCE_EXHAUSTED, "at most", stub.UploadTensor,
         iter([pb.TensorChunk(header=pb.TensorHeader(dtype="float64", shape=[1 << 16, 1 << 16]))])),
        (Code.INVALID_ARGUMENT, "ended after 100 of 20000 bytes", stub.UploadTensor,
         iter([pb.TensorChunk(header=header, data=b"x" * 100)])),
        (Code.INVALID_ARGUMENT, "empty", stub.UploadTensor, iter([])),
        (Code.NOT_FOUND, "no training job", stub.WatchTraining,
         pb.WatchTrainingRequest(job_id="nope")),
        (Code.NOT_FOUND, "no training job", stub.CancelTraining,
         pb.CancelTrainingRequest(job_id="nope")),
        (Code.ALREADY_EXISTS, name, stub.ImportModel, iter([pb.FileChunk(name=name, data=b"x")])),
        (Code.INVALID_ARGUMENT, "cannot import", stub.ImportModel,
         iter([pb.FileChunk(name="garbage", data=b"not a model" * 10)])),
    ]  # fmt: skip
    for code, words, fn, *args in cases:
        error = rpc_error(fn, *args)
        assert error.code() == code, (words, error.details())
        assert words in error.details(), (words, error.details())
    assert not stub.HasTensor(pb.TensorRef(id=missing)).present
    assert stub.GetServerInfo(pb.GetServerInfoRequest()).api_version == "v1"  # still serving
    models = {m.name for m in stub.ListModels(pb.ListModelsRequest()).models}
    assert "garbage" not in models and "x" not in models
    leftovers = [p.name for p in service.store.rglob(".*") if p.is_file()]
    assert not leftovers  # failed uploads and imports leave no temporary files


# ---------------------------------------------------------------------------- persistence
def test_restart_keeps_models_versions_training_set_and_tensors(tmp_path):
    data = make_objects("brightness", grid=(4, 4), seed=6)
    first = create_server(store=tmp_path)
    try:
        with grpc.insecure_channel(first.address) as channel:
            stub = pb_grpc.ObjectClassifierStub(channel)
            image = create_model(stub, "kept", data)
            assert train(stub, "kept")[-1].job.state == pb.JOB_STATE_SUCCEEDED
            before = stub.GetModel(pb.GetModelRequest(name="kept"))
    finally:
        first.stop()
    second = create_server(store=tmp_path)
    try:
        with grpc.insecure_channel(second.address) as channel:
            stub = pb_grpc.ObjectClassifierStub(channel)
            after = stub.GetModel(pb.GetModelRequest(name="kept"))
            assert after == before and list(after.versions) == [1]
            assert stub.HasTensor(pb.TensorRef(id=image.image_id)).present
            events = train(stub, "kept", continue_training=True)
            assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED and events[-1].job.version == 2
            stub.DeleteModel(pb.DeleteModelRequest(name="kept", version=1))
            request = pb.PredictRequest(model="kept", image=image)
            batches, _ = outputs_of(stub.Predict(request))
            assert len(batches[0].objects) == 16
            info = stub.GetModel(pb.GetModelRequest(name="kept"))
            assert list(info.versions) == [2] and info.training_set == before.training_set
    finally:
        second.stop()


# ---------------------------------------------------------------------------- security
def test_token_is_required_except_for_health(tmp_path):
    running = create_server(store=tmp_path, token="s3cret")
    try:
        with grpc.insecure_channel(running.address) as channel:
            stub = pb_grpc.ObjectClassifierStub(channel)
            info = pb.GetServerInfoRequest()
            for metadata in ((), (("authorization", "Bearer nope"),)):
                error = rpc_error(stub.GetServerInfo, info, metadata=metadata)
                assert error.code() == Code.UNAUTHENTICATED and "token" in error.details()
            error = rpc_error(stub.UploadTensor, codec.iter_chunks(np.zeros(3, np.uint8)))
            assert error.code() == Code.UNAUTHENTICATED
            good = (("authorization", "Bearer s3cret"),)
            assert stub.GetServerInfo(info, metadata=good).api_version == "v1"
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        running.stop()


def test_non_loopback_host_needs_a_token(tmp_path):
    with pytest.raises(InvalidInputError, match="without a token"):
        create_server(host="0.0.0.0", store=tmp_path)


def test_tls(tmp_path, self_signed):
    cert, key = self_signed
    running = create_server(store=tmp_path, tls_cert=cert, tls_key=key)
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(running.address, credentials) as channel:
            stub = pb_grpc.ObjectClassifierStub(channel)
            assert stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=30).api_version == "v1"
    finally:
        running.stop()


# ---------------------------------------------------------------------------- CLI
def test_phenosort_serve_subprocess(tmp_path):
    port_file = tmp_path / "port"
    command = [sys.executable, "-m", "phenosort.cli", "serve", "--port", "0",
               "--port-file", str(port_file), "--store", str(tmp_path / "store")]  # fmt: skip
    env = {**os.environ, "PHENOSORT_TOKEN": ""}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    proc = subprocess.Popen(command, env=env, **pipes)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("READY "):
                break
        assert lines and lines[-1].startswith("READY 127.0.0.1:"), lines
        port = int(port_file.read_text())
        assert lines[-1].strip() == f"READY 127.0.0.1:{port}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ObjectClassifierStub(channel)
            assert stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=30).api_version == "v1"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert "stopped" in out
        assert proc.returncode == 0, err
        assert "GetServerInfo OK" in err  # the request log line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tgkill is Linux's")
def test_serve_stops_when_another_thread_catches_the_sigterm(tmp_path):
    """The kernel may give a process's SIGTERM to any of its threads. A main thread asleep
    in ``Event.wait()`` then never ran the handler: a server in CI outlived its SIGTERM by
    18 minutes. Aim the signal at a different one of the server's other threads each time."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    command = [sys.executable, "-m", "phenosort.cli", "serve", "--port", "0",
               "--store", str(tmp_path / "store")]  # fmt: skip
    env = {**os.environ, "PHENOSORT_TOKEN": ""}
    for attempt in range(3):
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            line = next((line for line in proc.stdout if line.startswith("READY ")), "")
            assert line, proc.communicate(timeout=60)
            others = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task"))[1:]
            target = others[(attempt * 3) % len(others)]
            assert libc.tgkill(proc.pid, target, signal.SIGTERM) == 0, ctypes.get_errno()
            out, err = proc.communicate(timeout=60)
            assert "stopped" in out and proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
