"""Property-based fuzz of the tensor codec and of every RPC's request fields (hypothesis,
derandomized so CI is deterministic, bounded in examples). For every example: no INTERNAL
or UNKNOWN status, health SERVING afterwards; over the run: no file outside the store
touched. The statuses seen are counted in ``SEEN`` (docs/reliability.md)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phenosort.errors import InvalidInputError
from phenosort.model.config import ModelConfig
from phenosort.service import codec
from phenosort.service.server import create_server
from phenosort.v1 import phenosort_pb2 as pb

from .conftest import create_model, train, upload
from .hostile import OWN_CONNECTION

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
SEEN: Counter[str] = Counter()

DTYPES = st.sampled_from([*codec.DTYPES, "float16", "complex64", "object", "", "<f4", "S10"])
SHAPES = st.lists(
    st.one_of(st.integers(0, 9), st.integers(-(2**63), 2**63 - 1)), min_size=0, max_size=6
)
AXES = st.sampled_from(["", "YX", "ZYX", "YXC", "CYX", "ZCYX", "TYX", "yx", "Ω", "YXYX"])
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
KEYS = st.sampled_from(sorted(ModelConfig().to_dict()))
SETTINGS = st.one_of(
    st.dictionaries(KEYS, JSON_VALUES, max_size=3).map(json.dumps),  # json.dumps writes NaN
    st.text(max_size=30),
    st.sampled_from(['{"train_epochs": 1e400}', '{"a": 1', "null", "[]", '{"patch_size": -0.0}']),
)
NAMES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["../escape", "/tmp/x", "..", ".", "fuzz", "a" * 101, "con", "x/y"]),
)
LABELS = st.lists(st.integers(0, 2**64 - 1), max_size=4)
IDS = st.one_of(st.text(max_size=70), st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True))


@given(dtype=DTYPES, shape=SHAPES, axes=AXES, pieces=st.lists(st.binary(max_size=64), max_size=4))
@FUZZ
def test_codec_assembles_or_refuses(dtype, shape, axes, pieces):
    header = pb.TensorHeader(dtype=dtype, shape=shape, axes=axes)
    chunks = [pb.TensorChunk(header=header, data=pieces[0] if pieces else b"")]
    chunks += [pb.TensorChunk(data=p) for p in pieces[1:]]
    try:
        array, _, cid = codec.assemble(chunks, max_bytes=1 << 20)
    except InvalidInputError as exc:
        assert str(exc)
        return
    assert array.shape == tuple(shape) and cid.startswith("sha256:")
    np.testing.assert_array_equal(codec.from_tensor(codec.to_tensor(array)), array)


# ------------------------------------------------------------------------------ RPC fuzz
@pytest.fixture(scope="module")
def area(tmp_path_factory):
    """A folder holding the store and, beside it, files a hostile request might reach."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "outside").mkdir()
    (root / "outside" / "secret.pt").write_bytes(b"not weights")
    return root


@pytest.fixture(scope="module")
def service(area):
    running = create_server(store=area / "store", max_tensor_bytes=1 << 20, workers=8)
    yield running
    running.stop(grace=1.0)


@pytest.fixture(scope="module")
def stub(service):
    from phenosort.v1 import phenosort_pb2_grpc as pb_grpc

    with grpc.insecure_channel(service.address, options=OWN_CONNECTION) as channel:
        yield pb_grpc.ObjectClassifierStub(channel)


@pytest.fixture(scope="module")
def trained(stub):
    from phenosort.testing import make_objects

    data = make_objects("brightness", grid=(2, 4), seed=2)
    tiny = {"train_epochs": 1, "net_width": 4, "train_min_epoch_samples": 8, "patch_size": 16}
    image = create_model(stub, "fuzz-trained", data, tiny)
    assert train(stub, "fuzz-trained")[-1].job.state == pb.JOB_STATE_SUCCEEDED
    image.name = "x" * data.labels.shape[0]  # carries the mask's height to the pixel fuzz
    return image


def snapshot(root: Path, store: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in root.rglob("*")
        if store not in p.parents and p != store
    }


@pytest.fixture(scope="module")
def untouched(area, service):
    before = snapshot(area, service.store)
    yield
    assert snapshot(area, service.store) == before, "a file outside the store changed"
    print(f"\nfuzz RPC statuses ({sum(SEEN.values())} calls): {dict(SEEN.most_common())}")


