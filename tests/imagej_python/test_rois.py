"""ImageJ ROIs -> annotations: groups, class properties, names, group names, 3D positions,
and the same answer for ROIs in ImageJ and the same ROIs saved as a zip."""

from __future__ import annotations

import numpy as np
import pytest

from phenosort.errors import InvalidInputError
from phenosort.imagej import (
    annotations_from_imagej,
    annotations_from_java_rois,
    labels_to_imageplus,
)


def _labels() -> np.ndarray:
    labels = np.zeros((20, 30), np.uint32)
    labels[2:6, 2:6] = 3
    labels[2:6, 10:16] = 70000  # above 65535: a 32-bit float label image in ImageJ
    labels[10:18, 2:12] = 12
    labels[10:18, 20:28] = 5
    return labels


def test_groups_properties_and_names(jvm):
    Roi, PointRoi = jvm.jimport("ij.gui.Roi"), jvm.jimport("ij.gui.PointRoi")
    OvalRoi, Annotations = (
        jvm.jimport("ij.gui.OvalRoi"),
        jvm.jimport("org.phenosort.phenosort.imagej.RoiAnnotations"),
    )
    labels = labels_to_imageplus(_labels())
    grouped = PointRoi(3.5, 3.5)
    grouped.setGroup(2)
    by_property = Roi(10, 2, 6, 4)  # a rectangle over object 70000
    by_property.setProperty("class", "mitotic")
    by_name = OvalRoi(3, 11, 8, 6)
    by_name.setName("interphase-0012")
    plugin_style = Annotations.annotation(24.5, 12.5, labels, 0, 1, 5, 1, "interphase")
    Roi.setGroupNames("interphase,mitotic")
    try:
        found = annotations_from_java_rois([grouped, by_property, by_name, plugin_style], labels)
    finally:
        Roi.setGroupNames("")
    assert found.class_names == ["interphase", "mitotic"]  # from ImageJ's group names
    assert found.annotations == {3: 2, 70000: 2, 12: 1, 5: 1}
    # explicit class names win over the group names
    named = annotations_from_java_rois([grouped], _labels(), ["a", "b"])
    assert named.class_names == ["a", "b"] and named.annotations == {3: 2}


def test_same_as_a_saved_zip(jvm, tmp_path):
    PointRoi, RoiEncoder = jvm.jimport("ij.gui.PointRoi"), jvm.jimport("ij.io.RoiEncoder")
    labels = _labels()
    rois = []
    for x, y, group in [(3, 3, 1), (12, 4, 2), (25, 15, 2)]:
        roi = PointRoi(x + 0.5, y + 0.5)
        roi.setGroup(group)
        rois.append(roi)
    zip_path = tmp_path / "rois.zip"
    import zipfile

    with zipfile.ZipFile(zip_path, "w") as zf:
        for i, roi in enumerate(rois):
            zf.writestr(
                f"r{i}.roi", bytes(np.asarray(RoiEncoder.saveAsByteArray(roi)).view(np.uint8))
            )
    from_java = annotations_from_imagej(labels, rois, class_names=["x", "y"])
    from_zip = annotations_from_imagej(labels, zip_path, class_names=["x", "y"])
    assert from_java == from_zip
    assert from_java.annotations == {3: 1, 70000: 2, 5: 2}
    with pytest.raises(InvalidInputError, match="does not exist"):
        annotations_from_imagej(labels, tmp_path / "missing.zip")


def test_stack_positions_and_overlay(jvm):
    PointRoi, Overlay = jvm.jimport("ij.gui.PointRoi"), jvm.jimport("ij.gui.Overlay")
    labels = np.zeros((3, 8, 8), np.uint16)
    labels[0, 2:5, 2:5], labels[2, 2:5, 2:5] = 7, 9  # same x, y on different slices
    image = labels_to_imageplus(labels)
    overlay = Overlay()
    for z, group in [(1, 1), (3, 2)]:
        roi = PointRoi(3.5, 3.5)
        roi.setPosition(z)
        roi.setGroup(group)
        overlay.add(roi)
    image.setOverlay(overlay)
    found = annotations_from_imagej(image, image=image, class_names=["a", "b"])  # headless
    assert found.annotations == {7: 1, 9: 2}


def test_conflicts_and_empty(jvm):
    PointRoi = jvm.jimport("ij.gui.PointRoi")
    labels = _labels()
    a, b = PointRoi(3.5, 3.5), PointRoi(4.5, 4.5)
    a.setGroup(1)
    b.setGroup(2)
    with pytest.raises(InvalidInputError, match="object 3 is given class"):
        annotations_from_java_rois([a, b], labels, ["x", "y"])
    with pytest.raises(InvalidInputError, match="no ROIs"):
        annotations_from_imagej(labels, image=labels_to_imageplus(labels))
