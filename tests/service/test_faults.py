"""Issue 17's faults, each against a real server on loopback: every one of these answered
INTERNAL, locked a model, starved the pool, leaked a file's existence or emitted non-JSON
before the fix."""

from __future__ import annotations

import json
import logging
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from phenosort import ObjectClassifier
from phenosort.errors import InvalidInputError, ModelFileError
from phenosort.model.file import load_model_file
from phenosort.service.server import create_server
from phenosort.testing import make_objects
from phenosort.v1 import phenosort_pb2 as pb

from .conftest import create_model, image_input, rpc_error, upload
from .hostile import Code, file_chunks, new_stub, rewrite_metadata, stalled_chunks, strict_json


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("weights")


@pytest.fixture(scope="module")
def service(tmp_path_factory, weights_dir):
    """This module's server: a short idle-stream deadline and an allowed weights folder."""
    running = create_server(
        store=tmp_path_factory.mktemp("store"),
        max_tensor_bytes=256 << 20,
        workers=8,
        stream_idle_s=1.0,
        weights_dir=weights_dir,
    )
    yield running
    running.stop(grace=1.0)


@pytest.fixture(scope="module")
def exported(stub, cells, tmp_path_factory):
    """The trained "cells" model as a file."""
    path = tmp_path_factory.mktemp("export") / "cells.phenosort"
    path.write_bytes(
        b"".join(c.data for c in stub.ExportModel(pb.ExportModelRequest(name="cells")))
    )
    return path


def _settings(stub, name: str, settings_json: str, data) -> None:
    stub.CreateModel(
        pb.CreateModelRequest(name=name, class_names=data.class_names, settings_json=settings_json)
    )


# 1 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ['{"train_epochs": 2.5}', '{"train_epochs": 1e400}'])
def test_bad_epochs_are_refused_before_a_job_exists(stub, text):
    data = make_objects("brightness", grid=(2, 4), seed=3)
    name = f"lock-{'inf' if 'e400' in text else 'frac'}"
    create_model(stub, name, data)
    error = rpc_error(stub.StartTraining, pb.StartTrainingRequest(model=name, settings_json=text))
    assert error.code() == Code.INVALID_ARGUMENT and "train_epochs" in error.details()
    stub.DeleteModel(pb.DeleteModelRequest(name=name))  # no queued job locks the model


# 2 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape", [[2**32, 2**32], [2**62, 2**62, 2**62], [2**63 - 1, 2], [1] * 40, [-1, 3]]
)
def test_overflowing_shapes_are_refused(stub, shape):
    header = pb.TensorHeader(dtype="float64", shape=shape)
    error = rpc_error(stub.UploadTensor, iter([pb.TensorChunk(header=header, data=b"")]))
    assert error.code() in (Code.RESOURCE_EXHAUSTED, Code.INVALID_ARGUMENT)
    assert "shape" in error.details()


