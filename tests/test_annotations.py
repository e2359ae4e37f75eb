"""Tests of phenosort.annotations: CSV tables and ImageJ ROI sets."""

from __future__ import annotations

import numpy as np
import pytest
import roifile
from roifile import ROI_TYPE, ImagejRoi
from skimage import draw

from phenosort.annotations import (
    RoiAnnotations,
    annotations_from_rois,
    check_ids_in_mask,
    read_annotations_csv,
    read_annotations_csv_lines,
    read_roi_annotations,
    rois_for_objects,
    write_annotations_csv,
    write_roi_zip,
)
from phenosort.errors import InvalidInputError

HUGE = 4_000_000_000


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _labels2d():
    """Three objects with non-consecutive and huge IDs; object 7 is L-shaped."""
    labels = np.zeros((60, 80), np.uint32)
    labels[5:15, 5:20] = 7
    labels[5:25, 5:9] = 7
    labels[30:50, 10:30] = HUGE
    labels[20:25, 50:70] = 12
    return labels


def _point(x, y, *, group=0, name="p", props=None, **kw):
    roi = ImagejRoi.frompoints(np.array([[x, y]]), name=name, **kw)
    roi.roitype = ROI_TYPE.POINT
    roi.group = group
    if props:
        roi.properties = props
    return roi


def _rect(left, top, right, bottom, *, group=1):
    roi = ImagejRoi.frompoints(
        np.array([[left, top], [right, top], [right, bottom], [left, bottom]])
    )
    roi.roitype = ROI_TYPE.POLYGON
    roi.group = group
    return roi


# ---------------------------------------------------------------- CSV


def test_csv_round_trip_with_names(tmp_path):
    ann = {"img_b": {HUGE: 2, 3: 1}, "img_a": {5: 1}}
    path = tmp_path / "ann.csv"
    write_annotations_csv(path, ann, ["tumor", "stroma"])
    lines = path.read_text().splitlines()
    assert lines == ["image,label,class", "img_a,5,tumor", "img_b,3,tumor", f"img_b,{HUGE},stroma"]
    assert read_annotations_csv(path, ["tumor", "stroma"]) == (ann, ["tumor", "stroma"])
    # without class_names the names come back sorted alphabetically
    got, names = read_annotations_csv(path)
    assert names == ["stroma", "tumor"]
    assert got == {"img_b": {HUGE: 1, 3: 2}, "img_a": {5: 2}}


def test_csv_with_indices_free_column_order_and_alias(tmp_path):
    text = "\ufeffnote,class,label_id,image\nx,3,10,a\n,1,11,a\ny,3,10,a\n,,,\n,2,4,b\n"
    got, names = read_annotations_csv(_write(tmp_path / "i.csv", text))
    assert names == ["class 1", "class 2", "class 3"]
    assert got == {"a": {10: 3, 11: 1}, "b": {4: 2}}
    # indices and names mix once class_names say what the indices mean
    text = "image,label,class\na,1,2\na,2,good\n"
    got, _ = read_annotations_csv(_write(tmp_path / "m.csv", text), ["good", "bad"])
    assert got == {"a": {1: 2, 2: 1}}


@pytest.mark.parametrize(
    ("text", "class_names", "match"),
    [
        ("image,class\na,x\n", None, "lacks the column"),
        # the documented column is named, never the accepted alias label_id (issue 18)
        ("image,object,class\na,1,x\n", None, r"lacks the column\(s\) label;"),
        ("Image,Label,Klasse\na,1,x\n", None, r"lacks the column\(s\) class;"),
        ("image,label,class\na,1.5,x\n", None, "row 2: label '1.5' is not an integer"),
        ("image,label,class\na,-3,x\n", None, "row 2: label '-3' is negative"),
        ("image,label,class\na,1,x\na,0,x\n", None, "row 3: label 0 is the background"),
        ("", None, "no annotations"),
        ("image,label,class\n", None, "no annotations"),
        ("image,label,class\na,1,x\nb,1,y\na,1,y\n", None, "rows 2 and 4 .*'x' and 'y'"),
        ("image,label,class\na,1,x\na,2,2\n", None, "mixes class indices"),
        ("image,label,class\na,1,3\n", ["x", "y"], "row 2: class index 3 is outside 1..2"),
        ("image,label,class\na,1,z\n", ["x", "y"], "row 2: unknown class 'z'"),
        ("image,label,class\na,1,0\n", None, r"class index 0 is outside 1\.\.0"),
        ("image,label,class\n,1,x\n", None, "row 2: the image is empty"),
        ("image,label,class\na,1,\n", None, "row 2: the class is empty"),
    ],
)
def test_csv_errors(tmp_path, text, class_names, match):
    with pytest.raises(InvalidInputError, match=match):
        read_annotations_csv(_write(tmp_path / "bad.csv", text), class_names)


