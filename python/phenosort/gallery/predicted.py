"""The class gallery of predictions: per class, the objects predicted in it from the most to
the least sure (spread over the confidence ranking), and the least certain objects overall."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError
from ..montage import display_range
from ..results import Prediction
from .drawing import Source, draw
from .montages import LEAST_CERTAIN, Gallery, Montage, Tile, montage_file


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
    from ..classes import class_colors

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
