"""Reading images and instance masks, pairing them on disk, and writing ImageJ-compatible results.

Images come back with tifffile's axes (``S`` -> ``C``); axes that a plain TIFF cannot state
(tifffile's ``Q``, ``I``) stay in the returned :class:`ImageData` until :func:`match_axes`
resolves them against the mask. Written TIFFs open in ImageJ/Fiji with their calibration, and a
class map shows class k in the colour of ImageJ ROI group k (see :func:`glasbey_lut`).

Modules: :mod:`.read` (an image or a mask, and the image's axes against the mask),
:mod:`.pairs` (images and masks paired by file name in folders, and loaded together),
:mod:`.write` (class maps, label images and float maps as ImageJ TIFFs), :mod:`.glasbey`
(the colours of ImageJ's ROI groups), :mod:`.calibration` (voxel size and unit from TIFF
metadata), :mod:`.file_names` (which files are images, and their stems).
"""

from .file_names import IMAGE_EXTENSIONS
from .glasbey import glasbey_lut
from .pairs import Pair, find_pairs, find_sample_pairs, load_pair
from .read import ImageData, match_axes, read_image, read_labels
from .write import write_class_map, write_float_image, write_label_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageData",
    "Pair",
    "find_pairs",
    "find_sample_pairs",
    "glasbey_lut",
    "load_pair",
    "match_axes",
    "read_image",
    "read_labels",
    "write_class_map",
    "write_float_image",
    "write_label_image",
]