# 3 + 4 --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"train_lr": null}', "train_lr"),
        ('{"patch_size": "abc"}', "patch_size"),
        ('{"net_width": 2.5}', "net_width"),
        ('{"train_epochs": 1e400}', "train_epochs"),
        ('{"train_lr": NaN}', "NaN"),
        ('{"aug_flip": 1}', "aug_flip"),
        ('{"train_seed": -1}', "train_seed"),
        ('{"train_epochs": 100000000000}', "train_epochs"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_settings_of_the_wrong_type_name_the_key(stub, text, key):
    data = make_objects("brightness", grid=(2, 2), seed=1)
    error = rpc_error(_settings, stub, "typed", text, data)
    assert error.code() == Code.INVALID_ARGUMENT and key in error.details(), error.details()
    request = pb.StartTrainingRequest(model="cells", settings_json=text)
    error = rpc_error(stub.StartTraining, request)
    assert error.code() == Code.INVALID_ARGUMENT and key in error.details()


def test_integral_floats_are_integers_and_listings_are_strict_json(stub, cells, exported, tmp_path):
    data = make_objects("brightness", grid=(2, 2), seed=1)
    _settings(stub, "floaty", '{"train_epochs": 3.0, "train_lr": 1}', data)
    info = stub.GetModel(pb.GetModelRequest(name="floaty"))
    assert strict_json(info.settings_json) == {"train_epochs": 3, "train_lr": 1.0}
    # a file whose metrics hold NaN (a diverged run) is listed as JSON, NaN as null
    nan_file = rewrite_metadata(
        exported,
        tmp_path / "nan.phenosort",
        lambda m: m.replace('"history": [', '"loss": NaN, "history": ['),
    )
    assert "NaN" in nan_file.read_bytes()[:100000].decode("latin-1")
    stub.ImportModel(file_chunks(nan_file, "nan-metrics"))
    for model in stub.ListModels(pb.ListModelsRequest()).models:
        strict_json(model.settings_json)
        meta = strict_json(model.metadata_json)
        if model.name == "nan-metrics":
            assert meta["loss"] is None


# 5 ------------------------------------------------------------------------------------
def test_stalled_uploads_do_not_starve_the_server(service, stub):
    release, futures, channels = threading.Event(), [], []
    try:
        for _ in range(16):  # the pool has 8 threads
            channel, own = new_stub(service.address)
            channels.append(channel)
            futures.append(own.UploadTensor.future(stalled_chunks(release)))
        time.sleep(0.3)
        health = health_pb2_grpc.HealthStub(channels[0])
        for _ in range(5):
            reply = health.Check(health_pb2.HealthCheckRequest(), timeout=2)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        try:  # busy is a clear answer; waiting until a deadline is not
            stub.ListModels(pb.ListModelsRequest(), timeout=2)
        except grpc.RpcError as exc:
            assert exc.code() == Code.RESOURCE_EXHAUSTED, exc
        codes = []
        for future in futures:  # cancelled after 1 s idle, or refused at once
            with pytest.raises(grpc.RpcError) as info:
                future.result(timeout=10)
            codes.append(info.value.code())
        assert set(codes) <= {Code.CANCELLED, Code.RESOURCE_EXHAUSTED}, codes
        assert Code.CANCELLED in codes
        stub.ListModels(pb.ListModelsRequest(), timeout=2)  # every thread is free again
    finally:
        release.set()
        for channel in channels:
            channel.close()


def test_a_connection_has_a_bounded_number_of_upload_streams(service):
    release = threading.Event()
    channel, own = new_stub(service.address)
    try:
        futures = [own.UploadTensor.future(stalled_chunks(release)) for _ in range(6)]
        refused = []
        for future in futures:
            with pytest.raises(grpc.RpcError) as info:
                future.result(timeout=10)
            refused.append(info.value.code() == Code.RESOURCE_EXHAUSTED)
        assert sum(refused) == 2  # 4 admitted (then cancelled idle), 2 refused at once
    finally:
        release.set()
        channel.close()


# 6 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: json.dumps([json.loads(m)]), "not an object"),
        (lambda m: "{not json", "not JSON"),
        (lambda m: m.replace('"version": 1', '"version": "abc"'), "incompatible"),
        (lambda m: m.replace('"format_version": 1', '"format_version": "1"'), "not an integer"),
        (lambda m: m.replace('"class_names": [', '"class_names": 7, "x": ['), "incompatible"),
    ],
)
def test_import_of_malformed_metadata_is_invalid_argument(stub, exported, tmp_path, change, words):
    bad = rewrite_metadata(exported, tmp_path / "bad.phenosort", change)
    error = rpc_error(stub.ImportModel, file_chunks(bad, "malformed"))
    assert error.code() == Code.INVALID_ARGUMENT and words in error.details(), error.details()
    assert str(tmp_path) not in error.details()


def test_string_format_version_message(exported, tmp_path):
    bad = rewrite_metadata(
        exported,
        tmp_path / "v.phenosort",
        lambda m: m.replace('"format_version": 1', '"format_version": "1"'),
    )
    with pytest.raises(ModelFileError, match='format_version "1", not an integer'):
        load_model_file(bad)


# 7 ------------------------------------------------------------------------------------
def test_huge_label_ids_are_invalid_argument(stub, cells):
    name, _, image, _ = cells
    huge = 2**64 - 1
    requests = [
        (stub.AddTrainingData, pb.AddTrainingDataRequest(
            model=name, image=image, annotations=[pb.Annotation(label=huge, class_index=1)])),
        (stub.Predict, pb.PredictRequest(model=name, image=image, label_ids=[huge])),
        (stub.Suggest, pb.SuggestRequest(model=name, image=image, exclude=[huge])),
        (stub.Explain, pb.ExplainRequest(model=name, image=image, label=huge)),
    ]  # fmt: skip
    for call, request in requests:
        error = rpc_error(call, request)
        assert error.code() == Code.INVALID_ARGUMENT and str(huge) in error.details()


# 8 ------------------------------------------------------------------------------------
def test_nan_pixels_are_refused_everywhere(stub, cells):
    name, data, _, _ = cells
    pixels = data.image.astype(np.float32)
    pixels[3, 4] = np.nan
    pixels[5, 6] = np.inf
    image = pb.ImageInput(
        image_id=upload(stub, pixels, data.axes), labels_id=upload(stub, data.labels, "YX")
    )
    for call, request in [
        (stub.Predict, pb.PredictRequest(model=name, image=image)),
        (stub.AddTrainingData, pb.AddTrainingDataRequest(
            model=name, image=image, annotations=[pb.Annotation(label=1, class_index=1)])),
        (stub.Suggest, pb.SuggestRequest(model=name, image=image)),
    ]:  # fmt: skip
        error = rpc_error(call, request)
        assert error.code() == Code.INVALID_ARGUMENT
        assert "2 NaN, infinite or out-of-range" in error.details()


