"""Checksums of arrays: the image-and-mask digest a model records for each training image,
so ``in_training_set`` can tell later whether a predicted image was one of them."""

from __future__ import annotations

import hashlib

import numpy as np

from .axes import c_order_blocks


def checksum_of(*arrays: np.ndarray) -> str:
    """BLAKE2b-128 hex digest of the arrays' dtypes, shapes and C-order bytes, read in
    blocks: a channel-first view or a memory map is never copied whole."""
    h = hashlib.blake2b(digest_size=16)
    for array in arrays:
        h.update(str((array.dtype.str, array.shape)).encode())
        for block in c_order_blocks(array):
            h.update(block.data)
    return h.hexdigest()
