"""numpy <-> tensor messages and chunk streams, as both sides of the wire use them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from phenosort.errors import InvalidInputError
from phenosort.service.codec import (
    TensorAssembler,
    TensorTooLargeError,
    assemble,
    from_tensor,
    iter_chunks,
    to_tensor,
)
from phenosort.v1 import phenosort_pb2 as pb


@pytest.mark.parametrize(
    "dtype", ["bool", "uint8", "uint16", "uint32", "int32", "int64", "float32", "float64"]
)
def test_round_trip_every_dtype(dtype):
    array = (np.arange(60).reshape(3, 4, 5) % 7).astype(dtype)
    assert np.array_equal(from_tensor(to_tensor(array, "ZYX")), array)
    back, axes, _ = assemble(iter_chunks(array, "ZYX", chunk_bytes=7))
    assert axes == "ZYX" and back.dtype == array.dtype and np.array_equal(back, array)


def test_big_endian_and_strided_inputs_go_out_little_endian_c_order():
    big = np.arange(12, dtype=">u2").reshape(3, 4)
    msg = to_tensor(big)
    assert msg.dtype == "uint16" and msg.data == np.arange(12, dtype="<u2").tobytes()
    view = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    assert np.array_equal(assemble(iter_chunks(view))[0], view)


def test_content_id_depends_on_bytes_and_header_not_on_chunking():
    a = np.arange(1000, dtype=np.uint16).reshape(10, 100)
    ids = {assemble(iter_chunks(a, "YX", chunk_bytes=n))[2] for n in (1, 100, 1 << 20)}
    assert len(ids) == 1
    assert assemble(iter_chunks(a.reshape(100, 10), "YX"))[2] not in ids
    assert assemble(iter_chunks(a, "XY"))[2] not in ids
    b = a.copy()
    b[5, 5] += 1
    assert assemble(iter_chunks(b, "YX"))[2] not in ids


def test_assembly_into_a_file(tmp_path):
    """Chunks are written in place into a .npy file; the result maps it read-only."""
    a = np.random.default_rng(0).integers(0, 2**16, (300, 400), dtype=np.uint16)
    chunks = list(iter_chunks(a, "YX", chunk_bytes=4096))
    path = tmp_path / "up.npy"
    assembler = TensorAssembler(chunks[0].header, path=path)
    assert path.stat().st_size >= a.nbytes  # sized up front: one preallocated buffer
    for chunk in chunks:
        assembler.add(chunk.data)
    array, cid = assembler.finish()
    assert np.array_equal(np.load(path, allow_pickle=False), a)
    assert isinstance(array, np.memmap) and not array.flags.writeable
    assert np.array_equal(array, a)
    assert cid == assemble(iter_chunks(a, "YX"))[2]  # same id as an in-memory assembly


def _open_paths() -> set[str]:
    fds = Path("/proc/self/fd")
    return {os.path.realpath(fds / fd) for fd in os.listdir(fds)} if fds.is_dir() else set()


def test_a_broken_stream_into_a_file_leaves_it_closed(tmp_path):
    chunks = list(iter_chunks(np.zeros((10, 10), np.uint8), chunk_bytes=30))
    path = tmp_path / "x.npy"
    with pytest.raises(InvalidInputError, match="ended after 90 of 100 bytes"):
        assemble(chunks[:-1], path=path)
    with pytest.raises(InvalidInputError, match="exceeds its header"):
        assemble([*chunks, pb.TensorChunk(data=b"x")], path=path)
    assert str(path.resolve()) not in _open_paths()


def test_bad_streams_are_named():
    a = np.zeros((10, 10), np.uint8)
    chunks = list(iter_chunks(a, chunk_bytes=30))
    with pytest.raises(InvalidInputError, match="ended after 90 of 100 bytes"):
        assemble(chunks[:-1])
    with pytest.raises(InvalidInputError, match="exceeds its header"):
        assemble([*chunks, pb.TensorChunk(data=b"x")])
    with pytest.raises(InvalidInputError, match="first tensor chunk must carry the header"):
        assemble(chunks[1:])
    with pytest.raises(InvalidInputError, match="empty"):
        assemble([])
    with pytest.raises(InvalidInputError, match="dtype 'complex64'"):
        assemble([pb.TensorChunk(header=pb.TensorHeader(dtype="complex64", shape=[2]))])
    with pytest.raises(TensorTooLargeError, match="at most 50"):
        assemble(chunks, max_bytes=50)
    with pytest.raises(InvalidInputError, match="needs 100"):
        from_tensor(pb.Tensor(data=b"123", dtype="uint8", shape=[10, 10]))
