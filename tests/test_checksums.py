"""Checksums of training images (``in_training_set``): stable whatever the memory layout."""

from __future__ import annotations

import hashlib

import numpy as np

from phenosort.axes import to_channel_first
from phenosort.checksums import checksum_of


def _whole_array_checksum(*arrays: np.ndarray) -> str:
    """The checksum as first written: one contiguous copy of each array."""
    h = hashlib.blake2b(digest_size=16)
    for array in arrays:
        h.update(str((array.dtype.str, array.shape)).encode())
        h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def test_checksum_of_views_and_memory_maps_is_unchanged(tmp_path):
    """Models store this checksum (in_training_set): reading in blocks must not change it."""
    rgb = np.random.default_rng(0).integers(0, 255, (64, 48, 3), dtype=np.uint8)
    labels = np.arange(64 * 48, dtype=np.uint32).reshape(64, 48)
    np.save(tmp_path / "labels.npy", labels)
    mapped = np.load(tmp_path / "labels.npy", mmap_mode="r")
    view = to_channel_first(rgb, "YXC")
    assert checksum_of(view, mapped) == _whole_array_checksum(view, labels)
    assert checksum_of(view[:, ::2], labels.T) == _whole_array_checksum(view[:, ::2], labels.T)
