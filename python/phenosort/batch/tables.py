"""The folder's two tables: ``objects.csv`` (one row per object) and ``summary.csv`` (one
row per image, counts per class), in the order of the pairs."""

from __future__ import annotations

from pathlib import Path

from ..results import write_csv_text, write_table_csv
from .image_job import ImageResult

TABLES = ("objects.csv", "summary.csv")


def write_tables(out: Path, results: list[ImageResult]) -> None:
    """Both tables under ``out``, replacing old ones (the run checked that it may); when an
    image failed, summary.csv gets an ``error`` column (empty for the others)."""
    failed = any(r.error is not None for r in results)
    summary = [{**r.summary, "error": r.error or ""} if failed else r.summary for r in results]
    rows = [r.rows for r in results if r.rows is not None]
    header = next((r.columns for r in results if r.rows is not None), ())
    write_csv_text(out / TABLES[0], header, rows, overwrite=True)
    write_table_csv(out / TABLES[1], summary, overwrite=True)
