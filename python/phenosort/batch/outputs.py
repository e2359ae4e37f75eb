"""What a folder run never does: write into the data folder, or replace a file without
``--overwrite``. Both are checked before any image is predicted."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..dataio.pairs import Pair
from ..errors import InvalidInputError
from .image_job import output_paths
from .tables import TABLES


def check_out_dir(out: Path, data_dir: Path) -> None:
    """Raise when ``out`` is the data folder or inside it (also for ``suggest``, ``explain``)."""
    out, data = out.resolve(), data_dir.resolve()
    if out == data or data in out.parents:
        raise InvalidInputError(f"--out {out} is inside the data folder {data}; choose another")


def refuse_existing_outputs(
    out: Path, pairs: Sequence[Pair], class_names: Sequence[str], *, overwrite: bool = False
) -> None:
    """Raise before any work when a table or an image's output exists (unless ``overwrite``)."""
    if overwrite or not out.is_dir():
        return
    existing = {entry.name for entry in os.scandir(out)}  # one listing, not a stat per file
    names = list(TABLES) + [
        p.name for pair in pairs for p in output_paths(pair.stem, out, class_names).values()
    ]
    taken = [out / name for name in names if name in existing]
    if taken:
        raise InvalidInputError(
            f"outputs exist already ({taken[0]}, ...); use --overwrite or another --out"
        )
