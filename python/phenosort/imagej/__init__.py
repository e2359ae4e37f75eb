"""phenosort from ImageJ: ImagePlus / ImageJ2 Dataset <-> numpy, ROIs -> annotations, and
classification results as ImageJ objects (class map, ResultsTable, ROIs by class).

Works in any JVM holding ImageJ 1 and the PhenoSort plugin jar: one started here by scyjava
(:func:`start_jvm`, offline, no downloads) or a pyimagej session (``imagej.init(Fiji.app)``
with the plugin in ``Fiji.app/plugins``). Nothing starts a JVM on import.
"""

from __future__ import annotations

from .convert import (
    ImageArray,
    calibration_of,
    from_imageplus,
    labels_from_imageplus,
    labels_to_imageplus,
    set_calibration,
    to_imageplus,
)
from .dataset import from_dataset, from_xarray, to_dataset, to_xarray
from .display import class_map_imageplus, object_rois, results_table, show_rois
from .jvm import JvmError, find_ij_jar, find_plugin_jar, is_headless, start_jvm
from .rois import annotations_from_imagej, annotations_from_java_rois, current_rois
from .workflow import ImageJClassification, add_training_data, classify, to_numpy, training_sample

__all__ = [
    "ImageArray",
    "ImageJClassification",
    "JvmError",
    "add_training_data",
    "annotations_from_imagej",
    "annotations_from_java_rois",
    "calibration_of",
    "class_map_imageplus",
    "classify",
    "current_rois",
    "find_ij_jar",
    "find_plugin_jar",
    "from_dataset",
    "from_imageplus",
    "from_xarray",
    "is_headless",
    "labels_from_imageplus",
    "labels_to_imageplus",
    "object_rois",
    "results_table",
    "set_calibration",
    "show_rois",
    "start_jvm",
    "to_dataset",
    "to_imageplus",
    "to_numpy",
    "to_xarray",
    "training_sample",
]
