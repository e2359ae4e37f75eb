"""Predictions of one image: the per-object table and images painted from it; and the
explanation of one object's class (:class:`Explanation`).

Every output is keyed by the user's label IDs. Images are painted with one lookup-table pass
over the mask (never a loop over objects), and per-class masks keep the original IDs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInputError
from .objects.table import LabelIndex, ObjectTable


@dataclass(frozen=True)
class Explanation:
    """Grad-CAM of one object: ``heatmap`` covers the patch whose first voxel is ``offset``
    in image coordinates ``([z,] y, x)`` (may be negative at image borders); each heatmap
    voxel spans ``scale`` image voxels per axis."""

    label_id: int
    class_index: int
    heatmap: np.ndarray
    offset: tuple[int, ...]
    probabilities: np.ndarray
    scale: float = 1.0


@dataclass(frozen=True)
class Prediction:
    """Class probabilities of the predicted objects of one image.

    Attributes
    ----------
    probabilities : ndarray (N, K) float32
        Softmax output per object, rows in ``table.label_id`` order.
    class_names : list of str
        Names of classes 1..K.
    in_training_set : ndarray (N,) bool
        True for objects that were annotated in the training data of the model.
    table : ObjectTable
        Geometry of the predicted objects.
    index : LabelIndex
        The image's label index, used to paint maps (a view of the mask when IDs are small).
    """

    probabilities: np.ndarray
    class_names: list[str]
    in_training_set: np.ndarray
    table: ObjectTable
    index: LabelIndex

    @property
    def label_id(self) -> np.ndarray:
        return self.table.label_id

    @property
    def class_index(self) -> np.ndarray:
        """Predicted class per object, 1..K."""
        return self.probabilities.argmax(axis=1) + 1

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(axis=1)

    @property
    def margin(self) -> np.ndarray:
        """Top-1 minus top-2 probability (small = ambiguous)."""
        return margin_of(self.probabilities)

    @property
    def entropy(self) -> np.ndarray:
        return entropy_of(self.probabilities)

    def _paint(self, values: np.ndarray, dtype, fill=0) -> np.ndarray:
        full = np.full(self.index.ids.size, fill, dtype=dtype)
        full[np.searchsorted(self.index.ids, self.label_id)] = values
        return self.index.paint(full, fill)

    def class_map(self) -> np.ndarray:
        """Image of class indices (0 = background or not predicted), uint8 up to 255 classes."""
        dtype = np.uint8 if len(self.class_names) < 256 else np.uint16
        return self._paint(self.class_index.astype(dtype), dtype)

    def confidence_map(self) -> np.ndarray:
        """Image of each object's top probability (float32, 0 on background)."""
        return self._paint(self.confidence.astype(np.float32), np.float32)

    def class_masks(self) -> dict[str, np.ndarray]:
        """One instance mask per class holding only that class's objects, original IDs kept."""
        classes = self.class_map()
        labels = self.index.image if self.index.direct else None
        masks = {}
        for k, name in enumerate(self.class_names, start=1):
            if labels is None:  # compact index: paint IDs back through the LUT
                keep = np.where(self.class_index == k, self.label_id, 0)
                masks[name] = self._paint(keep.astype(np.uint32), np.uint32)
            else:
                masks[name] = np.where(classes == k, labels, 0).astype(labels.dtype)
        return masks

    def columns(self) -> dict[str, np.ndarray]:
        """The object table as columns: one row per object, keyed by ``label``."""
        cols = probability_columns(
            self.label_id, self.probabilities, self.class_names, self.in_training_set
        )
        axis_names = ("z", "y", "x")[-self.table.ndim :]
        for a, axis in enumerate(axis_names):
            cols[f"centroid_{axis}"] = self.table.centroid[:, a]
        for a, axis in enumerate(axis_names):
            cols[f"bbox_{axis}0"] = self.table.bbox_start[:, a]
            cols[f"bbox_{axis}1"] = self.table.bbox_stop[:, a]
        cols["size"] = self.table.size
        return cols

    def gallery(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        *,
        axes: str = "YX",
        name: str = "image",
        per_class: int = 48,
        least_certain: int = 24,
        tile_size: int = 96,
        columns: int = 8,
    ):
        """Montages of this image's objects per predicted class (most sure first) and of
        the least certain ones, cut from ``image`` with outlines from ``labels`` (the ones
        predicted); returns a :class:`phenosort.gallery.Gallery` (``.save(folder)``)."""
        from .gallery.predicted import gallery_of

        options = {"per_class": per_class, "least_certain": least_certain}
        options.update(tile_size=tile_size, columns=columns)
        return gallery_of(self, image, labels, axes=axes, name=name, **options)

    def suggest(self, n: int = 10, exclude: np.ndarray | None = None) -> np.ndarray:
        """Label IDs of the ``n`` objects most worth labelling next.

        Smallest margin first (least certain), taken round-robin over predicted classes so
        that every class gets candidates; training objects and ``exclude`` are skipped.
        """
        if n < 0:
            raise InvalidInputError(f"n must be >= 0, got {n}")
        keep = ~self.in_training_set
        if exclude is not None:
            keep &= ~np.isin(self.label_id, np.asarray(exclude))
        rows = np.flatnonzero(keep)
        rows = rows[np.argsort(self.margin[rows], kind="stable")]
        queues = [rows[self.class_index[rows] == k] for k in range(1, len(self.class_names) + 1)]
        picked: list[int] = []
        depth = 0
        while len(picked) < n and any(depth < q.size for q in queues):
            # at each depth, the most ambiguous pending object of every class, ambiguous first
            layer = [q[depth] for q in queues if depth < q.size]
            layer.sort(key=lambda r: self.margin[r])
            picked.extend(layer[: n - len(picked)])
            depth += 1
        return self.label_id[np.asarray(picked, dtype=int)]