def check(call, request, service) -> None:
    """Run one RPC; record its status; fail on INTERNAL/UNKNOWN or a health check not SERVING."""
    try:
        result = call(request, timeout=30)
        if hasattr(result, "__iter__") and not hasattr(result, "ByteSize"):
            list(result)
        SEEN["OK"] += 1
    except grpc.RpcError as exc:
        SEEN[exc.code().name] += 1
        assert exc.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
            f"{call._method}: {exc.code().name} {exc.details()}"
        )
    with grpc.insecure_channel(service.address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


@given(dtype=DTYPES, shape=SHAPES, axes=AXES, pieces=st.lists(st.binary(max_size=300), max_size=3),
       second_header=st.booleans())  # fmt: skip
@FUZZ
def test_upload_fuzz(stub, service, untouched, dtype, shape, axes, pieces, second_header):
    header = pb.TensorHeader(dtype=dtype, shape=shape, axes=axes)
    chunks = [pb.TensorChunk(header=header, data=p) for p in pieces[:1]]
    chunks += [pb.TensorChunk(data=p) for p in pieces[1:]]
    if second_header:
        chunks.append(pb.TensorChunk(header=header))
    check(stub.UploadTensor, iter(chunks), service)


@given(name=NAMES, classes=st.lists(st.text(max_size=6), max_size=4), text=SETTINGS)
@FUZZ
def test_model_requests_fuzz(stub, service, untouched, name, classes, text):
    check(
        stub.CreateModel,
        pb.CreateModelRequest(name=name, class_names=classes, settings_json=text),
        service,
    )
    check(stub.StartTraining, pb.StartTrainingRequest(model=name, settings_json=text), service)
    check(stub.StartTraining, pb.StartTrainingRequest(model="fuzz-trained", settings_json=text,
                                                      continue_training=True), service)  # fmt: skip
    check(stub.GetModel, pb.GetModelRequest(name=name, version=len(text) - 5), service)
    if name != "fuzz-trained":
        check(stub.DeleteModel, pb.DeleteModelRequest(name=name), service)


@given(
    image_id=IDS, labels_id=IDS, labels=LABELS, n=st.integers(-(2**31), 2**31 - 1),
    class_index=st.integers(-(2**31), 2**31 - 1), voxel=st.lists(st.floats(), max_size=4),
    job=st.text(max_size=40), blob=st.binary(max_size=200),
)  # fmt: skip
@FUZZ
def test_image_requests_fuzz(stub, service, untouched, trained, image_id, labels_id, labels, n,
                             class_index, voxel, job, blob):  # fmt: skip
    good = pb.ImageInput(image_id=trained.image_id, labels_id=trained.labels_id)
    bad = pb.ImageInput(image_id=image_id, labels_id=labels_id, voxel_size=voxel)
    mixed = pb.ImageInput(image_id=trained.image_id, labels_id=trained.labels_id, voxel_size=voxel)
    notes = [pb.Annotation(label=v, class_index=class_index % 4) for v in labels]
    for image in (bad, mixed):
        request = pb.AddTrainingDataRequest(model="fuzz-trained", image=image, annotations=notes)
        check(stub.AddTrainingData, request, service)
    check(
        stub.Predict,
        pb.PredictRequest(model="fuzz-trained", image=mixed, label_ids=labels),
        service,
    )
    check(
        stub.Suggest,
        pb.SuggestRequest(model="fuzz-trained", image=good, n=n, exclude=labels),
        service,
    )
    label = labels[0] if labels else n % 97
    request = pb.ExplainRequest(
        model="fuzz-trained", image=good, label=label, class_index=class_index
    )
    check(stub.Explain, request, service)
    request = pb.GalleryRequest(
        model="fuzz-trained", image=mixed, per_class=n % 1100 - 50, tile_size=class_index % 300,
        least_certain=class_index % 1100 - 50, columns=n % 70, no_least_certain=n % 2 == 0,
    )  # fmt: skip
    check(stub.Gallery, request, service)
    check(stub.GetTrainingReport, pb.ExportModelRequest(name=job, version=n), service)
    check(stub.HasTensor, pb.TensorRef(id=image_id), service)
    check(stub.WatchTraining, pb.WatchTrainingRequest(job_id=job), service)
    check(stub.CancelTraining, pb.CancelTrainingRequest(job_id=job), service)
    check(stub.ImportModel, iter([pb.FileChunk(name=job, data=blob)]), service)
    check(stub.ExportModel, pb.ExportModelRequest(name=job, version=n), service)


def test_random_pixels_fuzz(stub, service, untouched, trained):
    """Uploaded images of every dtype and odd values (NaN, inf, extremes) through Predict."""
    rng = np.random.default_rng(0)
    shape = (len(trained.name), 4 * len(trained.name) // 2)  # the mask's: make_objects 2 x 4
    for dtype in codec.DTYPES:
        for fill in (0, 1, -1, "max", "nan", "rand"):
            array = np.zeros(shape, dtype)
            if fill == "rand":
                array = rng.integers(0, 2, shape).astype(dtype)
            elif fill == "max" and dtype != "bool":
                info = np.finfo(dtype) if dtype.startswith("float") else np.iinfo(dtype)
                array[:] = info.max
            elif fill == "nan" and dtype.startswith("float"):
                array[0, 0] = np.nan
            elif isinstance(fill, int) and dtype not in ("bool",) and not dtype.startswith("uint"):
                array[:] = fill
            image = pb.ImageInput(image_id=upload(stub, array, "YX"), labels_id=trained.labels_id)
            check(stub.Predict, pb.PredictRequest(model="fuzz-trained", image=image), service)
            request = pb.GalleryRequest(model="fuzz-trained", image=image, tile_size=16)
            check(stub.Gallery, request, service)
