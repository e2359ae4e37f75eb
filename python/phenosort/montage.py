"""Tiles of objects as a person sees them, and montages of tiles with captions.

A tile is the crop of the *image* around one object (not the network's normalised patch),
scaled to a display range, with the object's outline drawn, so that a biologist sees the
cell as it is in the image. 3D objects show the plane of their largest cross-section.
Montages are drawn with matplotlib (Agg, no global backend change); every tile's box in
the PNG's pixels is returned, so a tile can be mapped back to its object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .axes import to_channel_first
from .errors import InvalidInputError

OUTLINE = (255, 255, 0)  # yellow: visible on dark fluorescence and on bright brightfield
#: tile marks as black-and-white dashed frames, (thickness, dash) in pixels at a 96-pixel
#: tile: a pattern, never a flat colour, so no class colour (Glasbey, class 2 is red) can be
#: taken for a mark. ``wrong``: thick, long dashes; ``unsure``: thin, short dashes.
FRAMES = {"wrong": (5, 8), "unsure": (2, 3)}
FRAME_COLORS = ((0, 0, 0), (255, 255, 255))
_CAPTION_PX = 30  # two lines of 7 pt text under each tile
_TITLE_PX = 34
_PAD = 6
_DPI = 100
_MAX_PIXELS = 1 << 20  # voxels sampled to estimate a display range


def display_range(image: np.ndarray, axes: str = "YX") -> np.ndarray:
    """``(C, 2)`` per-channel (0.5, 99.8) percentiles of ``image``: the grey levels that map
    to black and white in tiles (sampled: a huge image is not sorted)."""
    image_cf = to_channel_first(image, axes)
    flat = image_cf.reshape(image_cf.shape[0], -1)
    step = max(1, flat.shape[1] // _MAX_PIXELS)
    sample = flat[:, ::step].astype(np.float64)
    low, high = np.percentile(sample, [0.5, 99.8], axis=1)
    # a flat image still gets a range that float32 pixels resolve (at 1.8e19, 1e-6 is nothing)
    return np.stack([low, np.maximum(high, low + np.maximum(1e-6, np.abs(low) * 1e-3))], axis=1)


def _to_rgb(plane_cf: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``(C, Y, X)`` -> ``(Y, X, 3)`` floats in [0, 1]: grey for 1 channel, magenta/green
    for 2, the first three as RGB otherwise (as ImageJ's composite colours)."""
    low, high = window[:, 0, None, None], window[:, 1, None, None]
    scaled = np.clip((plane_cf.astype(np.float64) - low) / (high - low), 0, 1)
    c = scaled.shape[0]
    if c == 1:
        return np.repeat(scaled[0][..., None], 3, axis=2)
    if c == 2:
        return np.stack([scaled[0], scaled[1], scaled[0]], axis=2)
    return np.moveaxis(scaled[:3], 0, 2)


