"""The model file: one safetensors container holding the weights and the JSON metadata.

No pickle anywhere: safetensors stores raw tensors, and everything else (architecture,
patch and normalisation settings, class names, training summary, metrics, versions) is one
JSON document in the safetensors header. A SHA-256 over the metadata and every tensor's
bytes detects a truncated or tampered file; ``format_version`` guards compatibility.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .. import __version__
from ..classes import class_colors
from ..errors import InvalidInputError, ModelFileError
from ..jsonutil import dumps
from .config import FILE_DEFAULTS

if TYPE_CHECKING:
    from ..classifier import ObjectClassifier

FORMAT = "phenosort-model"
FORMAT_VERSION = 1
_META_KEY = "phenosort"
_HASH_KEY = "sha256"


def _digest(metadata_json: str, state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(metadata_json.encode())
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tensor.dtype).encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_model_file(
    path: str | Path,
    state: dict[str, torch.Tensor],
    metadata: dict,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a model file atomically (temporary file + rename); never half-writes ``path``.

    The file gets the mode of any new file (0o666 less the umask), like the service's exports.
    """
    from safetensors.torch import save

    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidInputError(f"model file {path} already exists; choose another name")
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    meta_json = dumps(meta, sort_keys=True)  # a NaN metric is stored as null
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    header = {_META_KEY: meta_json, _HASH_KEY: _digest(meta_json, tensors)}
    # written by open(), which honours the umask (mkstemp and safetensors' save_file give 0o600)
    tmp = path.with_name(f".phenosort-{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(save(tensors, metadata=header))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_model_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and verify a model file; returns ``(state_dict, metadata)``.

    Raises :class:`ModelFileError` naming the problem: missing, not a phenosort model,
    truncated or corrupted, tampered with (checksum), or written by a newer format.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        header = _read_header(path)
        state = load_file(str(path))
    except (SafetensorError, ValueError, OSError) as exc:
        raise ModelFileError(
            f"{path} is not a readable phenosort model file (truncated or corrupted?): {exc}"
        ) from None
    meta_json = header.get(_META_KEY)
    if meta_json is None:
        raise ModelFileError(f"{path} is a safetensors file but not a phenosort model")
    if _digest(meta_json, state) != header.get(_HASH_KEY):
        raise ModelFileError(
            f"{path} failed its checksum: the file was modified or damaged after it was saved"
        )
    try:
        meta = json.loads(meta_json)
    except ValueError as exc:
        raise ModelFileError(f"{path} has metadata that is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(
            f"{path} has malformed metadata: a JSON {type(meta).__name__}, not an object"
        )
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a phenosort model (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(
            f"{path} has format_version {json.dumps(version)}, not an integer: the file is "
            "damaged or was not written by phenosort"
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version}; this phenosort reads up to "
            f"{FORMAT_VERSION}: upgrade phenosort"
        )
    if isinstance(meta.get("config"), dict):
        meta["config"] = {**FILE_DEFAULTS, **meta["config"]}
    return state, meta


def read_metadata(path: str | Path) -> dict:
    """Metadata of a model file (verified like :func:`load_model_file`)."""
    return load_model_file(path)[1]


def _read_header(path: Path) -> dict:
    """The safetensors ``__metadata__`` strings, read without loading tensors."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ValueError("file shorter than a safetensors header")
        size = int(np.frombuffer(raw, "<u8")[0])
        if size > 100 * 2**20 or size > path.stat().st_size - 8:
            raise ValueError("header length is larger than the file")
        header = json.loads(fh.read(size))
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("malformed safetensors metadata")
    return meta


def model_checksum(path: str | Path) -> str:
    """The SHA-256 in a model file's header (over its metadata and every tensor), read without
    loading the tensors: it names the content, e.g. as a cache key (loading verifies it)."""
    path = Path(path)
    try:
        digest = _read_header(path).get(_HASH_KEY)
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path} is not a readable phenosort model file: {exc}") from None
    if not isinstance(digest, str):
        raise ModelFileError(f"{path} is not a phenosort model file (no checksum)")
    return digest


def metadata_of(clf: ObjectClassifier) -> dict:
    """Everything the model file records of a trained classifier but its weights."""
    _, spec, norm, aug = clf._require_trained()
    ndim = clf.ndim
    return {
        "class_names": clf.class_names,
        "class_colors": class_colors(len(clf.class_names)),
        "config": clf.config.to_dict(),
        "ndim": ndim,
        "in_channels": clf.in_channels,
        "axes": "CZYX" if ndim == 3 else "CYX",
        "patch": spec.to_dict(),
        "normalization": norm.to_dict(),
        "augmentation": aug.to_dict(),
        "symmetry": clf.symmetry,
        "assessment": clf.assessment,
        "voxel_size": list(clf.voxel_size) if clf.voxel_size else None,
        "training_data": clf.training_data,
        "validation": clf.validation,
        "history": clf.history,
        "version": clf.version,
        "created": clf.created,
        "phenosort_version": __version__,
        "torch_version": torch.__version__,
    }