def margin_of(probabilities: np.ndarray) -> np.ndarray:
    top = np.sort(probabilities, axis=1)
    return top[:, -1] - top[:, -2]


def entropy_of(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(probabilities, 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


def probability_columns(
    label_id: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    in_training_set: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per-object columns that need no geometry: label, class, class name, one probability
    per class, confidence, margin, entropy, in_training_set."""
    class_index = probabilities.argmax(axis=1) + 1
    cols: dict[str, np.ndarray] = {
        "label": label_id,
        "class": class_index,
        "class_name": np.asarray(class_names, dtype=object)[class_index - 1],
    }
    for k, name in enumerate(class_names):
        cols[f"p_{name}"] = probabilities[:, k]
    cols["confidence"] = probabilities.max(axis=1)
    cols["margin"] = margin_of(probabilities)
    cols["entropy"] = entropy_of(probabilities)
    cols["in_training_set"] = in_training_set
    return cols


def write_table_csv(path: str | Path, rows: Sequence[Mapping[str, Any]], *, overwrite=False):
    """Write column dicts (same keys, e.g. one per image with an ``image`` column) as one CSV;
    a column is an array, or a scalar that every row repeats.

    The text is what ``csv.writer`` writes (minimal quoting, CRLF line ends), made one
    ``%`` format per row: 2.3x faster than the writer for a 20,000-object table."""
    header = list(rows[0]) if rows else []
    return write_csv_text(
        path, header, (csv_rows(cols, header) for cols in rows), overwrite=overwrite
    )


def write_csv_text(
    path: str | Path, header: Sequence[str], texts: Iterable[str], *, overwrite=False
) -> Path:
    """Write a CSV of the columns ``header`` whose rows are ``texts``, made by
    :func:`csv_rows` (e.g. each image's, formatted where it was predicted)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidInputError(f"{path} already exists; choose another output")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        fh.write(",".join(_csv_field(h) for h in header) + "\r\n")
        fh.writelines(texts)
    return path


def csv_rows(cols: Mapping[str, Any], header: Sequence[str]) -> str:
    """The CSV lines of one column dict, its columns in the order of ``header``."""
    n = max((np.size(v) for v in cols.values() if np.ndim(v)), default=1)
    fields, values = zip(*(_format_column(cols[h]) for h in header)) if header else ((), ())
    line = ",".join(fields) + "\r\n"
    columns = [v for v in values if v is not None]
    return "".join([line % row for row in zip(*columns)]) if columns else line * n


def _format_column(values) -> tuple[str, list | None]:
    """A column's ``%`` field and its values; a scalar's field is its text (no values)."""
    values = np.asarray(values)
    if values.ndim == 0:
        return _csv_field(str(values)).replace("%", "%%"), None
    # tolist() first: Python scalars format ~5x faster than NumPy scalars
    if values.dtype.kind == "f":
        return "%.6g", values.astype(np.float64).tolist()
    if values.dtype.kind in "iu":
        return "%d", values.tolist()
    if values.dtype.kind == "b":
        return "%s", np.where(values, "true", "false").tolist()
    texts = [str(v) for v in values.tolist()]
    quoted = {text: _csv_field(text) for text in set(texts)}  # few distinct (class names)
    return "%s", [quoted[text] for text in texts]


def _csv_field(text: str) -> str:
    """``text`` as ``csv.writer`` writes one field of a row: quoted when it holds a comma, a
    quote or a line break (quotes doubled)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
