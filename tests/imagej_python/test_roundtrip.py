"""Train and classify from Python through ImageJ objects against a real ``phenosort serve``:
annotations as point ROIs, the class map ImagePlus, the ResultsTable and the ROIs by class
compared with what the service answers for the same pixels."""

from __future__ import annotations

import numpy as np
import pytest

from phenosort.client import Client
from phenosort.dataio import glasbey_lut
from phenosort.imagej import (
    add_training_data,
    classify,
    from_imageplus,
    labels_to_imageplus,
    to_imageplus,
)
from phenosort.testing import make_objects

TINY = {"train_epochs": 3, "net_width": 8, "train_min_epoch_samples": 32, "patch_size": 24}


def _annotation_rois(jvm, data, labels_imp, per_class: int = 6) -> list:
    """The plugin's own annotation ROIs (a point per object, group = class)."""
    Annotations = jvm.jimport("org.phenosort.phenosort.imagej.RoiAnnotations")
    rois = []
    for k, name in enumerate(data.class_names, 1):
        ids = [i for i, c in sorted(data.classes.items()) if c == k][:per_class]
        for label in ids:
            y, x = np.argwhere(data.labels == label).mean(axis=0)
            rois.append(Annotations.annotation(x + 0.5, y + 0.5, labels_imp, 0, 1, label, k, name))
    return rois


@pytest.fixture(scope="module")
def trained(jvm, server):
    data = make_objects("brightness", grid=(6, 6), seed=3, large_ids=False)
    image = to_imageplus(data.image, data.axes, title="cells.tif", voxel_size=(0.5, 0.5))
    labels = labels_to_imageplus(data.labels, title="cells-labels.tif")
    with Client(server) as client:
        client.create_model("ij-cells", data.class_names, **TINY)
        found, summary = add_training_data(
            client, "ij-cells", image, labels, _annotation_rois(jvm, data, labels)
        )
        client.train("ij-cells")
    return data, found, summary


def test_training_data_from_rois(trained):
    data, found, summary = trained
    assert found.class_names == data.class_names and not found.skipped
    assert all(data.classes[label] == k for label, k in found.annotations.items())
    assert summary["counts"] == dict.fromkeys(data.class_names, 6)


def test_classify_gives_imagej_results_matching_the_service(jvm, server, trained):
    data = make_objects("brightness", grid=(5, 5), seed=9, large_ids=True)  # IDs up to 2^32
    keep = np.unique(data.labels)[1:][:12]  # ImageJ holds IDs up to 2^24: use some, unchanged
    ids = (np.arange(1, keep.size + 1) * 1_000_003) % (1 << 24)  # spread above 65535
    labels = np.zeros(data.labels.shape, np.uint32)
    for old, new in zip(keep, ids, strict=True):
        labels[data.labels == old] = new
    image = to_imageplus(data.image, data.axes, title="new.tif")
    labels_imp = labels_to_imageplus(labels, title="new-labels.tif")
    with Client(server) as client:
        result = classify(client, "ij-cells", image, labels_imp)
        direct = client.predict("ij-cells", data.image, labels, axes=data.axes)
    pred = result.prediction
    np.testing.assert_array_equal(pred.label_id, direct.label_id)
    np.testing.assert_array_equal(pred.class_index, direct.class_index)
    assert set(pred.label_id.tolist()) == set(ids.tolist())

    # class map: the service's pixels, 8-bit, Glasbey LUT, class names in Info
    cmap = result.class_map
    assert cmap.getBitDepth() == 8 and cmap.getTitle() == "new-classes"
    np.testing.assert_array_equal(from_imageplus(cmap).array, direct.class_map)

    def rgb(lut) -> np.ndarray:  # ImageJ's LUT bytes: 256 reds, greens, blues
        return np.asarray(lut.getBytes()).view(np.uint8).reshape(3, 256).T

    plugin = jvm.jimport("org.phenosort.phenosort.imagej.Glasbey").lut()
    np.testing.assert_array_equal(rgb(cmap.getProcessor().getLut()), rgb(plugin))
    np.testing.assert_array_equal(rgb(plugin), glasbey_lut())
    info = str(cmap.getInfoProperty())
    assert all(f"{k} = {n}" in info for k, n in enumerate(pred.class_names, 1)), info
    assert str(cmap.getProp("class_names")) == ",".join(pred.class_names)

    # table: one row per object with the service's classes and probabilities
    table = result.table
    assert int(table.size()) == len(direct.label_id)
    np.testing.assert_array_equal(np.asarray(table.getColumn("label")), direct.label_id)
    np.testing.assert_array_equal(np.asarray(table.getColumn("class")), direct.class_index)
    assert [str(table.getStringValue("class_name", i)) for i in range(int(table.size()))] == [
        direct.class_names[k - 1] for k in direct.class_index
    ]
    for k, name in enumerate(direct.class_names):
        np.testing.assert_allclose(
            np.asarray(table.getColumn(f"p_{name}")), direct.probabilities[:, k], atol=1e-6
        )

    # ROIs: one outline per object, group = class, on the overlay when headless
    by_label = {
        int(str(r.getProperty("label"))): (int(r.getGroup()), str(r.getProperty("class")))
        for r in result.rois
    }
    expected = {
        int(i): (int(k), direct.class_names[k - 1])
        for i, k in zip(direct.label_id, direct.class_index, strict=True)
    }
    assert by_label == expected
    assert result.show(image) == "overlay" and int(image.getOverlay().size()) == len(expected)