def object_tile(
    image_cf: np.ndarray,
    labels: np.ndarray,
    label_id: int,
    bbox_start: Sequence[int],
    bbox_stop: Sequence[int],
    window: np.ndarray,
    *,
    size: int = 96,
) -> np.ndarray:
    """The ``(size, size, 3)`` uint8 tile of one object: a square crop centred on its
    bounding box (1.6x its larger in-plane extent, padded black outside the image), with
    the object's outline in yellow. ``image_cf`` is ``(C, [Z,] Y, X)``."""
    from skimage.transform import resize

    start, stop = np.asarray(bbox_start, int), np.asarray(bbox_stop, int)
    if labels.ndim == 3:  # the plane of the largest cross-section
        box = labels[start[0] : stop[0], start[1] : stop[1], start[2] : stop[2]] == label_id
        z = int(start[0] + box.sum(axis=(1, 2)).argmax())
        image_cf, labels = image_cf[:, z], labels[z]
        start, stop = start[1:], stop[1:]
    extent = int((stop - start).max())
    side = max(16, int(math.ceil(extent * 1.6)) + 8)
    centre = (start + stop) // 2
    lo = centre - side // 2
    crop = np.zeros((image_cf.shape[0], side, side), np.float32)
    crop[:] = window[:, 0, None, None]  # outside the image: the black level
    mask = np.zeros((side, side), bool)
    src_lo = np.maximum(lo, 0)
    src_hi = np.minimum(lo + side, labels.shape)
    dst_lo = src_lo - lo
    dst_hi = dst_lo + (src_hi - src_lo)
    if np.all(src_hi > src_lo):
        ys, xs = slice(src_lo[0], src_hi[0]), slice(src_lo[1], src_hi[1])
        yd, xd = slice(dst_lo[0], dst_hi[0]), slice(dst_lo[1], dst_hi[1])
        crop[:, yd, xd] = image_cf[:, ys, xs]
        mask[yd, xd] = labels[ys, xs] == label_id
    rgb = resize(_to_rgb(crop, window), (size, size, 3), order=1, anti_aliasing=side > size)
    mask = resize(mask, (size, size), order=0, anti_aliasing=False).astype(bool)
    outline = mask & ~ndimage.binary_erosion(mask, iterations=max(1, size // 64))
    tile = (rgb * 255 + 0.5).astype(np.uint8)
    tile[outline] = OUTLINE
    return tile


@dataclass(frozen=True)
class Drawn:
    """A rendered montage: ``pixels`` ``(H, W, 3)`` uint8 and each tile's box
    ``(x0, y0, x1, y1)`` in those pixels (x1, y1 exclusive), in tile order."""

    pixels: np.ndarray
    boxes: np.ndarray


def draw_montage(
    tiles: Sequence[np.ndarray],
    captions: Sequence[tuple[str, str]],
    *,
    title: str,
    swatches: Sequence[str] | None = None,
    frames: Sequence[str] | None = None,
    columns: int = 8,
) -> Drawn:
    """Lay ``tiles`` out row by row, ``columns`` per row, two caption lines under each.

    ``swatches``: a colour (``#rrggbb``) per tile shown before its second caption line
    (the class colour); ``frames``: ``""``, ``"wrong"`` or ``"unsure"`` per tile (a
    black-and-white dashed frame, thick with long dashes or thin with short ones: see
    :data:`FRAMES`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if columns < 1:
        raise InvalidInputError(f"columns must be >= 1, got {columns}")
    n = len(tiles)
    if len(captions) != n:
        raise InvalidInputError(f"{n} tiles but {len(captions)} captions")
    size = tiles[0].shape[0] if n else 96
    cols = min(columns, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    cell_w, cell_h = size + _PAD, size + _CAPTION_PX + _PAD
    width = max(cols * cell_w + _PAD, 360)  # room for the title
    height = _TITLE_PX + rows * cell_h
    canvas = np.full((height, width, 3), 255, np.uint8)
    boxes = np.zeros((n, 4), np.int64)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        x0, y0 = _PAD + c * cell_w, _TITLE_PX + r * cell_h
        canvas[y0 : y0 + size, x0 : x0 + size] = tile
        frame = (frames or [""] * n)[i]
        if frame:
            _frame(canvas, x0, y0, size, FRAMES[frame])
        boxes[i] = (x0, y0, x0 + size, y0 + size)

    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(canvas, interpolation="nearest", extent=(0, width, height, 0))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    ax.text(_PAD, _TITLE_PX / 2, title, fontsize=10, va="center", ha="left", weight="bold")
    if not n:
        ax.text(_PAD, _TITLE_PX + size / 2, "no objects", fontsize=9, va="center", color="0.4")
    chars = max(6, int(size / 5.2))  # 7 pt DejaVu Sans: ~5.2 px per character at 100 dpi
    for i, (first, second) in enumerate(captions):
        x0, y1 = boxes[i, 0], boxes[i, 3]
        ax.text(x0, y1 + 2, _fit(first, chars), fontsize=7, va="top", ha="left")
        dx = 0
        if swatches is not None:
            ax.add_patch(_square(x0, y1 + 16, swatches[i]))
            dx = 10
        ax.text(x0 + dx, y1 + 15, _fit(second, chars - 2), fontsize=7, va="top", ha="left")
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()  # type: ignore[attr-defined]
    return Drawn(pixels, boxes)


def _frame(canvas: np.ndarray, x0: int, y0: int, size: int, style: tuple[int, int]) -> None:
    """A dashed frame inside the tile's edge: dashes alternate black and white along the
    border (``style``: thickness and dash length at a 96-pixel tile, scaled to ``size``)."""
    width = max(1, round(style[0] * size / 96))
    dash = max(2, round(style[1] * size / 96))
    ring = np.zeros((size, size), bool)
    ring[:width], ring[-width:], ring[:, :width], ring[:, -width:] = True, True, True, True
    yy, xx = np.mgrid[:size, :size]
    phase = ((xx + yy) // dash) % 2  # dashes run along both edges and meet at the corners
    box = canvas[y0 : y0 + size, x0 : x0 + size]
    for k, color in enumerate(FRAME_COLORS):
        box[ring & (phase == k)] = color


def _square(x: float, y: float, color: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 8, 8, facecolor=color, edgecolor="0.3", linewidth=0.5)


def _fit(text: str, chars: int) -> str:
    """``text`` shortened in the middle to ``chars`` characters (image names can be long;
    the manifest keeps them whole)."""
    if len(text) <= chars:
        return text
    keep = chars - 1
    return text[: (keep + 1) // 2] + "…" + text[len(text) - keep // 2 :]


def png_bytes(pixels: np.ndarray) -> bytes:
    """An ``(H, W, 3)`` uint8 array as PNG file bytes."""
    import io

    buffer = io.BytesIO()
    save_png(buffer, pixels)
    return buffer.getvalue()


def save_png(path, pixels: np.ndarray) -> None:
    """Write an ``(H, W, 3)`` uint8 array as a PNG (``path`` checked by the caller)."""
    from matplotlib.image import imsave

    imsave(path, pixels, format="png")
