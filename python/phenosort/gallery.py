"""Class galleries: the objects themselves, sorted by class and by how sure the model is.

For each class, a montage of the objects predicted in it, from the most to the least sure
(with more objects than ``per_class``, tiles are taken evenly across the confidence ranking,
so the montage spans the score range, as CellProfiler Analyst's bins do); and one montage
of the least certain objects overall (smallest margin between the two top classes). Every
tile is keyed by its image and the user's label ID; :meth:`Gallery.manifest` lists them
with their position in the PNG, so a front end can map a click on a tile to its object.

Tiles of all images share one display range (the median of the images' ranges), so that
brightness compares across tiles.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .axes import to_channel_first
from .errors import InvalidInputError
from .montage import Drawn, display_range, draw_montage, object_tile, save_png
from .results import Prediction

LEAST_CERTAIN = "least_certain"
MANIFEST = "gallery.csv"
MANIFEST_COLUMNS = (
    "montage", "file", "position", "row", "column", "x0", "y0", "x1", "y1", "image", "label",
    "class", "class_name", "confidence", "margin", "true_class", "true_class_name", "mark",
)  # fmt: skip

#: loads ``(image, labels, axes)`` of one image when its tiles are cut
Loader = Callable[[], tuple[np.ndarray, np.ndarray, str]]


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


# ---------------------------------------------------------------------- selection
def prediction_tiles(name: str, pred: Prediction) -> list[Tile]:
    """A :class:`Tile` for every object of ``pred`` (image ``name``)."""
    k, conf, margin = pred.class_index, pred.confidence, pred.margin
    return [
        Tile(name, int(i), int(c), pred.class_names[c - 1], float(p), float(m))
        for i, c, p, m in zip(pred.label_id, k, conf, margin)
    ]


def spread(n_items: int, n: int) -> np.ndarray:
    """``n`` indices evenly across ``range(n_items)``, both ends included (all if fewer)."""
    if n_items <= n:
        return np.arange(n_items)
    if n <= 1:
        return np.zeros(min(n, 1), int)
    return np.unique(np.round(np.linspace(0, n_items - 1, n)).astype(int))


def select(
    tiles: Sequence[Tile],
    class_names: Sequence[str],
    *,
    per_class: int = 48,
    least_certain: int = 24,
) -> list[Montage]:
    """The montages' tiles: per class, the objects predicted in it, most sure first
    (``per_class`` of them spread over the ranking), then the ``least_certain`` objects of
    smallest margin (0 leaves that montage out). Ties go by image, then label ID."""
    if per_class < 1 or least_certain < 0:
        raise InvalidInputError(
            f"per_class must be >= 1 and least_certain >= 0, got {per_class}, {least_certain}"
        )
    montages = []
    for k, name in enumerate(class_names, start=1):
        members = sorted(
            (t for t in tiles if t.class_index == k),
            key=lambda t: (-t.confidence, t.image, t.label_id),
        )
        chosen = [members[i] for i in spread(len(members), per_class)]
        title = f"{name}: {len(chosen)} of {len(members)} objects, most sure first"
        montages.append(Montage(name, title, chosen, montage_file(k, name)))
    if least_certain:
        ranked = sorted(tiles, key=lambda t: (t.margin, t.image, t.label_id))[:least_certain]
        title = f"least certain: {len(ranked)} of {len(tiles)} objects, smallest margin first"
        montages.append(Montage(LEAST_CERTAIN, title, ranked, f"{LEAST_CERTAIN}.png"))
    return montages


# ---------------------------------------------------------------------- drawing
@dataclass(frozen=True)
class Source:
    """One image of a gallery: its name, its prediction, how to load its pixels (only
    images with chosen tiles are loaded) and, optionally, its display range
    (:func:`~phenosort.montage.display_range`)."""

    name: str
    prediction: Prediction | None
    load: Loader
    window: np.ndarray | None = None


def draw(
    montages: Sequence[Montage],
    sources: Iterable[Source],
    class_colors: Sequence[str],
    *,
    tile_size: int = 96,
    columns: int = 8,
    window: np.ndarray | None = None,
) -> Gallery:
    """Cut the tiles of ``montages`` from their images (each image loaded once) and draw
    the montages. ``window``: the display range (default: the median of the sources')."""
    if tile_size < 16:
        raise InvalidInputError(f"tile_size must be >= 16 pixels, got {tile_size}")
    by_name = {s.name: s for s in sources}
    wanted: dict[str, set[int]] = {}
    for m in montages:
        for t in m.tiles:
            if t.image not in by_name:
                raise InvalidInputError(f"tile of label {t.label_id} names unknown image {t.image}")
            wanted.setdefault(t.image, set()).add(t.label_id)
    crops: dict[tuple[str, int], np.ndarray] = {}
    windows = [s.window for s in by_name.values() if s.window is not None]
    for name, ids in wanted.items():
        image, labels, axes = by_name[name].load()
        image_cf = to_channel_first(image, axes)
        shared = window
        if shared is None and windows:
            shared = np.median(windows, axis=0)
        elif shared is None:
            shared = display_range(image_cf, _cf(image_cf))
        crops.update(_cut(name, image_cf, np.asarray(labels), sorted(ids), shared, tile_size))
    drawn = []
    for m in montages:
        result = draw_montage(
            [crops[(t.image, t.label_id)] for t in m.tiles],
            [t.caption() for t in m.tiles],
            title=m.title,
            swatches=[class_colors[t.class_index - 1] for t in m.tiles],
            frames=[t.mark for t in m.tiles],
            columns=columns,
        )
        drawn.append(replace(m, drawn=result))
    return Gallery(drawn, list(class_colors))


def _cf(image_cf: np.ndarray) -> str:
    return "CZYX" if image_cf.ndim == 4 else "CYX"


def _cut(name, image_cf, labels, ids, window, size) -> dict[tuple[str, int], np.ndarray]:
    from .objects.table import object_table

    table = object_table(labels)
    rows = table.rows(ids)  # errors name IDs that are not in the mask
    if window.shape[0] != image_cf.shape[0]:
        raise InvalidInputError(
            f"image {name} has {image_cf.shape[0]} channel(s), the display range "
            f"{window.shape[0]}: gallery images must share their channels"
        )
    crops = {}
    for r in rows:
        label_id = int(table.label_id[r])
        crops[(name, label_id)] = object_tile(
            image_cf, labels, label_id, table.bbox_start[r], table.bbox_stop[r], window, size=size
        )
    return crops


def build_gallery(
    sources: Sequence[Source],
    class_names: Sequence[str],
    *,
    per_class: int = 48,
    least_certain: int = 24,
    tile_size: int = 96,
    columns: int = 8,
) -> Gallery:
    """The class gallery of the predictions of ``sources`` (one or more images)."""
    from .classifier import class_colors

    tiles = [
        t
        for s in sources
        if s.prediction is not None
        for t in prediction_tiles(s.name, s.prediction)
    ]
    montages = select(tiles, class_names, per_class=per_class, least_certain=least_certain)
    return draw(
        montages, sources, class_colors(len(class_names)), tile_size=tile_size, columns=columns
    )


def gallery_of(
    pred: Prediction,
    image: np.ndarray,
    labels: np.ndarray,
    *,
    axes: str = "YX",
    name: str = "image",
    **options,
) -> Gallery:
    """The class gallery of one image's prediction (see :meth:`Prediction.gallery`)."""
    source = Source(name, pred, lambda: (image, labels, axes), display_range(image, axes))
    return build_gallery([source], pred.class_names, **options)


# ---------------------------------------------------------------------- labelled objects
UNSURE = 0.75  # a right prediction below this probability of the labelled class is "unsure"


def labelled_tiles(clf, sample, *, name: str = "") -> list[Tile]:
    """A tile per annotated object of ``sample`` (a :class:`~phenosort.classifier.Sample`)
    with the model's prediction, its labelled class and a mark: ``wrong`` (predicted as
    another class) or ``unsure`` (right, with probability of the labelled class < 0.75).
    ``confidence`` is the probability of the predicted class, ``margin`` the one of the
    labelled class."""
    ids = sorted(int(k) for k in sample.annotations)
    truth = {
        int(k): clf.resolve_class(v, sample.name, int(k)) for k, v in sample.annotations.items()
    }
    pred = clf.predict(
        sample.image, sample.labels, axes=sample.axes, voxel_size=sample.voxel_size, label_ids=ids
    )
    tiles = []
    for label_id, probs in zip(pred.label_id, pred.probabilities):
        k, true = int(probs.argmax()) + 1, truth[int(label_id)]
        p_true = float(probs[true - 1])
        mark = "wrong" if k != true else ("unsure" if p_true < UNSURE else "")
        tiles.append(
            Tile(
                name or sample.name, int(label_id), k, clf.class_names[k - 1],
                float(probs.max()), p_true, true, clf.class_names[true - 1], mark,
            )
        )  # fmt: skip
    return tiles


def training_gallery(
    clf, samples: Sequence, *, per_class: int = 32, tile_size: int = 96, columns: int = 8
) -> Gallery:
    """Per labelled class, its objects with the least sure first (lowest probability of the
    labelled class, so the wrong ones lead), ``per_class`` of them."""
    from .classifier import class_colors

    names = [s.name or f"sample {i + 1}" for i, s in enumerate(samples)]
    tiles = [t for s, n in zip(samples, names) for t in labelled_tiles(clf, s, name=n)]
    montages = []
    for k, class_name in enumerate(clf.class_names, start=1):
        members = sorted(
            (t for t in tiles if t.true_class == k), key=lambda t: (t.margin, t.image, t.label_id)
        )
        chosen = members[:per_class]
        wrong = sum(t.mark == "wrong" for t in members)
        title = (
            f"labelled {class_name}: {len(chosen)} of {len(members)}, least sure first "
            f"({wrong} predicted as another class)"
        )
        file_name = montage_file(k, class_name, "labelled-")
        montages.append(Montage(class_name, title, chosen, file_name))
    sources = [
        Source(n, None, _loader(s), display_range(s.image, s.axes)) for s, n in zip(samples, names)
    ]
    return draw(
        montages, sources, class_colors(len(clf.class_names)), tile_size=tile_size, columns=columns
    )


def _loader(sample) -> Loader:
    return lambda: (sample.image, sample.labels, sample.axes)
