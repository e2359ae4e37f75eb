"""The Gallery RPC's parts: its checked options, and a drawn :class:`~phenosort.gallery.Gallery`
as ``GalleryMontage`` messages (the montages are the ones ``phenosort gallery`` draws)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..gallery.montages import LEAST_CERTAIN, Gallery, Montage, Tile, montage_file
from ..montage import Drawn, png_bytes
from ..results import Prediction
from ..v1 import phenosort_pb2 as pb
from .codec import TensorTooLargeError

#: request field: (default for 0, lowest, highest)
BOUNDS = {
    "per_class": (48, 1, 1000),
    "least_certain": (24, 1, 1000),
    "tile_size": (96, 16, 256),
    "columns": (8, 1, 64),
}


@dataclass(frozen=True)
class GalleryOptions:
    """The montage options of a ``GalleryRequest``, defaults filled in and bounds checked."""

    per_class: int
    least_certain: int
    tile_size: int
    columns: int

    @classmethod
    def of(cls, request: pb.GalleryRequest) -> GalleryOptions:
        values = {}
        for name, (default, low, high) in BOUNDS.items():
            value = int(getattr(request, name))
            if value == 0:
                value = default
            elif not low <= value <= high:
                raise InvalidInputError(f"{name} must be {low}..{high} (0: {default}), got {value}")
            values[name] = value
        if request.no_least_certain:
            values["least_certain"] = 0
        return cls(**values)


def gallery_messages(
    gallery: Gallery, pred: Prediction, image_name: str, columns: int, max_bytes: int
) -> Iterator[pb.GalleryMontage]:
    """One message per montage, in the gallery's order (classes 1..K, then least certain);
    a montage whose message would exceed ``max_bytes`` is refused (RESOURCE_EXHAUSTED)."""
    counts = np.bincount(pred.class_index, minlength=len(pred.class_names) + 1)
    n_classes = len(pred.class_names)
    for i, m in enumerate(gallery.montages):  # classes 1..K first (a class may be called
        if m.drawn is None:  # "least_certain" too), then the least certain montage
            raise InvalidInputError(f"montage {m.name!r} has not been drawn")
        least = i >= n_classes
        k = 0 if least else i + 1
        tiles = [
            pb.GalleryTile(
                label=t.label_id, class_index=t.class_index, class_name=t.class_name,
                confidence=t.confidence, margin=t.margin, x0=int(box[0]), y0=int(box[1]),
                x1=int(box[2]), y1=int(box[3]), image=image_name,
            )
            for t, box in zip(m.tiles, m.drawn.boxes)
        ]  # fmt: skip
        message = pb.GalleryMontage(
            name=m.name,
            class_index=k,
            title=m.title,
            n_objects=int(pred.label_id.size if least else counts[k]),
            tiles=tiles,
            png=png_bytes(m.drawn.pixels),
            columns=min(columns, max(len(tiles), 1)),
            class_colors=gallery.class_colors,
        )
        if message.ByteSize() > max_bytes:
            raise TensorTooLargeError(
                f"the {m.name!r} montage is {message.ByteSize()} bytes, over the server's "
                f"message limit of {max_bytes}: ask for fewer tiles (per_class, "
                "least_certain) or a smaller tile_size"
            )
        yield message


def gallery_from_messages(messages: list[pb.GalleryMontage]) -> Gallery:
    """The :class:`Gallery` a client gets back from the server's messages (PNGs decoded,
    tiles and boxes as sent), so it saves and lists its tiles as a local one does."""
    montages = []
    for msg in messages:
        tiles = [
            Tile(t.image, int(t.label), t.class_index, t.class_name, t.confidence, t.margin)
            for t in msg.tiles
        ]
        boxes = np.array([(t.x0, t.y0, t.x1, t.y1) for t in msg.tiles], np.int64).reshape(-1, 4)
        file_name = (
            montage_file(msg.class_index, msg.name) if msg.class_index else f"{LEAST_CERTAIN}.png"
        )
        drawn = Drawn(_decode_png(msg.png), boxes)
        montages.append(Montage(msg.name, msg.title, tiles, file_name, drawn))
    colors = list(messages[0].class_colors) if messages else []
    return Gallery(montages, colors)


def _decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> ``(H, W, 3)`` uint8."""
    import io

    from matplotlib.image import imread

    pixels = imread(io.BytesIO(data), format="png")
    if pixels.dtype != np.uint8:
        pixels = (pixels * 255 + 0.5).astype(np.uint8)
    return pixels[..., :3]
