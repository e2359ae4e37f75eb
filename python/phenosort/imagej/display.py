"""Classification results as ImageJ objects, laid out as the plugin's Classify Objects does:
an 8-bit class map with the Glasbey LUT (class k = colour of ROI group k), a ResultsTable
with one row per object, and outline ROIs grouped by class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..dataio.glasbey import glasbey_lut
from ..errors import InvalidInputError
from .convert import calibration_of, to_imageplus
from .jvm import is_headless, jclass


def _jlist(items: Sequence[str]):
    out = jclass("java.util.ArrayList")()
    for item in items:
        out.add(item)
    return out


def glasbey_imagej_lut():
    """phenosort's Glasbey palette (entry 0 black) as an ``ij.process.LUT``."""
    import jpype

    lut = glasbey_lut()
    r, g, b = (jpype.JArray(jpype.JByte)(lut[:, i].view(np.int8).copy()) for i in range(3))
    return jclass("ij.process.LUT")(r, g, b)


def class_map_imageplus(
    class_map: np.ndarray, class_names: Sequence[str], *, like=None, title: str = "classes"
):
    """The class map (0 = background, k = class k) as an ImagePlus with the Glasbey LUT.

    The class names go in the image's Info and its ``class_names`` property; ``like`` (the
    classified ImagePlus) gives the calibration. Above 255 classes the map is 16-bit.
    """
    a = np.asarray(class_map)
    if a.dtype.kind not in "ui" or (a.size and (a.min() < 0 or a.max() > len(class_names))):
        raise InvalidInputError(
            f"class map must hold integers 0..{len(class_names)}, got {a.dtype} "
            f"{(int(a.min()), int(a.max())) if a.size else ''}"
        )
    a = a.astype(np.uint8 if len(class_names) <= 255 else np.uint16)
    voxel_size, unit = calibration_of(like) if like is not None else (None, None)
    imp = to_imageplus(a, "ZYX" if a.ndim == 3 else "YX", title=title, rgb=False)
    if voxel_size is not None:
        imp.setCalibration(like.getCalibration().copy())
    imp.setLut(glasbey_imagej_lut())
    imp.setDisplayRange(0, 255)
    source = f" of {like.getTitle()}" if like is not None else ""
    lines = [f"PhenoSort class map{source}", "0 = background"]
    lines += [f"{k} = {n}" for k, n in enumerate(class_names, 1)]
    imp.setProperty("Info", "\n".join(lines) + "\n")
    imp.setProp("class_names", ",".join(class_names))
    del unit  # the copied calibration carries it
    return imp


def results_table(prediction, *, frame: int | None = None):
    """A ResultsTable: ``label, [frame,] class, class_name, p_<class>..., confidence,
    in_training_set``, one row per object of a :class:`~phenosort.client.RemotePrediction`
    (or anything with the same fields), in its label order."""
    import jpype

    names = list(prediction.class_names)
    n = len(prediction.label_id)
    rt = jclass("ij.measure.ResultsTable")(jclass("java.lang.Integer").valueOf(n))  # n rows
    rt.showRowNumbers(False)

    def column(name, values):
        rt.setValues(name, jpype.JArray(jpype.JDouble)(np.asarray(values, np.float64)))

    column("label", prediction.label_id)
    if frame is not None:
        column("frame", np.full(n, frame))
    column("class", prediction.class_index)
    for row, k in enumerate(np.asarray(prediction.class_index).tolist()):
        rt.setValue("class_name", row, names[k - 1])
    for k, name in enumerate(names):
        column(f"p_{name}", prediction.probabilities[:, k])
    column("confidence", prediction.confidence)
    column("in_training_set", np.asarray(prediction.in_training_set, np.float64))
    return rt


def object_rois(labels, classes: Mapping[int, int], class_names: Sequence[str], *, image=None):
    """One outline ROI per classified object (the plugin's ``ObjectRois.outlines``): group =
    class, name ``<class>-<label>``, properties ``class`` and ``label``, stroke = Glasbey k.

    ``labels`` is the label ImagePlus; ``image`` the one the ROIs will be shown on.
    """
    import jpype

    ObjectRois = jclass("org.phenosort.phenosort.imagej.ObjectRois")
    geometry = jclass("org.phenosort.phenosort.imagej.ObjectGeometry").measure(labels, 1)
    lookup = {int(k): int(v) for k, v in classes.items()}

    @jpype.JImplements(ObjectRois.ClassOf)
    class _ClassOf:
        @jpype.JOverride
        def classOf(self, label):
            return lookup.get(int(label), 0)

    outlines = ObjectRois.outlines(
        labels, image or labels, 1, geometry, _ClassOf(), _jlist(class_names)
    )
    return list(outlines)


def show_rois(rois: Sequence, class_names: Sequence[str], *, image=None) -> str:
    """Put ROIs in the RoiManager, or on ``image``'s Overlay when headless (the manager is a
    window). Group names are set to the class names. Returns "manager" or "overlay"."""
    jclass("org.phenosort.phenosort.imagej.RoiAnnotations").setGroupNames(_jlist(class_names))
    if not is_headless():
        RoiManager = jclass("ij.plugin.frame.RoiManager")
        manager = RoiManager.getInstance() or RoiManager()
        for roi in rois:
            manager.addRoi(roi)
        return "manager"
    if image is None:
        raise InvalidInputError("headless: ROIs go on an image's Overlay; pass image=")
    overlay = image.getOverlay() or jclass("ij.gui.Overlay")()
    for roi in rois:
        overlay.add(roi)
    image.setOverlay(overlay)
    return "overlay"
