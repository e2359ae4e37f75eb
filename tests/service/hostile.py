"""Helpers of the hostile-input tests: strict JSON, model files with rewritten metadata,
stalled upload streams on their own connections."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np

from phenosort.model.file import _digest, _read_header
from phenosort.service import codec
from phenosort.v1 import phenosort_pb2 as pb
from phenosort.v1 import phenosort_pb2_grpc as pb_grpc

Code = grpc.StatusCode
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]  # one client = one connection


def strict_json(text: str):
    """Parse as JavaScript's JSON.parse would: NaN and Infinity are errors."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse) if text else None


def rewrite_metadata(src: Path, dst: Path, change: Callable[[str], str]) -> Path:
    """Copy a model file with its metadata JSON text changed and a correct checksum."""
    from safetensors.torch import load_file, save_file

    state = load_file(str(src))
    meta_json = change(_read_header(src)["phenosort"])
    save_file(
        state, str(dst), metadata={"phenosort": meta_json, "sha256": _digest(meta_json, state)}
    )
    return dst


def file_chunks(path: Path, name: str) -> Iterator[pb.FileChunk]:
    data = path.read_bytes()
    yield pb.FileChunk(name=name, data=data[: len(data) // 2])
    yield pb.FileChunk(data=data[len(data) // 2 :])


def stalled_chunks(release: threading.Event) -> Iterator[pb.TensorChunk]:
    """An upload that sends its header and one chunk, then nothing until ``release``."""
    chunks = codec.iter_chunks(np.zeros((64, 64), np.float32), "YX", chunk_bytes=1024)
    yield next(chunks)
    release.wait()


def new_stub(address: str) -> tuple[grpc.Channel, pb_grpc.ObjectClassifierStub]:
    channel = grpc.insecure_channel(address, options=OWN_CONNECTION)
    return channel, pb_grpc.ObjectClassifierStub(channel)