def test_nan_pixels_are_refused_by_the_python_api(exported):
    data = make_objects("brightness", grid=(2, 2), seed=1)
    pixels = data.image.astype(np.float64)
    pixels[0, 0] = np.nan
    clf = ObjectClassifier.load(exported)
    with pytest.raises(InvalidInputError, match="1 NaN, infinite or out-of-range"):
        clf.predict(pixels, data.labels, axes=data.axes)


# 9 ------------------------------------------------------------------------------------
def test_net_weights_only_from_the_allowed_folder(stub, weights_dir, tmp_path):
    data = make_objects("brightness", grid=(2, 2), seed=1)
    secret = tmp_path / "secret.txt"
    secret.write_text("XSECRET")
    answers = set()
    for path in (str(secret), str(tmp_path / "missing.pt"), "../secret.txt", "/etc/passwd"):
        error = rpc_error(_settings, stub, "w", json.dumps({"net_weights": path}), data)
        assert error.code() == Code.INVALID_ARGUMENT and "XSECRET" not in error.details()
        answers.add(error.details().replace(repr(path), "P"))
    assert len(answers) == 1, answers  # the same words whether the file exists or not
    (weights_dir / "junk.pt").write_bytes(b"XSECRET not a state dict")
    create_model(stub, "w-ok", data, {"net_weights": "junk.pt", "train_epochs": 1})
    job = stub.StartTraining(pb.StartTrainingRequest(model="w-ok"))
    events = list(stub.WatchTraining(pb.WatchTrainingRequest(job_id=job.job_id), timeout=60))
    assert events[-1].job.state == pb.JOB_STATE_FAILED
    assert (
        "XSECRET" not in events[-1].job.message and str(weights_dir) not in events[-1].job.message
    )


def test_imported_net_weights_are_not_used(stub, exported, tmp_path):
    changed = rewrite_metadata(
        exported,
        tmp_path / "w.phenosort",
        lambda m: m.replace('"net_weights": null', '"net_weights": "/etc/hostname"'),
    )
    stub.ImportModel(file_chunks(changed, "imported-weights"))
    info = stub.GetModel(pb.GetModelRequest(name="imported-weights"))
    assert json.loads(info.settings_json)["net_weights"] is None


# minor --------------------------------------------------------------------------------
def test_cancelled_upload_is_logged_as_cancelled(stub, caplog):
    release = threading.Event()
    with caplog.at_level(logging.INFO, logger="phenosort.service"):
        future = stub.UploadTensor.future(stalled_chunks(release))
        time.sleep(0.3)
        future.cancel()
        release.set()
        time.sleep(0.5)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("UploadTensor ")]
    assert lines and lines[-1].startswith("UploadTensor CANCELLED"), lines


def test_reflection_and_health_need_no_token(tmp_path):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    running = create_server(store=tmp_path, token="s3cret")
    try:
        with grpc.insecure_channel(running.address) as channel:
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="grpc.health.v1.Health"
            )
            reply = next(reflection.ServerReflectionInfo(iter([request]), timeout=10))
            assert reply.file_descriptor_response.file_descriptor_proto
            stub = new_stub(running.address)[1]
            error = rpc_error(stub.ListModels, pb.ListModelsRequest())
            assert error.code() == Code.UNAUTHENTICATED
    finally:
        running.stop()


def test_startup_removes_partial_files_and_the_cache_is_bounded(tmp_path):
    (tmp_path / "tensors").mkdir()
    (tmp_path / "models" / "m").mkdir(parents=True)
    partial = [
        tmp_path / "tensors" / ".upload-abc.npy",
        tmp_path / "models" / "m" / ".phenosort-x.tmp",
        tmp_path / "models" / ".import-y.phenosort",
    ]
    for path in partial:
        path.write_bytes(b"partial")
    running = create_server(store=tmp_path, cache_bytes=100_000)
    try:
        assert not any(p.exists() for p in partial)
        stub = new_stub(running.address)[1]
        ids = [upload(stub, np.full((100, 100), i, np.uint8)) for i in range(3)]  # 10 kB
        data = make_objects("brightness", grid=(2, 2), seed=1)
        create_model(stub, "pinned", data)  # its training set must survive eviction
        pinned = image_input(stub, data)
        for i in range(12):
            upload(stub, np.full((100, 100), 10 + i, np.uint8))
        assert not stub.HasTensor(pb.TensorRef(id=ids[0])).present  # least recently used
        for tensor_id in (pinned.image_id, pinned.labels_id):
            assert stub.HasTensor(pb.TensorRef(id=tensor_id)).present
        total = sum(p.stat().st_size for p in (tmp_path / "tensors").glob("*.npy"))
        assert total <= 100_000 + data.image.nbytes + data.labels.nbytes
    finally:
        running.stop()
