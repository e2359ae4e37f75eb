"""The Gallery RPC on a real server over loopback: which objects, in which order, under which
label IDs, with the counts asked for; the PNGs the same as the engine draws locally; bad
requests get INVALID_ARGUMENT or NOT_FOUND naming the problem."""

from __future__ import annotations

import io

import numpy as np
import pytest
from grpc import StatusCode as Code
from matplotlib.image import imread

from phenosort.classes import class_colors
from phenosort.classifier import ObjectClassifier
from phenosort.client import Client
from phenosort.gallery import LEAST_CERTAIN, MANIFEST, spread
from phenosort.testing import make_objects
from phenosort.v1 import phenosort_pb2 as pb

from .conftest import TINY, create_model, image_input, outputs_of, rpc_error, train


@pytest.fixture(scope="module")
def predicted(stub):
    """A model trained long enough to tell the classes apart, a second image, its input and
    the server's per-object results (both classes predicted)."""
    name = "gallery-cells"
    create_model(stub, name, make_objects("brightness", grid=(6, 6), seed=3),
                 {**TINY, "train_epochs": 12})  # fmt: skip
    events = train(stub, name)
    assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED, events[-1].job.message
    data = make_objects("brightness", grid=(5, 5), seed=11)
    image = image_input(stub, data, name="plate-7")
    batches, _ = outputs_of(stub.Predict(pb.PredictRequest(model=name, image=image)))
    objects = [o for b in batches for o in b.objects]
    assert {o.class_index for o in objects} == {1, 2}, [o.class_index for o in objects]
    return name, data, image, objects


def _gallery(stub, **request) -> list[pb.GalleryMontage]:
    return list(stub.Gallery(pb.GalleryRequest(**request)))


def test_gallery_montages_hold_the_objects_asked_for_in_confidence_order(stub, predicted):
    name, data, image, objects = predicted
    montages = _gallery(stub, model=name, image=image, per_class=3, least_certain=5,
                        tile_size=32, columns=2)  # fmt: skip
    assert [m.name for m in montages] == ["dim", "bright", LEAST_CERTAIN]
    assert [m.class_index for m in montages] == [1, 2, 0]
    for k, m in enumerate(montages[:2], start=1):
        members = [o for o in objects if o.class_index == k]
        ranked = sorted(members, key=lambda o: (-o.confidence, o.label))
        expected = [ranked[i].label for i in spread(len(ranked), 3)]
        assert [t.label for t in m.tiles] == expected  # both ends of the ranking included
        assert len(m.tiles) == min(3, len(members)) and m.n_objects == len(members)
        assert all(t.class_index == k and t.class_name == m.name for t in m.tiles)
        assert all(t.image == "plate-7" for t in m.tiles)
        conf = [t.confidence for t in m.tiles]
        assert conf == sorted(conf, reverse=True)
        assert list(m.class_colors) == class_colors(2)
    margin = {o.label: np.sort(o.probabilities)[-1] - np.sort(o.probabilities)[-2] for o in objects}
    least = sorted(objects, key=lambda o: (margin[o.label], o.label))[:5]
    assert [t.label for t in montages[2].tiles] == [o.label for o in least]
    assert montages[2].n_objects == len(objects) == len(data.classes)
    for m in montages:  # the PNG holds every tile's box; 2 columns -> boxes in 2 columns
        png = imread(io.BytesIO(m.png), format="png")
        boxes = np.array([(t.x0, t.y0, t.x1, t.y1) for t in m.tiles]).reshape(-1, 4)
        assert (boxes[:, 2] - boxes[:, 0] == 32).all() and (boxes[:, 3] - boxes[:, 1] == 32).all()
        assert boxes[:, 2].max() <= png.shape[1] and boxes[:, 3].max() <= png.shape[0]
        assert len(set(boxes[:, 0])) == min(2, len(m.tiles)) and m.columns == min(2, len(m.tiles))


def test_gallery_defaults_show_every_object_once_and_no_least_certain(stub, predicted):
    name, data, image, objects = predicted
    montages = _gallery(stub, model=name, image=image, no_least_certain=True, tile_size=24)
    assert [m.name for m in montages] == ["dim", "bright"]  # 25 objects < 48 per class
    shown = [t.label for m in montages for t in m.tiles]
    assert sorted(shown) == sorted(o.label for o in objects) == sorted(data.classes)


def test_gallery_png_is_the_one_the_engine_draws(service, predicted, tmp_path):
    """The server's montage is the engine's (phenosort.gallery), pixel for pixel: the model
    exported from the server and the same image give the same PNG locally."""
    name, data, _, _ = predicted
    with Client(service.address) as client:
        path = client.export_model(name, tmp_path / "m.phenosort")
        remote = client.gallery(name, data.image, data.labels, axes=data.axes, name="plate-7",
                                per_class=4, least_certain=3, tile_size=32)  # fmt: skip
    clf = ObjectClassifier.load(path, device="cpu")
    pred = clf.predict(data.image, data.labels, axes=data.axes)
    local = pred.gallery(data.image, data.labels, axes=data.axes, name="plate-7", per_class=4,
                         least_certain=3, tile_size=32)  # fmt: skip
    assert remote.names == local.names
    assert [r["label"] for r in remote.manifest()] == [r["label"] for r in local.manifest()]
    for r, m in zip(remote.montages, local.montages):
        assert r.drawn.pixels.shape == m.drawn.pixels.shape
        assert (r.drawn.pixels == m.drawn.pixels).all()
        assert (r.drawn.boxes == m.drawn.boxes).all()
    saved = remote.save(tmp_path / "g")
    assert sorted(p.name for p in saved) == ["1-dim.png", "2-bright.png", MANIFEST,
                                             "least_certain.png"]  # fmt: skip


def test_gallery_bad_requests_name_the_problem(stub, predicted):
    name, _, image, _ = predicted
    cases = [
        (dict(model="nope", image=image), Code.NOT_FOUND, "nope"),
        (dict(model=name, image=pb.ImageInput(image_id="sha256:" + "0" * 64,
                                              labels_id=image.labels_id)),
         Code.NOT_FOUND, "image_id"),
        (dict(model=name, image=image, per_class=-1), Code.INVALID_ARGUMENT, "per_class"),
        (dict(model=name, image=image, least_certain=5000), Code.INVALID_ARGUMENT,
         "least_certain"),
        (dict(model=name, image=image, tile_size=8), Code.INVALID_ARGUMENT, "tile_size"),
        (dict(model=name, image=image, columns=65), Code.INVALID_ARGUMENT, "columns"),
        (dict(model=name, image=image, version=9), Code.NOT_FOUND, "version"),
    ]  # fmt: skip
    for request, code, word in cases:
        error = rpc_error(stub.Gallery, pb.GalleryRequest(**request))
        assert error.code() == code, (request, error.details())
        assert word in error.details(), error.details()
