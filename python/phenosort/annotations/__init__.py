"""Class annotations: CSV tables and ImageJ ROI sets in, ImageJ ROI sets out.

Class indices are 1..K and ``class_names[k - 1]`` names class ``k``. The annotations of one
image are a ``dict[int, int]`` (object label ID -> class index).

Modules: :mod:`.csv_table` (``image,label,class`` tables, and label IDs checked against a
mask), :mod:`.from_rois` (ImageJ ROIs -> annotations, with the rules that give a ROI its
class), :mod:`.to_rois` (objects -> ImageJ ROIs and ROI zips), :mod:`.checks` (the class
name and label mask checks they share).
"""

from .csv_table import (
    check_ids_in_mask,
    read_annotations_csv,
    read_annotations_csv_lines,
    write_annotations_csv,
)
from .from_rois import RoiAnnotations, annotations_from_rois, read_roi_annotations
from .to_rois import rois_for_objects, write_roi_zip

__all__ = [
    "RoiAnnotations",
    "annotations_from_rois",
    "check_ids_in_mask",
    "read_annotations_csv",
    "read_annotations_csv_lines",
    "read_roi_annotations",
    "rois_for_objects",
    "write_annotations_csv",
    "write_roi_zip",
]
