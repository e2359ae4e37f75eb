"""Class galleries: the objects themselves, sorted by class and by how sure the model is.

For each class, a montage of the objects predicted in it, from the most to the least sure
(with more objects than ``per_class``, tiles are taken evenly across the confidence ranking,
so the montage spans the score range, as CellProfiler Analyst's bins do); and one montage
of the least certain objects overall (smallest margin between the two top classes). Every
tile is keyed by its image and the user's label ID; :meth:`Gallery.manifest` lists them
with their position in the PNG, so a front end can map a click on a tile to its object.

Tiles of all images share one display range (the median of the images' ranges), so that
brightness compares across tiles.

Modules: :mod:`.montages` (tiles, montages, the manifest and the files a gallery is saved
as), :mod:`.predicted` (the class gallery of predictions: which objects, in which order),
:mod:`.labelled` (the training gallery of labelled objects, least sure first),
:mod:`.drawing` (tiles cut from their images and drawn as montages).
"""

from .drawing import Loader, Source, draw
from .labelled import UNSURE, labelled_tiles, training_gallery
from .montages import (
    LEAST_CERTAIN,
    MANIFEST,
    MANIFEST_COLUMNS,
    Gallery,
    Montage,
    Tile,
    gallery_paths,
    montage_file,
)
from .predicted import build_gallery, gallery_of, prediction_tiles, select, spread

__all__ = [
    "LEAST_CERTAIN",
    "MANIFEST",
    "MANIFEST_COLUMNS",
    "UNSURE",
    "Gallery",
    "Loader",
    "Montage",
    "Source",
    "Tile",
    "build_gallery",
    "draw",
    "gallery_of",
    "gallery_paths",
    "labelled_tiles",
    "montage_file",
    "prediction_tiles",
    "select",
    "spread",
    "training_gallery",
]
