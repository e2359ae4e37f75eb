"""Fixtures and helpers for the gRPC server tests: a real server on a random loopback port
with a temporary store, raw generated stubs, tiny training settings."""

from __future__ import annotations

import json

import grpc
import numpy as np
import pytest

from phenosort.service import codec
from phenosort.service.server import create_server
from phenosort.testing import make_objects
from phenosort.v1 import phenosort_pb2 as pb
from phenosort.v1 import phenosort_pb2_grpc as pb_grpc

# 5 labels per class and image: a hold-out of 1 per class is allowed so the metrics are reported
TINY = {
    "train_epochs": 3, "net_width": 8, "train_min_epoch_samples": 32, "patch_size": 24,
    "train_val_min_per_class": 1,
}  # fmt: skip
TERMINAL = (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED)


def upload(stub, array: np.ndarray, axes: str = "", **kwargs) -> str:
    """Upload ``array`` in chunks; returns its content id."""
    return stub.UploadTensor(codec.iter_chunks(array, axes, **kwargs)).id


def image_input(stub, data, name: str = "") -> pb.ImageInput:
    """Upload a :class:`SyntheticData` image and mask."""
    return pb.ImageInput(
        image_id=upload(stub, data.image, data.axes),
        labels_id=upload(stub, data.labels, "YX"),
        name=name,
    )


def annotations(classes: dict[int, int]) -> list[pb.Annotation]:
    return [pb.Annotation(label=k, class_index=v) for k, v in classes.items()]


def create_model(stub, name: str, data, settings: dict | None = None) -> pb.ImageInput:
    """Create model ``name`` and add ``data`` with every object annotated."""
    settings = TINY if settings is None else settings
    stub.CreateModel(
        pb.CreateModelRequest(
            name=name, class_names=data.class_names, settings_json=json.dumps(settings)
        )
    )
    image = image_input(stub, data, name=f"{name}-image")
    stub.AddTrainingData(
        pb.AddTrainingDataRequest(model=name, image=image, annotations=annotations(data.classes))
    )
    return image


def train(stub, name: str, **request) -> list[pb.TrainingProgress]:
    """Start training ``name`` and watch it to the end; returns every event."""
    job = stub.StartTraining(pb.StartTrainingRequest(model=name, **request))
    return list(stub.WatchTraining(pb.WatchTrainingRequest(job_id=job.job_id), timeout=120))


def rpc_error(fn, *args, **kwargs) -> grpc.RpcError:
    """The RpcError that calling ``fn`` raises (a streaming reply is consumed)."""
    with pytest.raises(grpc.RpcError) as info:
        result = fn(*args, **kwargs)
        if hasattr(result, "__iter__") and not hasattr(result, "ByteSize"):
            list(result)
    return info.value


def outputs_of(responses) -> tuple[list[pb.ObjectBatch], dict[str, np.ndarray]]:
    """Split a Predict stream into object batches and assembled output images."""
    batches, assemblers, order = [], {}, []
    for response in responses:
        if response.WhichOneof("payload") == "objects":
            batches.append(response.objects)
            continue
        chunk = response.output
        if chunk.HasField("header"):
            assemblers[chunk.name] = codec.TensorAssembler(chunk.header)
            order.append(chunk.name)
        assemblers[chunk.name].add(chunk.data)
    return batches, {name: assemblers[name].finish()[0] for name in order}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A server shared by a test module (tests use their own model names)."""
    running = create_server(
        store=tmp_path_factory.mktemp("store"), max_tensor_bytes=256 << 20, workers=8
    )
    yield running
    running.stop(grace=1.0)


@pytest.fixture(scope="module")
def stub(service):
    with grpc.insecure_channel(service.address) as channel:
        yield pb_grpc.ObjectClassifierStub(channel)


@pytest.fixture(scope="module")
def cells(stub):
    """Model "cells" trained on a 4x4 brightness image: (name, data, image input, events)."""
    data = make_objects("brightness", grid=(4, 4), seed=1)
    image = create_model(stub, "cells", data)
    events = train(stub, "cells")
    assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED, events[-1].job.message
    return "cells", data, image, events
