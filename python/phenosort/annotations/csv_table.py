"""Class annotations as CSV tables (``image,label,class``), read and written, and the check
that the label IDs of a table are in an image's mask (naming the rows that give them)."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from .checks import INTEGER, check_class_names


def _open_new(path: Path, overwrite: bool):
    # "x" refuses an existing file without a race between the check and the write
    try:
        return path.open("w" if overwrite else "x", newline="", encoding="utf-8")
    except FileExistsError:
        raise InvalidInputError(f"{path} exists; pass overwrite=True to replace it") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc}") from exc


def _row_problem(image: str, label: str, value: str) -> str | None:
    if not image:
        return "the image is empty"
    if not INTEGER.match(label):
        kind = "negative" if re.match(r"^-\d+$", label) else "not an integer"
        return f"label {label!r} is {kind}; expected an object ID >= 1"
    if int(label) == 0:
        return "label 0 is the background, not an object"
    return None if value else "the class is empty"


def read_annotations_csv(
    path: str | os.PathLike[str], class_names: Sequence[str] | None = None
) -> tuple[dict[str, dict[int, int]], list[str]]:
    """Read object class annotations from a CSV table.

    Parameters
    ----------
    path : str or PathLike
        CSV file whose header names the columns ``image`` (file stem), ``label`` (or
        ``label_id``) and ``class`` (a class name or 1-based index) in any order; other
        columns are ignored. Errors number rows as lines of the file (header = 1).
    class_names : sequence of str, optional
        The classes. Without them, integer classes give ``"class 1".."class K"`` (K = the
        largest index) and named classes the distinct names sorted alphabetically.

    Returns
    -------
    tuple of (dict[str, dict[int, int]], list[str])
        Image stem -> {label ID: class index}, and the K class names.

    Raises
    ------
    InvalidInputError
        Unreadable file, missing column, bad label or class, no rows, or conflicting rows.
    """
    table, names, _ = read_annotations_csv_lines(path, class_names)
    return table, names


def read_annotations_csv_lines(
    path: str | os.PathLike[str], class_names: Sequence[str] | None = None
) -> tuple[dict[str, dict[int, int]], list[str], dict[tuple[str, int], int]]:
    """:func:`read_annotations_csv`, and the line of the file (header = 1) that first gives
    each ``(image, label)``, for messages that point into the file."""
    path = Path(path)
    names = None if class_names is None else check_class_names(class_names)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except FileNotFoundError:
        raise InvalidInputError(f"annotation file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInputError(f"cannot read annotation file {path}: {exc}") from exc
    header = [c.strip().lower() for c in rows[0][1]] if rows else []
    alias = "label_id" in header and "label" not in header
    wanted = ("image", "label_id" if alias else "label", "class")
    missing = [c for c in wanted if c not in header]  # the documented names: image,label,class
    if rows and missing:
        raise InvalidInputError(
            f"{path} lacks the column(s) {', '.join(missing)}; its header {rows[0][1]!r} must "
            "name the columns image, label and class (label_id is accepted for label)"
        )
    records: list[tuple[int, str, int, str]] = []  # (line, image, label, class value)
    for line, row in rows[1:]:
        image, label_text, value = (
            row[c].strip() if c < len(row) else "" for c in map(header.index, wanted)
        )
        if not (image or label_text or value):
            continue
        problem = _row_problem(image, label_text, value)
        if problem:
            raise InvalidInputError(f"{path} row {line}: {problem}")
        records.append((line, image, int(label_text), value))
    if not records:
        raise InvalidInputError(f"{path} has no annotations")

    is_int = [bool(INTEGER.match(r[3])) for r in records]
    if names is None:
        if all(is_int):
            names = [f"class {k}" for k in range(1, max(int(r[3]) for r in records) + 1)]
        elif not any(is_int):
            names = sorted({r[3] for r in records})
        else:
            i, j = is_int.index(True), is_int.index(False)
            raise InvalidInputError(
                f"{path} mixes class indices (row {records[i][0]}: {records[i][3]!r}) and "
                f"class names (row {records[j][0]}: {records[j][3]!r}); pass class_names"
            )
    out: dict[str, dict[int, int]] = {}
    seen: dict[tuple[str, int], int] = {}
    for (line, image, label, value), integer in zip(records, is_int, strict=True):
        where = f"{path} row {line}"
        if integer:
            index = int(value)
            if not 1 <= index <= len(names):
                raise InvalidInputError(f"{where}: class index {index} is outside 1..{len(names)}")
        elif value in names:
            index = names.index(value) + 1
        else:
            raise InvalidInputError(f"{where}: unknown class {value!r}; expected one of {names}")
        old = out.setdefault(image, {}).setdefault(label, index)
        if old != index:
            raise InvalidInputError(
                f"{path} rows {seen[image, label]} and {line} give object {label} of image "
                f"{image!r} two classes: {names[old - 1]!r} and {names[index - 1]!r}"
            )
        seen.setdefault((image, label), line)
    return out, names, seen


def write_annotations_csv(
    path: str | os.PathLike[str],
    annotations: dict[str, dict[int, int]],
    class_names: Sequence[str],
    *,
    overwrite: bool = False,
) -> None:
    """Write annotations as ``image,label,class`` rows (class names), by image then label.

    Parameters
    ----------
    path : str or PathLike
        The CSV file; an existing file is replaced only with ``overwrite=True``.
    annotations : dict[str, dict[int, int]]
        Image stem -> {label ID: class index (1..K)}.
    class_names : sequence of str
        The K class names.
    """
    path = Path(path)
    names = check_class_names(class_names)
    rows = []
    for image in sorted(annotations, key=str):
        if not isinstance(image, str) or not image.strip():
            raise InvalidInputError(f"image name {image!r} is not a non-empty string")
        for label, index in sorted(annotations[image].items()):
            if int(label) < 1 or not 1 <= int(index) <= len(names):
                raise InvalidInputError(
                    f"image {image!r}: label {label} -> class {index}; expected a label >= 1 "
                    f"and a class in 1..{len(names)}"
                )
            rows.append((image, int(label), names[int(index) - 1]))
    with _open_new(path, overwrite) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("image", "label", "class"))
        writer.writerows(rows)


def check_ids_in_mask(
    label_ids: Iterable[int],
    labels: np.ndarray,
    *,
    image: str,
    mask: str | os.PathLike[str],
    source: str | os.PathLike[str] | None = None,
    lines: dict[tuple[str, int], int] | None = None,
) -> None:
    """Raise naming the ``label_ids`` that ``labels`` (the mask of ``image``, read from the
    file ``mask``) lacks, with the rows of the annotations file ``source`` that give them
    (``lines``: from :func:`read_annotations_csv_lines`)."""
    ids = np.array([int(k) for k in label_ids], np.int64)
    missing = np.sort(ids[~np.isin(ids, labels)])
    if missing.size == 0:
        return
    shown = [int(v) for v in missing[:10]]
    more = f" and {missing.size - 10} more" if missing.size > 10 else ""
    one = missing.size == 1
    where = "" if source is None else f"{source}: "
    if source is not None and lines:
        rows = ", ".join(str(lines[image, v]) for v in shown)
        where = f"{source} row{'' if one else 's'} {rows}{more}: "
    raise InvalidInputError(
        f"{where}label{'' if one else 's'} {', '.join(map(str, shown))}{more} of image "
        f"{image!r} {'is' if one else 'are'} not in its label mask {mask}"
    )