def test_ids_missing_from_the_mask_are_named_with_their_rows(tmp_path):
    path = _write(tmp_path / "ann.csv", "image,label,class\na,1,x\na,7,x\nb,1,x\na,9,y\n")
    table, _, lines = read_annotations_csv_lines(path)
    labels = np.zeros((8, 8), np.uint16)
    labels[:2, :2] = 1
    check_ids_in_mask(table["b"], labels, image="b", mask="m/b.tif", source=path, lines=lines)
    with pytest.raises(InvalidInputError) as info:
        check_ids_in_mask(table["a"], labels, image="a", mask="m/a.tif", source=path, lines=lines)
    assert str(info.value) == (
        f"{path} rows 3, 5: labels 7, 9 of image 'a' are not in its label mask m/a.tif"
    )
    with pytest.raises(InvalidInputError, match=r"^label 5 of image 'a' is not in its label"):
        check_ids_in_mask([5], labels, image="a", mask="m/a.tif")


def test_csv_duplicates_with_same_class_are_fine(tmp_path):
    text = "image,label,class\na,1,x\na,1,x\n"
    assert read_annotations_csv(_write(tmp_path / "d.csv", text)) == ({"a": {1: 1}}, ["x"])


def test_csv_missing_file_and_bad_class_names(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_annotations_csv(tmp_path / "nope.csv")
    with pytest.raises(InvalidInputError, match="looks like a class index"):
        write_annotations_csv(tmp_path / "w.csv", {"a": {1: 1}}, ["2"])
    with pytest.raises(InvalidInputError, match="not unique"):
        read_annotations_csv(_write(tmp_path / "ok.csv", "image,label,class\na,1,x\n"), ["x", "x"])


def test_csv_write_refuses_overwrite_and_bad_classes(tmp_path):
    path = _write(tmp_path / "ann.csv", "keep me")
    with pytest.raises(InvalidInputError, match="overwrite=True"):
        write_annotations_csv(path, {"a": {1: 1}}, ["x"])
    assert path.read_text() == "keep me"
    write_annotations_csv(path, {"a": {1: 1}}, ["x"], overwrite=True)
    assert read_annotations_csv(path) == ({"a": {1: 1}}, ["x"])
    with pytest.raises(InvalidInputError, match=r"class in 1\.\.1"):
        write_annotations_csv(tmp_path / "new.csv", {"a": {1: 2}}, ["x"])


# ---------------------------------------------------------------- ROIs out and back in


def test_roi_zip_round_trip_outlines(tmp_path):
    labels = _labels2d()
    before = labels.copy()
    rois = rois_for_objects(labels, [7, HUGE, 12], [1, 3, 2], ["a", "b", "c"])
    assert [r.name for r in rois] == ["a-7", f"c-{HUGE}", "b-12"]
    assert [r.group for r in rois] == [1, 3, 2]
    assert rois[1].properties == {"class": "c", "label": HUGE}
    path = tmp_path / "rois.zip"
    write_roi_zip(path, rois)
    got = read_roi_annotations(path, labels)
    assert got == RoiAnnotations({7: 1, HUGE: 3, 12: 2}, ["a", "b", "c"], [])
    # the outline covers exactly the (non-convex) object in ImageJ's pixel-centre convention
    xy = roifile.roiread(path)[0].coordinates()
    rr, cc = draw.polygon(xy[:, 1] - 0.5, xy[:, 0] - 0.5, shape=labels.shape)
    mask = np.zeros(labels.shape, bool)
    mask[rr, cc] = True
    np.testing.assert_array_equal(mask, labels == 7)
    np.testing.assert_array_equal(labels, before)
    with pytest.raises(InvalidInputError, match="overwrite=True"):
        write_roi_zip(path, rois)
    write_roi_zip(path, rois[:1], overwrite=True)
    assert len(roifile.roiread(path)) == 1


def test_rois_for_objects_points_and_errors(tmp_path):
    labels = _labels2d()
    rois = rois_for_objects(labels, np.array([12, 7], np.uint32), 2, ["a", "b"], kind="point")
    assert all(r.roitype == ROI_TYPE.POINT for r in rois)
    x, y = rois[1].coordinates()[0]
    assert labels[y, x] == 7  # the L's centroid is off the object; the point is not
    assert annotations_from_rois(rois, labels).annotations == {12: 2, 7: 2}
    with pytest.raises(InvalidInputError, match=r"objects \[99\]"):
        rois_for_objects(labels, [7, 99], 1, ["a"])
    with pytest.raises(InvalidInputError, match=r"1\.\.1"):
        rois_for_objects(labels, [7], 2, ["a"])
    with pytest.raises(InvalidInputError, match="kind"):
        rois_for_objects(labels, [7], 1, ["a"], kind="mask")
    with pytest.raises(InvalidInputError, match="more than once"):
        rois_for_objects(labels, [7, 7], 1, ["a"])
    # ROIs of the same name get distinct zip entries (zipfile would warn) and keep their names
    write_roi_zip(tmp_path / "dup.zip", [rois[0], rois[0]])
    assert [r.name for r in roifile.roiread(tmp_path / "dup.zip")] == ["b-12", "b-12"]
    with pytest.raises(InvalidInputError, match=r"must end in \.zip"):
        write_roi_zip(tmp_path / "x.roi", rois)


def test_rois_for_objects_3d_are_points_with_z(tmp_path):
    labels = np.zeros((5, 20, 30), np.uint32)
    labels[3, 2:5, 20:24] = HUGE
    labels[1:3, 10:15, 3:6] = 5
    rois = rois_for_objects(labels, [HUGE, 5], [1, 2], ["a", "b"])
    assert [(r.roitype, r.z_position, r.position) for r in rois] == [
        (ROI_TYPE.POINT, 4, 4),
        (ROI_TYPE.POINT, 2, 2),
    ]
    x, y = rois[0].coordinates()[0]
    assert labels[3, y, x] == HUGE
    write_roi_zip(tmp_path / "r.zip", rois)
    got = read_roi_annotations(tmp_path / "r.zip", labels)
    assert got.annotations == {HUGE: 1, 5: 2} and got.class_names == ["a", "b"]


# ---------------------------------------------------------------- ROIs drawn by a user


def test_points_annotate_object_under_them_x_is_column():
    labels = np.zeros((10, 12), np.uint16)
    labels[2, 7] = 3  # row 2, col 7: ImageJ x=7, y=2
    labels[7, 2] = 9
    got = annotations_from_rois([_point(7, 2, group=1), _point(2.6, 7.9, group=2)], labels)
    assert got.annotations == {3: 1, 9: 2}
    assert got.class_names == ["class 1", "class 2"]


def test_multi_point_background_and_outside_are_skipped():
    labels = _labels2d()
    multi = ImagejRoi.frompoints(np.array([[6, 6], [40, 40], [500, 3]]), name="m")
    multi.roitype = ROI_TYPE.POINT
    multi.group = 2
    got = annotations_from_rois(multi, labels, ["a", "b"])
    assert got.annotations == {7: 2}
    assert len(got.skipped) == 2
    assert "point 2" in got.skipped[0] and "background" in got.skipped[0]
    assert "point 3" in got.skipped[1] and "outside" in got.skipped[1]


def test_area_roi_picks_majority_object_and_ties_smallest():
    labels = np.zeros((20, 20), np.int32)
    labels[:, :10] = 8
    labels[:, 10:] = 3
    # columns 2..12 -> 8 pixels of object 8 and 3 of object 3 per row (background ignored)
    got = annotations_from_rois(_rect(2, 0, 13, 5, group=1), labels)
    assert got.annotations == {8: 1}
    got = annotations_from_rois(_rect(7, 0, 13, 5, group=1), labels)
    assert got.annotations == {3: 1}  # 3 columns each: tie -> smaller ID
    labels[:] = 0
    got = annotations_from_rois(_rect(2, 0, 13, 5), labels)
    assert got.annotations == {} and "only background" in got.skipped[0]


def test_area_roi_covers_pixel_centres_and_ignores_background():
    labels = np.zeros((20, 20), np.int32)
    labels[:, :10] = 8
    labels[:, 10:] = 3
    # x in 9.2..10.4 holds the centre 9.5 of column 9 only (not column 10's 10.5)
    roi = ImagejRoi.frompoints(np.array([[9.2, 0.2], [10.4, 0.2], [10.4, 3.4], [9.2, 3.4]]))
    roi.roitype, roi.group = ROI_TYPE.POLYGON, 1
    assert annotations_from_rois(roi, labels).annotations == {8: 1}
    labels[:, :9] = 0  # now mostly background, one column of object 8
    assert annotations_from_rois(_rect(0, 0, 10, 5), labels).annotations == {8: 1}


def test_composite_roi_with_hole():
    labels = np.zeros((30, 30), np.uint16)
    labels[0:30, 0:3] = 1  # inside the ring
    labels[10:20, 10:20] = 2  # inside the hole: bigger, but not covered
    ring = [
        0,
        0,
        0,
        1,
        30,
        0,
        1,
        30,
        30,
        1,
        0,
        30,
        4,
        0,
        10,
        10,
        1,
        20,
        10,
        1,
        20,
        20,
        1,
        10,
        20,
        4,
    ]
    roi = ImagejRoi(roitype=ROI_TYPE.RECT, group=1, shape_roi_size=len(ring))
    roi.multi_coordinates = np.array(ring, np.float32)
    assert annotations_from_rois(roi, labels).annotations == {1: 1}


def test_rect_and_oval_rois():
    labels = _labels2d()
    rect = ImagejRoi(roitype=ROI_TYPE.RECT, left=50, top=20, right=70, bottom=25, group=1)
    oval = ImagejRoi(roitype=ROI_TYPE.OVAL, left=12, top=32, right=28, bottom=48, group=2)
    line = ImagejRoi(roitype=ROI_TYPE.LINE, x1=0, y1=0, x2=5, y2=5, group=1)
    got = annotations_from_rois([rect, oval, line], labels)
    assert got.annotations == {12: 1, HUGE: 2}
    assert got.skipped == ["ROI 3: line ROIs do not mark objects"]


def test_conflicting_classes_raise():
    labels = _labels2d()
    rois = [_point(6, 6, group=1, name="first"), _rect(4, 4, 12, 12, group=2)]
    with pytest.raises(InvalidInputError, match=r"object 7 .*'a' by ROI 1 \('first'\).*'b'"):
        annotations_from_rois(rois, labels, ["a", "b"])
    # the same class twice is fine
    assert annotations_from_rois(rois[:1] * 2, labels).annotations == {7: 1}


def test_3d_points_use_z_position_position_per_point_and_all_slices():
    labels = np.zeros((4, 10, 10), np.uint32)
    labels[0, 2, 2] = 5
    labels[2, 2, 2] = HUGE
    labels[1:4, 6, 6] = 9
    labels[0, 6, 6] = 4
    rois = [
        _point(2, 2, group=1, z=2),  # z_position 3 -> HUGE
        _point(2, 2, group=2, position=0),  # position 1 -> 5
        _point(6, 6, group=3),  # all slices: 9 on three slices beats 4 on one
        _point(2, 2, group=1, z=3),  # slice 4: background
        _point(2, 2, group=1, z=9),  # no slice 10
        _point(2, 2, group=1, position=0, z=2),  # hyperstack z (3) wins over position (1)
    ]
    got = annotations_from_rois(rois, labels)
    assert got.annotations == {HUGE: 1, 5: 2, 9: 3}
    assert "background" in got.skipped[0] and "outside the 4 slices" in got.skipped[1]
    multi = ImagejRoi.frompoints(np.array([[2, 2], [2, 2]]), name="m")
    multi.roitype = ROI_TYPE.POINT
    multi.group = 1
    multi.counters = np.zeros(2, np.uint8)
    multi.counter_positions = np.array([1, 3], np.uint32)  # each point's own slice
    assert annotations_from_rois(multi, labels).annotations == {5: 1, HUGE: 1}


def test_classes_from_property_and_name_when_group_is_zero():
    labels = _labels2d()
    rois = [
        _point(6, 6, name="0001-0006-0006", props={"class": "stroma"}),
        _point(60, 22, name="T-cell-12"),
        _point(15, 40, name="immune"),
        _point(6, 20, name="0012-0345"),  # ImageJ automatic name: no class
    ]
    got = annotations_from_rois(rois, labels, ["immune"])
    assert got.class_names == ["immune", "stroma", "T-cell"]
    assert got.annotations == {7: 2, 12: 3, HUGE: 1}
    assert got.skipped == [
        "ROI 4 ('0012-0345'): no class (group 0, no 'class' property, no class name)"
    ]
    # an integer property is a class index
    got = annotations_from_rois(_point(6, 6, props={"class": 2}), labels)
    assert got == RoiAnnotations({7: 2}, ["class 1", "class 2"], [])


def test_group_named_by_property_and_conflicts():
    labels = _labels2d()
    named = _point(6, 6, group=2, props={"class": "stroma"})
    got = annotations_from_rois([named, _point(60, 22, group=1)], labels)
    assert got.class_names == ["class 1", "stroma"]
    with pytest.raises(InvalidInputError, match="group 2 is class 'b'"):
        annotations_from_rois(named, labels, ["a", "b"])


def test_rois_of_other_images_in_a_shared_set_are_left_out(tmp_path):
    """Fiji's Train Classifier with all_images saves the ROIs of several images in one set,
    each with an ``image`` property: only this image's (or untagged) ROIs annotate it, and
    its title matches the file name with or without extensions."""
    labels = _labels2d()
    rois = [
        _point(6, 6, group=1, name="a1", props={"image": "a.ome.tif", "label_image": "l.tif"}),
        _point(60, 22, group=2, name="b1", props={"image": "b.tif"}),
        _point(15, 40, group=2, name="u1"),  # untagged: any image's
    ]
    roifile.roiwrite(tmp_path / "set.zip", rois)
    got = read_roi_annotations(tmp_path / "set.zip", labels, ["x", "y"], image="a.ome.tif")
    assert got.annotations == {7: 1, HUGE: 2}
    assert got.skipped == ["ROI 2 ('b1'): a ROI of image 'b.tif', not of 'a.ome.tif'"]
    assert annotations_from_rois(rois, labels, ["x", "y"], image="/data/images/a").annotations \
        == {7: 1, HUGE: 2}  # fmt: skip
    every = annotations_from_rois(rois, labels, ["x", "y"])  # no image named: all of them
    assert every.annotations == {7: 1, 12: 2, HUGE: 2}


def test_read_roi_annotations_single_file_and_errors(tmp_path):
    labels = _labels2d()
    _point(60, 22, group=1).tofile(tmp_path / "one.roi")
    got = read_roi_annotations(tmp_path / "one.roi", labels, ["x"])
    assert got.annotations == {12: 1}
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_roi_annotations(tmp_path / "none.zip", labels)
    _write(tmp_path / "junk.zip", "not a zip")
    with pytest.raises(InvalidInputError, match=r"junk\.zip"):
        read_roi_annotations(tmp_path / "junk.zip", labels)
    with pytest.raises(InvalidInputError, match="2D"):
        annotations_from_rois([], np.zeros((2, 2, 2, 2), np.uint8))
