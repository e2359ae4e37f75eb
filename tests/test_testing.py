"""The benchmark image generator: discs that never touch, sparse IDs, a learnable cue."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from phenosort.objects.table import object_table
from phenosort.testing import make_disc_image


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
