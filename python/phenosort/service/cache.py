"""Uploaded tensors on disk, keyed by content id, and the service's own error types.

An upload streams straight into a temporary ``.npy`` file next to the cache, written in
place chunk by chunk (never into an in-memory copy, nor into a memory map whose written pages
would count in the server's RSS), and is renamed to ``<root>/tensors/<hex>.npy`` once
complete, so a tensor file is either whole or absent. A tiny JSON sidecar keeps its axes.
Reading maps the file read-only; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError, NotFoundError
from ..v1 import phenosort_pb2 as pb
from .codec import assemble

log = logging.getLogger("phenosort.service")

_ID = re.compile(r"^sha256:([0-9a-f]{64})$")


class TensorCache:
    """Content-addressed tensors under ``<root>/tensors``.

    Parameters
    ----------
    root : path
        The server's store folder (the ``tensors`` subfolder is created).
    max_bytes : int or None
        Largest accepted tensor; larger headers fail before any byte is written.
    max_total_bytes : int or None
        Bound of the whole cache: past it, the least recently used tensors are removed,
        except those that ``pinned()`` names (a training set's images) and the newest.
    pinned : callable, optional
        Returns the ids that must stay (set by the model registry).
    """

    def __init__(
        self,
        root: str | Path,
        max_bytes: int | None = None,
        max_total_bytes: int | None = None,
        pinned: Callable[[], set[str]] | None = None,
    ) -> None:
        self.folder = Path(root) / "tensors"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_total_bytes = max_total_bytes
        self.pinned = pinned or set
        self._lock = threading.Lock()
        self._remove_partial_files()
        self._total = sum(_size(p) for p in self.folder.glob("*.npy"))

    def _remove_partial_files(self) -> None:
        """Uploads and sidecars a killed server left half-written: one store has one server,
        so at start-up every temporary file is a leftover, whatever its age."""
        for tmp in [*self.folder.glob(".upload-*"), *self.folder.glob(".*.tmp")]:
            tmp.unlink(missing_ok=True)

    def _paths(self, tensor_id: str, what: str = "tensor id") -> tuple[Path, Path]:
        if not tensor_id:
            raise InvalidInputError(f"{what} is empty: upload the tensor and pass its id")
        match = _ID.match(tensor_id)
        if match is None:
            raise InvalidInputError(
                f"{what} {tensor_id!r} is not a tensor id (expected 'sha256:' and 64 hex digits)"
            )
        hex_ = match.group(1)
        return self.folder / f"{hex_}.npy", self.folder / f"{hex_}.json"

    def has(self, tensor_id: str) -> bool:
        """Whether the tensor ``tensor_id`` is stored (malformed ids raise)."""
        return self._paths(tensor_id)[0].is_file()

    def get(self, tensor_id: str, what: str = "tensor id") -> tuple[np.ndarray, str]:
        """The stored tensor as a read-only memory map, and its axes.

        Raises :class:`NotFoundError` naming the id when it is not stored; ``what`` names
        the request field in messages (e.g. ``"image_id"``).
        """
        data, meta = self._paths(tensor_id, what)
        if not data.is_file():
            raise NotFoundError(
                f"{what} {tensor_id} is not on the server: upload it first (UploadTensor)"
            )
        _touch(data)  # the modification time orders the least recently used
        axes = json.loads(meta.read_text()).get("axes", "") if meta.is_file() else ""
        array = np.load(data, mmap_mode="r", allow_pickle=False)
        return array, axes

    def header(self, tensor_id: str, what: str = "tensor id") -> pb.TensorHeader:
        """Header (dtype, shape, axes) of a stored tensor without reading its data."""
        array, axes = self.get(tensor_id, what)
        return pb.TensorHeader(dtype=array.dtype.name, shape=array.shape, axes=axes)

    def upload(self, chunks: Iterable[pb.TensorChunk]) -> tuple[str, bool]:
        """Store a chunk stream; returns ``(content id, cached)``.

        ``cached`` is True when identical content was stored before (the new copy is
        discarded). A stream that is empty, lacks its header or ends early fails with
        :class:`InvalidInputError`, and leaves nothing behind.
        """
        tmp = self.folder / f".upload-{uuid.uuid4().hex}.npy"
        try:
            array, axes, tensor_id = assemble(chunks, max_bytes=self.max_bytes, path=tmp)
            del array  # drop the read-only map of the file before renaming it
            data, meta = self._paths(tensor_id)
            if data.is_file():
                _touch(data)
                return tensor_id, True
            if not meta.is_file():
                write_atomic(meta, json.dumps({"axes": axes}))
            size = _size(tmp)
            os.replace(tmp, data)  # identical content: a concurrent twin is harmless
            with self._lock:
                self._total += size
            self._evict(keep=data)
            return tensor_id, False
        finally:
            if tmp.exists():
                tmp.unlink()

    def _evict(self, keep: Path) -> None:
        """Remove least recently used tensors until the cache fits its bound."""
        limit = self.max_total_bytes
        if limit is None or self._total <= limit:
            return
        with self._lock:  # one evictor at a time; the listing also corrects the total
            files = []
            for path in self.folder.glob("*.npy"):
                try:
                    stat = path.stat()
                except OSError:  # removed meanwhile
                    continue
                files.append((stat.st_mtime, stat.st_size, path))
            total = sum(size for _, size, _ in files)
            pinned = {tid.removeprefix("sha256:") for tid in self.pinned()}
            for _, size, path in sorted(files):
                if total <= limit:
                    break
                if path == keep or path.stem in pinned:
                    continue
                path.unlink(missing_ok=True)  # an open memory map keeps its data
                path.with_suffix(".json").unlink(missing_ok=True)
                total -= size
                log.info("tensor cache: evicted sha256:%s (%d bytes)", path.stem, size)
            self._total = total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:  # a read-only store: no eviction order, no harm
        pass


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half-written)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
