"""Which files are images (by extension, in any case) and their stems, the names that pair an
image with its mask."""

from __future__ import annotations

from pathlib import Path

# Longest first, so "a.ome.tif" has the stem "a" and not "a.ome".
IMAGE_EXTENSIONS = (".ome.tiff", ".ome.tif", ".tiff", ".tif", ".png", ".jpeg", ".jpg", ".bmp")
TIFF_EXTENSIONS = (".tif", ".tiff")


def image_stem(name: str) -> str | None:
    """File name without its image extension, or ``None`` if it is not an image file."""
    lower = name.lower()
    ext = next((e for e in IMAGE_EXTENSIONS if lower.endswith(e) and len(name) > len(e)), None)
    return None if ext is None else name[: -len(ext)]


def is_tiff(path: Path) -> bool:
    """Whether the file name ends in ``.tif`` or ``.tiff`` (any case)."""
    return path.name.lower().endswith(TIFF_EXTENSIONS)
