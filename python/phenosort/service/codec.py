"""numpy arrays <-> ``phenosort.v1`` tensors and tensor chunk streams.

Bytes are C order and little-endian on the wire. A chunked upload is written into one
preallocated array, or in place into a ``.npy`` file, as it arrives, with a SHA-256 of header
and bytes computed on the way: the content id under which the server caches it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..v1 import phenosort_pb2 as pb

DTYPES = (
    "bool",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "float32",
    "float64",
)
DEFAULT_CHUNK_BYTES = 2 << 20  # 2 MiB: well under gRPC's 4 MiB default message limit
MAX_NDIM = 32  # numpy's own limit is 64; no image has more than a handful of axes
MAX_NBYTES = 1 << 62  # beyond any disk; keeps every size a numpy int64 can hold


def _wire_array(array: np.ndarray) -> np.ndarray:
    """C-contiguous little-endian version of ``array`` (no copy when it already is)."""
    array = np.asarray(array)
    if array.dtype.name not in DTYPES:
        raise InvalidInputError(f"dtype {array.dtype} cannot be sent; supported: {DTYPES}")
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array)


def header_of(array: np.ndarray, axes: str = "") -> pb.TensorHeader:
    return pb.TensorHeader(dtype=np.asarray(array).dtype.name, shape=array.shape, axes=axes)


def check_header(header: pb.TensorHeader, max_bytes: int | None = None) -> tuple[np.dtype, tuple]:
    """Validate a header; returns (dtype, shape). Errors name the bad field."""
    if header.dtype not in DTYPES:
        raise InvalidInputError(
            f"tensor dtype {header.dtype!r} is not supported; use one of {', '.join(DTYPES)}"
        )
    shape = tuple(int(s) for s in header.shape)
    if not shape or len(shape) > MAX_NDIM or any(s < 0 for s in shape):
        raise InvalidInputError(
            f"tensor shape {list(shape)} must have 1 to {MAX_NDIM} sizes, each >= 0"
        )
    dtype = np.dtype(header.dtype).newbyteorder("<")
    nbytes = math.prod(shape) * dtype.itemsize  # exact: Python ints never overflow
    limit = MAX_NBYTES if max_bytes is None else min(max_bytes, MAX_NBYTES)
    # numpy refuses a shape whose nonzero sizes overflow even when another size is 0
    if nbytes > limit or math.prod(max(s, 1) for s in shape) * dtype.itemsize > MAX_NBYTES:
        raise TensorTooLargeError(
            f"tensor of shape {list(shape)} {header.dtype} is {nbytes} bytes; the server "
            f"accepts at most {limit}"
        )
    return dtype, shape


class TensorTooLargeError(InvalidInputError):
    """A tensor exceeds the server's size limit (maps to RESOURCE_EXHAUSTED)."""


class StreamEndedEarly(InvalidInputError):
    """A chunk stream ended before its data was complete: a client bug, or a cancel whose
    end of stream reached the server before the cancel itself."""


def content_id(header: pb.TensorHeader, data_hash: hashlib._Hash) -> str:
    h = hashlib.sha256(f"{header.dtype}|{list(header.shape)}|{header.axes}|".encode())
    h.update(data_hash.digest())
    return "sha256:" + h.hexdigest()


def to_tensor(array: np.ndarray, axes: str = "") -> pb.Tensor:
    """One message holding the whole array (for small arrays such as heatmaps)."""
    wire = _wire_array(array)
    return pb.Tensor(data=wire.tobytes(), dtype=wire.dtype.name, shape=wire.shape, axes=axes)


