"""A gallery's parts: its tiles (one object each) in montages, the manifest that maps each tile
to its object and its box in the PNG, and the files a gallery is saved as. The montages' pixels
are drawn by :mod:`phenosort.montage`."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..montage import Drawn, save_png

LEAST_CERTAIN = "least_certain"
MANIFEST = "gallery.csv"
MANIFEST_COLUMNS = (
    "montage", "file", "position", "row", "column", "x0", "y0", "x1", "y1", "image", "label",
    "class", "class_name", "confidence", "margin", "true_class", "true_class_name", "mark",
)  # fmt: skip


@dataclass(frozen=True)
class Tile:
    """One object of a montage. ``class_index`` is the predicted class (1..K);
    ``true_class`` the labelled one (training galleries; 0 when unknown); ``mark`` is
    ``wrong``, ``unsure`` or empty."""

    image: str
    label_id: int
    class_index: int
    class_name: str
    confidence: float
    margin: float
    true_class: int = 0
    true_class_name: str = ""
    mark: str = ""

    def caption(self) -> tuple[str, str]:
        first = f"{self.image} #{self.label_id}"
        if self.mark == "wrong":
            return first, f"as {self.class_name} {self.confidence:.2f}"
        return first, f"{self.class_name} {self.confidence:.2f}"


@dataclass(frozen=True)
class Montage:
    """A montage: its tiles in order, and (once drawn) its pixels and tile boxes."""

    name: str
    title: str
    tiles: list[Tile]
    file_name: str
    drawn: Drawn | None = None


@dataclass
class Gallery:
    """Montages of one or more images; :meth:`save` writes a PNG each and the manifest."""

    montages: list[Montage]
    class_colors: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Montage:
        for m in self.montages:
            if m.name == name:
                return m
        raise KeyError(f"no montage {name!r}; montages: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.montages]

    def manifest(self) -> list[dict]:
        """One row per tile: montage, file, position (0-based), row, column, box in the
        PNG's pixels, image, label (the user's ID), class, class_name, confidence, margin,
        true class (training galleries) and mark."""
        rows = []
        for m in self.montages:
            boxes = m.drawn.boxes if m.drawn is not None else np.zeros((len(m.tiles), 4), int)
            columns = _columns_of(boxes)
            for i, (t, box) in enumerate(zip(m.tiles, boxes)):
                rows.append(
                    {
                        "montage": m.name,
                        "file": m.file_name,
                        "position": i,
                        "row": i // columns,
                        "column": i % columns,
                        **dict(zip(("x0", "y0", "x1", "y1"), (int(v) for v in box))),
                        "image": t.image,
                        "label": t.label_id,
                        "class": t.class_index,
                        "class_name": t.class_name,
                        "confidence": round(t.confidence, 6),
                        "margin": round(t.margin, 6),
                        "true_class": t.true_class,
                        "true_class_name": t.true_class_name,
                        "mark": t.mark,
                    }
                )
        return rows

    def output_paths(self, out: str | Path) -> list[Path]:
        out = Path(out)
        return [out / m.file_name for m in self.montages] + [out / MANIFEST]

    def save(self, out: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write ``<montage>.png`` per montage and ``gallery.csv`` into folder ``out``;
        existing files are replaced only with ``overwrite``."""
        paths = self.output_paths(out)
        taken = [p for p in paths if p.exists()]
        if taken and not overwrite:
            raise InvalidInputError(
                f"gallery outputs exist already ({taken[0]}, ...); use --overwrite or another --out"
            )
        Path(out).mkdir(parents=True, exist_ok=True)
        for m, path in zip(self.montages, paths):
            if m.drawn is None:
                raise InvalidInputError(f"montage {m.name!r} has not been drawn")
            save_png(path, m.drawn.pixels)
        with open(paths[-1], "w", newline="") as fh:
            writer = csv.DictWriter(fh, MANIFEST_COLUMNS)
            writer.writeheader()
            writer.writerows(self.manifest())
        return paths


def _columns_of(boxes: np.ndarray) -> int:
    """Tiles per row of a drawn montage (from its boxes: the first row's tiles share y0)."""
    if len(boxes) == 0:
        return 1
    return max(1, int((boxes[:, 1] == boxes[0, 1]).sum()))


def _safe(name: str) -> str:
    """A file name part for a class name (which may hold spaces, slashes, ...)."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "class"


def montage_file(k: int, class_name: str, prefix: str = "") -> str:
    """``<prefix><k>-<class>.png``: the class index keeps names unique (``a b`` and ``a_b``,
    or a class called ``least_certain``) and the files in class order."""
    return f"{prefix}{k}-{_safe(class_name)}.png"


def gallery_paths(out: str | Path, class_names: Sequence[str], least_certain: int) -> list[Path]:
    """The files :meth:`Gallery.save` writes for these classes (checked before predicting)."""
    out = Path(out)
    files = [montage_file(k, n) for k, n in enumerate(class_names, start=1)]
    files += [f"{LEAST_CERTAIN}.png"] if least_certain else []
    return [out / f for f in files] + [out / MANIFEST]
