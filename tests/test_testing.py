"""The benchmark image generator: discs that never touch, sparse IDs, a learnable cue."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from phenosort.objects.table import object_table
from phenosort.testing import make_disc_image, make_objects


def test_disc_image_objects_are_separate_discs_with_sparse_ids():
    data = make_disc_image(256, 120, seed=3)
    assert data.image.shape == data.labels.shape == (256, 256) and data.axes == "YX"
    assert data.image.dtype == data.labels.dtype == np.uint16
    table = object_table(data.labels)
    assert sorted(table.label_id.tolist()) == sorted(data.classes)
    assert np.diff(np.sort(table.label_id)).max() > 1  # not consecutive
    # no two discs touch: each connected component holds exactly one ID
    _, n_components = ndimage.label(data.labels > 0, structure=np.ones((3, 3)))
    assert n_components == len(table)
    extent = table.bbox_stop - table.bbox_start
    assert extent.min() >= 2 * 5 - 1 and extent.max() <= 2 * 9 + 1  # radius 5-9 px


def test_disc_image_class_is_the_brightness_cue():
    data = make_disc_image(256, 120, channels=3, seed=4)
    assert data.image.shape == (256, 256, 3) and data.axes == "YXC"
    ids = np.array(sorted(data.classes))
    means = ndimage.mean(data.image[..., 0], data.labels, ids)
    classes = np.array([data.classes[i] for i in ids])
    assert means[classes == 1].max() < means[classes == 2].min()
    again = make_disc_image(256, 120, channels=3, seed=4)
    assert np.array_equal(again.image, data.image) and again.classes == data.classes


def test_disc_image_of_more_discs_than_uint16_ids_allow_has_a_uint32_mask():
    # 40,000 discs: past the 32,767 that sparse uint16 IDs allow (the GPU check's 80,000)
    data = make_disc_image(2000, 40_000, seed=5, radius=(2.0, 3.0))
    assert data.labels.dtype == np.uint32 and data.image.dtype == np.uint16
    ids = np.unique(data.labels)[1:]
    assert ids.size == len(data.classes) == 40_000 and ids.max() > np.iinfo(np.uint16).max
    assert sorted(ids.tolist()) == sorted(data.classes)


def test_disc_image_refuses_more_discs_than_fit():
    with pytest.raises(ValueError, match="do not fit"):
        make_disc_image(64, 100)


def test_only_erases_the_other_classes_in_every_layout():
    for make in ({}, {"channels": 2}, {"channels": 2, "z_planes": 4, "grid": (2, 2)}):
        d = make_objects("brightness", seed=1, **make)
        alone = d.only(1)
        kept = [i for i, k in d.classes.items() if k == 1]
        assert alone.classes == {i: 1 for i in kept}
        assert set(np.unique(alone.labels)) - {0} == set(kept)
        c = d.axes.find("C")
        before = np.moveaxis(d.image, c, -1) if c >= 0 else d.image
        after = np.moveaxis(alone.image, c, -1) if c >= 0 else alone.image
        erased = (d.labels > 0) & (alone.labels == 0)
        assert erased.any() and np.unique(after[erased]).size == 1  # one background level
        inside = np.isin(d.labels, kept)
        np.testing.assert_array_equal(after[inside], before[inside])
        assert d.image is not alone.image and (d.labels > 0).sum() > (alone.labels > 0).sum()