def from_tensor(tensor: pb.Tensor) -> np.ndarray:
    dtype, shape = check_header(pb.TensorHeader(dtype=tensor.dtype, shape=tensor.shape))
    expected = math.prod(shape) * dtype.itemsize
    if len(tensor.data) != expected:
        raise InvalidInputError(
            f"tensor data has {len(tensor.data)} bytes; shape {list(shape)} {tensor.dtype} "
            f"needs {expected}"
        )
    return np.frombuffer(tensor.data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def iter_chunks(
    array: np.ndarray, axes: str = "", *, name: str = "", chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Iterator[pb.TensorChunk]:
    """Stream ``array`` as chunks: the first carries the header. No copy of a C-contiguous
    little-endian array is made beyond each chunk's bytes."""
    wire = _wire_array(array)
    flat = wire.reshape(-1).view(np.uint8).data if wire.size else memoryview(b"")
    header = pb.TensorHeader(dtype=wire.dtype.name, shape=wire.shape, axes=axes)
    step = max(1, int(chunk_bytes))
    first = True
    for start in range(0, max(len(flat), 1), step):
        piece = bytes(flat[start : start + step])
        if first:
            yield pb.TensorChunk(header=header, data=piece, name=name)
            first = False
        else:
            yield pb.TensorChunk(data=piece, name=name)


class TensorAssembler:
    """Collects a chunk stream into one preallocated buffer and computes its content id.

    Without ``path`` the buffer is an array in memory. With ``path`` it is a ``.npy`` file
    whose data is written in place as chunks arrive: only the current chunk is ever in this
    process's memory (through a memory map, every written page would count in its RSS), so
    a huge upload never has to fit in RAM. ``finish`` then returns a read-only memory map
    of the file.
    """

    def __init__(self, header: pb.TensorHeader, *, max_bytes=None, path: Path | None = None):
        self.dtype, self.shape = check_header(header, max_bytes)
        self.header = header
        self.path = path
        self._file = None
        if path is None:
            self.array = np.empty(self.shape, self.dtype)
            self._bytes: np.ndarray | None = (
                self.array.reshape(-1).view(np.uint8) if self.array.size else None
            )
        else:
            # open_memmap writes the .npy header and sizes the (sparse) file; no data
            # page is touched here
            created = np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=self.shape)
            offset = created.offset
            del created
            self._file = open(path, "r+b")  # closed by finish() or close()
            self._file.seek(offset)
        self._nbytes = math.prod(self.shape) * self.dtype.itemsize
        self._filled = 0
        self._hash = hashlib.sha256()

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def add(self, data: bytes) -> None:
        end = self._filled + len(data)
        if end > self.nbytes:
            raise InvalidInputError(
                f"tensor data exceeds its header: more than {self.nbytes} bytes for shape "
                f"{list(self.shape)} {self.header.dtype}"
            )
        if data:
            if self._file is not None:
                self._file.write(data)
            elif self._bytes is not None:  # None: an empty tensor, which no data fits
                self._bytes[self._filled : end] = np.frombuffer(data, np.uint8)
            self._hash.update(data)
        self._filled = end

    def close(self) -> None:
        """Close the file of a ``path`` buffer (done by :meth:`finish`; for aborted streams)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self) -> tuple[np.ndarray, str]:
        """The array (native byte order view) and its content id; errors if incomplete."""
        if self._filled != self.nbytes:
            raise StreamEndedEarly(
                f"tensor data ended after {self._filled} of {self.nbytes} bytes "
                f"(shape {list(self.shape)} {self.header.dtype})"
            )
        if self.path is not None:
            self.close()
            self.array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        return self.array, content_id(self.header, self._hash)


def assemble(chunks: Iterable[pb.TensorChunk], **kwargs) -> tuple[np.ndarray, str, str]:
    """Read a whole chunk stream; returns (array, axes, content id). ``kwargs`` go to
    :class:`TensorAssembler` (``max_bytes``, ``path`` for a ``.npy`` file buffer)."""
    assembler = None
    try:
        for chunk in chunks:
            if assembler is None:
                if not chunk.HasField("header"):
                    raise InvalidInputError("the first tensor chunk must carry the header")
                assembler = TensorAssembler(chunk.header, **kwargs)
            elif chunk.HasField("header"):
                raise InvalidInputError("only the first tensor chunk may carry a header")
            assembler.add(chunk.data)
        if assembler is None:
            raise StreamEndedEarly("the tensor stream was empty: send a header chunk")
        array, cid = assembler.finish()
    finally:
        if assembler is not None:
            assembler.close()
    return array, assembler.header.axes, cid
