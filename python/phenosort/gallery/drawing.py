"""Tiles cut from their images (each image loaded once, one display range for all) and drawn
as montages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..axes import to_channel_first
from ..errors import InvalidInputError
from ..montage import display_range, draw_montage, object_tile
from ..results import Prediction
from .montages import Gallery, Montage

#: loads ``(image, labels, axes)`` of one image when its tiles are cut
Loader = Callable[[], tuple[np.ndarray, np.ndarray, str]]


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
    from ..objects.table import object_table

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
