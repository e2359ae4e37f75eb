"""The end of a folder run: each failed image on stderr, the one-line summary on stdout
(with ``--quiet`` too: it hides only the progress bars), and the exit status."""

from __future__ import annotations

import sys
from pathlib import Path

from .image_job import ImageResult

IMAGE_FAILED = 2  # some image failed, the others finished (a user error exits 2 too)


def report_outcome(out: Path, results: list[ImageResult]) -> int:
    """Print the outcome of ``results`` (written under ``out``); IMAGE_FAILED or 0."""
    failed = [r for r in results if r.error is not None]
    for r in failed:
        print(f"error: {r.stem}: {r.error}", file=sys.stderr)
    predicted = [r for r in results if r.rows is not None]
    total = sum(r.summary["n_objects"] for r in predicted)
    print(f"{total} objects in {len(predicted)} image(s) classified; outputs in {out}")
    if failed:
        print(f"{len(failed)} of {len(results)} image(s) failed (see summary.csv)", file=sys.stderr)
    return IMAGE_FAILED if failed else 0
