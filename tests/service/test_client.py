"""``phenosort.client.Client`` against a real server on a random loopback port.

One server (tmp store) and one small trained model are shared by the module; tests that
change state use their own model names. The in-process engine is the reference: the
server must give the same classes and (nearly) the same probabilities.
"""

from __future__ import annotations

import csv
import hashlib
import threading

import numpy as np
import pytest
import tifffile

from phenosort.classifier import ObjectClassifier, Sample
from phenosort.cli import main
from phenosort.client import Client, RemoteError, TrainingProgress
from phenosort.errors import Cancelled, InvalidInputError, ModelNotFoundError
from phenosort.service import codec
from phenosort.service.server import create_server
from phenosort.testing import make_objects

from .conftest import TINY

TINY_CLI = ["--epochs", "3", "--patch-size", "24", "--set", "net_width=8",
            "--set", "train_min_epoch_samples=32", "--set", "train_val_min_per_class=1",
            "--quiet"]  # fmt: skip
NAMES = ["dim", "bright"]


def annotations_of(data, per_class: int = 5) -> dict[int, int]:
    """The first ``per_class`` objects (by ID) of each class."""
    out = {}
    for k in (1, 2):
        out.update({i: k for i in sorted(i for i, c in data.classes.items() if c == k)[:per_class]})
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = create_server(host="127.0.0.1", port=0, store=tmp_path_factory.mktemp("store"),
                        token=None, tls_cert=None, tls_key=None, device="auto",
                        max_message_bytes=64 << 20, max_tensor_bytes=32 << 30)  # fmt: skip
    yield srv
    srv.stop(None)


@pytest.fixture(scope="module")
def client(server):
    with Client(server.address, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def images():
    return [make_objects("brightness", grid=(4, 4), seed=s) for s in (31, 32, 33)]


@pytest.fixture(scope="module")
def trained(client, images, tmp_path_factory):
    """Model "cells": created, 2 images added, trained (events kept), exported."""
    client.create_model("cells", NAMES, **TINY)
    counts = [
        client.add_training_data(
            "cells", d.image, d.labels, annotations_of(d), axes=d.axes, name=f"train{i}"
        )
        for i, d in enumerate(images[:2])
    ]
    events: list[TrainingProgress] = []
    result = client.train("cells", progress=events.append)
    path = client.export_model("cells", tmp_path_factory.mktemp("export") / "cells.phenosort")
    return {"counts": counts, "events": events, "result": result, "file": path}


# ---------------------------------------------------------------------------- flow
def test_server_info(client):
    info = client.server_info()
    assert info["api_version"] == "v1"
    assert info["max_message_bytes"] == 64 << 20 and "light" in info["networks"]


def test_training_reports_counts_progress_and_metrics(client, trained):
    first, second = trained["counts"]
    assert first == {"n_images": 1, "counts": {"dim": 5, "bright": 5}}
    assert second == {"n_images": 2, "counts": {"dim": 10, "bright": 10}}
    events = trained["events"]
    epochs = [e.epoch for e in events if e.state == "RUNNING" and e.epoch]
    assert epochs == [1, 2, 3]
    # exactly the finished epochs count as epochs: not the first events, not the final state
    assert [e.epoch for e in events if e.is_epoch] == [1, 2, 3]
    assert not events[0].is_epoch and not events[-1].is_epoch and events[-1].epoch == 3
    assert events[-1].state == "SUCCEEDED" and events[-1].done
    result = trained["result"]
    # before epoch 1, every epoch of the symmetry probes: epoch 0, the probe run and its epoch
    probes = [e for e in events if e.probe is not None]
    first_epoch = next(i for i, e in enumerate(events) if e.is_epoch)
    assert probes and all(e in events[:first_epoch] for e in probes)
    assert all(e.state == "RUNNING" and e.epoch == 0 and e.n_epochs == 3 for e in probes)
    runs = result["symmetry"]["probe_epochs"]
    assert [(e.probe.run, e.probe.epoch) for e in probes] == [
        (run, epoch) for run, n in enumerate(runs, 1) for epoch in range(1, n + 1)
    ]
    assert all(e.probe.n_epochs == 3 and e.probe.seconds > 0 for e in probes)
    assert result["version"] == 1 and result["validation"]["n"] > 0
    # the engine's decisions and the chance check travel as fields of the final event
    tests = {t["name"]: t for t in result["symmetry"]["tests"]}
    assert set(tests) == {"flip_x", "flip_y", "rot90"}
    assert result["decisions"].startswith("symmetries: ")
    # a brightness task: the normalisation chosen on the labels is named too (Fiji logs it)
    chosen = result["symmetry"]["normalization"]["chosen"]
    assert f"; normalisation {chosen}: " in result["decisions"]
    assessment = result["assessment"]
    assert assessment["source"] == "hold-out" and assessment["n"] == result["validation"]["n"]
    assert result["better_than_chance"] == (assessment["verdict"] == "better")
    assert (result["warning"] == "") == (assessment["verdict"] == "better")
    assert events[-1].decisions == result["decisions"]
    info = client.get_model("cells")
    assert info.versions == [1] and info.class_names == NAMES and info.n_images == 2
    assert info.settings["train_epochs"] == 3 and info.metadata["version"] == 1
    assert "cells" in [m.name for m in client.list_models()]


def test_predict_suggest_explain_match_the_in_process_engine(client, trained, images):
    test = images[2]
    local = ObjectClassifier.load(trained["file"], device="cpu")
    expected = local.predict(test.image, test.labels, axes=test.axes)
    pred = client.predict("cells", test.image, test.labels, axes=test.axes, confidence_map=True)
    assert np.array_equal(pred.label_id, expected.label_id)
    assert np.array_equal(pred.class_index, expected.class_index)
    np.testing.assert_allclose(pred.probabilities, expected.probabilities, atol=1e-5)
    assert pred.probabilities.dtype == np.float32 and pred.class_names == NAMES
    assert np.array_equal(pred.class_map, expected.class_map())
    np.testing.assert_allclose(pred.confidence_map, expected.confidence_map(), atol=1e-5)
    assert pred.class_masks is None
    cols, ref = pred.columns(), expected.columns()
    assert list(cols) == [k for k in ref if k in cols] and set(ref) - set(cols) <= {
        "centroid_y", "centroid_x", "bbox_y0", "bbox_y1", "bbox_x0", "bbox_x1", "size"
    }  # fmt: skip
    full = pred.to_prediction(test.labels).columns()
    assert list(full) == list(ref) and np.array_equal(full["size"], ref["size"])

    masks = client.predict("cells", test.image, test.labels, axes=test.axes, class_map=False,
                           class_masks=True, label_ids=expected.label_id[:4])  # fmt: skip
    assert masks.class_map is None and len(masks.label_id) == 4
    subset = local.predict(test.image, test.labels, axes=test.axes, label_ids=masks.label_id)
    for name, mask in subset.class_masks().items():
        assert np.array_equal(masks.class_masks[name], mask)

    suggested = client.suggest("cells", test.image, test.labels, 4, axes=test.axes)
    assert [s.label for s in suggested] == list(expected.suggest(4))
    label = int(expected.label_id[3])
    exp = client.explain("cells", test.image, test.labels, label, axes=test.axes)
    ref_exp = local.explain(test.image, test.labels, label, axes=test.axes)
    assert exp.label_id == label and exp.class_index == ref_exp.class_index
    assert exp.offset == ref_exp.offset and exp.scale == ref_exp.scale
    np.testing.assert_allclose(exp.heatmap, ref_exp.heatmap, atol=1e-4)
    np.testing.assert_allclose(exp.probabilities, ref_exp.probabilities, atol=1e-5)


def test_export_import_round_trip(client, trained, images, tmp_path):
    d = images[2]
    info = client.import_model(trained["file"], "cells-copy")
    assert info.versions == [1] and info.class_names == NAMES
    a = client.predict("cells", d.image, d.labels, axes=d.axes, class_map=False)
    b = client.predict("cells-copy", d.image, d.labels, axes=d.axes, class_map=False)
    assert np.array_equal(a.probabilities, b.probabilities)
    again = client.export_model("cells-copy", tmp_path / "again.phenosort")
    assert again.read_bytes() == trained["file"].read_bytes()
    client.delete_model("cells-copy")
    with pytest.raises(ModelNotFoundError, match="cells-copy"):
        client.get_model("cells-copy")


# ---------------------------------------------------------------------------- fit
def _samples(images) -> list[Sample]:
    return [Sample(d.image, d.labels, annotations_of(d), d.axes, name=f"fit{i}")
            for i, d in enumerate(images)]  # fmt: skip


def test_fit_creates_adds_trains_exports_and_replaces_on_a_second_run(client, images, tmp_path):
    """The whole remote workflow in one call (issue 18: it was written out in the CLI, the
    ImageJ script and Java); training again on the same images replaces their labels."""
    lines: list[str] = []
    events: list[TrainingProgress] = []
    path = tmp_path / "fit.phenosort"
    first = client.fit("fit", _samples(images[:2]), class_names=NAMES, settings=TINY,
                       progress=events.append, export=path, log=lines.append)  # fmt: skip
    assert first.created and first.version == 1 and first.class_names == NAMES
    assert (first.n_images, first.counts) == (2, {"dim": 10, "bright": 10})
    assert first.metrics["validation"]["n"] > 0 and events[-1].state == "SUCCEEDED"
    assert first.path == path and ObjectClassifier.load(path).class_names == NAMES
    assert lines == [
        f"created model 'fit' with classes {NAMES}",
        "training set: {'dim': 10, 'bright': 10}",
        "model 'fit' version 1",
        f"exported to {path}",
    ]
    asked = []

    def loader(class_names):  # gets the server model's classes
        asked.append(class_names)
        return _samples(images[:2]), list(class_names)

    second = client.fit("fit", loader, settings={"train_epochs": 2})
    assert asked == [NAMES] and not second.created and second.version == 2
    assert (second.n_images, second.counts) == (2, {"dim": 10, "bright": 10})  # replaced
    assert second.path is None and client.get_model("fit").settings["train_epochs"] == 3
    with pytest.raises(InvalidInputError, match=r"differ from server model 'fit'"):
        client.fit("fit", _samples(images[:1]), class_names=NAMES[::-1])
    with pytest.raises(InvalidInputError, match="give its class_names"):
        client.fit("fit-new", _samples(images[:1]))
    with pytest.raises(InvalidInputError, match="no annotated images"):
        client.fit("fit-new", [], class_names=NAMES)
    assert client.get_model("fit").versions == [1, 2]
    assert "fit-new" not in {m.name for m in client.list_models()}


def test_fit_imports_a_model_file_the_server_lacks_and_trains_on_from_it(client, trained, images):
    lines: list[str] = []
    result = client.fit("fit-from", _samples(images[2:]), from_file=trained["file"],
                        settings={"train_epochs": 1}, log=lines.append)  # fmt: skip
    assert lines[0] == f"imported {trained['file']} as model 'fit-from'"
    assert not result.created and result.version == 2 and result.class_names == NAMES
    assert result.n_images == 1  # the imported file brings weights, not a training set
    assert client.get_model("fit-from").versions == [1, 2]


# ---------------------------------------------------------------------------- uploads
def test_upload_is_skipped_for_an_image_the_server_holds(client, trained, images, monkeypatch):
    labels = images[2].labels
    client.upload(labels, "YX")
    calls = []
    real = client._stub.UploadTensor

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(client._stub, "UploadTensor", counted)
    fresh = (images[2].image + 1).astype(np.uint16)  # content the server has not seen
    digest = hashlib.sha256(fresh.tobytes())
    expected = codec.content_id(codec.header_of(fresh, "YX"), digest)
    assert client.upload(fresh, "YX") == expected and len(calls) == 1
    assert client.upload(fresh, "YX") == expected and len(calls) == 1
    assert client.upload(fresh.astype(">u2"), "YX") == expected and len(calls) == 1
    assert client.upload(np.asfortranarray(fresh), "YX") == expected and len(calls) == 1
    client.predict("cells", fresh, labels, axes="YX")
    assert len(calls) == 1  # both image and mask are on the server: only ids were sent
    pred = client.predict("cells", expected, labels, axes="YX")  # an id instead of an array
    assert len(calls) == 1 and len(pred.label_id) == 16


def _big_scene(side: int, tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``side``-square uint16 image and uint32 mask with ``tiles``^2 pasted 4x4-object
    brightness tiles (IDs offset per tile, all below the voxel count: a direct index)."""
    image = np.full((side, side), 100, np.uint16)
    labels = np.zeros((side, side), np.uint32)
    step = side // tiles
    for t in range(tiles * tiles):
        d = make_objects("brightness", grid=(4, 4), seed=100 + t)
        y, x = divmod(t, tiles)
        h, w = d.labels.shape
        ys, xs = slice(y * step, y * step + h), slice(x * step, x * step + w)
        image[ys, xs] = d.image
        labels[ys, xs] = np.where(d.labels > 0, d.labels.astype(np.uint32) + t * 60000, 0)
    return image, labels


def test_images_over_64_mib_stream_both_ways(client, trained):
    side = 4600  # uint32 mask and float32 confidence map: 85 MB each, > 64 MiB messages
    image, labels = _big_scene(side, 5)
    assert labels.nbytes > 64 << 20
    pred = client.predict("cells", image, labels, axes="YX", confidence_map=True)
    assert len(pred.label_id) == 400
    assert pred.class_map.shape == (side, side) and pred.class_map.dtype == np.dtype("uint8")
    assert pred.confidence_map.dtype == np.float32 and pred.confidence_map.nbytes > 64 << 20
    painted = pred.to_prediction(labels)  # what the server painted = what its classes paint
    assert np.array_equal(pred.class_map, painted.class_map())
    assert np.array_equal(pred.confidence_map, painted.confidence_map())


# ---------------------------------------------------------------------------- training jobs
@pytest.mark.parametrize("at", ["epoch", "probe"])
def test_cancel_a_training_from_its_progress_callback(client, images, at):
    """A cancel sent from the progress callback at the first training epoch, or at the first
    epoch of the symmetry probes: they report theirs, so it takes effect before the training
    starts. No version is written either way."""
    d = images[0]
    name = f"cancel-{at}"
    client.create_model(name, NAMES, **{**TINY, "train_epochs": 200})
    client.add_training_data(name, d.image, d.labels, annotations_of(d), axes=d.axes)
    seen: list[TrainingProgress] = []

    def stop(event):
        seen.append(event)
        probe_started = event.probe is not None and event.probe.epoch == 1
        if (event.epoch == 1) if at == "epoch" else probe_started:
            assert client.cancel(event.job_id) in ("RUNNING", "CANCELLED")

    with pytest.raises(Cancelled, match=name):
        client.train(name, progress=stop)
    assert seen[-1].state == "CANCELLED" and seen[-1].epoch == 0
    assert max(e.epoch for e in seen) < (200 if at == "epoch" else 1)
    replay = list(client.watch(seen[-1].job_id))  # re-attach after the end: the whole history
    assert [e.state for e in replay] == [e.state for e in seen]
    assert client.get_model(name).versions == []


def test_start_watch_in_another_thread(client, trained):
    job = client.start_training("cells", continue_training=True, train_epochs=1)
    events: list[TrainingProgress] = []
    watcher = threading.Thread(target=lambda: events.extend(client.watch(job)))
    watcher.start()
    watcher.join(120)
    assert events[-1].state == "SUCCEEDED" and events[-1].version == 2
    client.delete_model("cells", 2)
    assert client.get_model("cells").versions == [1]


# ---------------------------------------------------------------------------- errors
def test_errors_carry_the_servers_message(client, trained, images, tmp_path):
    d = images[0]
    with pytest.raises(InvalidInputError, match="exists already") as info:
        client.create_model("cells", NAMES)
    assert info.value.code == "ALREADY_EXISTS"
    with pytest.raises(InvalidInputError, match="epochs"):
        client.create_model("bad", NAMES, epochs=3)
    with pytest.raises(ModelNotFoundError, match="no model named 'nope'"):
        client.predict("nope", d.image, d.labels, axes=d.axes)
    with pytest.raises(ModelNotFoundError, match="no version 7"):
        client.get_model("cells", 7)
    with pytest.raises(InvalidInputError, match="12345"):
        client.add_training_data("cells", d.image, d.labels, {12345: 1}, axes=d.axes)
    client.create_model("untrained", NAMES)
    with pytest.raises(InvalidInputError, match="not trained"):
        client.predict("untrained", d.image, d.labels, axes=d.axes)
    with pytest.raises(InvalidInputError, match="empty"):
        client.start_training("untrained")
    with pytest.raises(InvalidInputError, match="not on the server"):
        client.predict("cells", "sha256:" + "0" * 64, d.labels, axes=d.axes)
    with pytest.raises(InvalidInputError, match="no training job"):
        list(client.watch("no-such-job"))
    taken = tmp_path / "taken.phenosort"
    taken.write_bytes(b"mine")
    with pytest.raises(InvalidInputError, match="already exists"):
        client.export_model("cells", taken)
    assert taken.read_bytes() == b"mine" and sorted(tmp_path.iterdir()) == [taken]
    with pytest.raises(InvalidInputError):
        client.import_model(taken, "garbage")  # not a model file: the server explains why


def test_token_and_tls(self_signed, tmp_path):
    cert, key = self_signed
    srv = create_server(store=tmp_path, token="s3cret", tls_cert=cert, tls_key=key)
    try:
        with Client(srv.address, tls_ca=cert, token="s3cret", timeout=30) as c:
            assert c.list_models() == [] and c.server_info()["api_version"] == "v1"
        with Client(srv.address, tls_ca=cert, timeout=30) as c, pytest.raises(RemoteError) as e:
            c.list_models()
        assert e.value.code == "UNAUTHENTICATED" and "token" in str(e.value)
        with Client(srv.address, token="s3cret", timeout=10) as c, pytest.raises(RemoteError):
            c.list_models()  # plain text to a TLS port
    finally:
        srv.stop(None)


def test_unreachable_server_is_a_remote_error():
    with Client("127.0.0.1:9", timeout=10) as c, pytest.raises(RemoteError) as info:
        c.list_models()
    assert info.value.code == "UNAVAILABLE" and "127.0.0.1:9" in str(info.value)


# ---------------------------------------------------------------------------- CLI
def _dataset(root, images) -> None:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    with open(root / "annotations.csv", "w", newline="") as fh:
        rows = csv.writer(fh)
        rows.writerow(("image", "label", "class"))
        for i, d in enumerate(images):
            tifffile.imwrite(root / "images" / f"img{i}.tif", d.image, imagej=True)
            tifffile.imwrite(root / "masks" / f"img{i}.tif", d.labels, imagej=True)
            if i < 2:
                rows.writerows((f"img{i}", j, NAMES[k - 1]) for j, k in annotations_of(d).items())


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_with_server_writes_what_the_in_process_cli_writes(server, images, tmp_path, capsys):
    data = tmp_path / "data"
    _dataset(data, images)
    model = tmp_path / "remote.phenosort"
    remote = ["--server", server.address]
    code = main(["train", str(data), "--annotations", str(data / "annotations.csv"),
                 "--model", str(model), *TINY_CLI, *remote])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and f"model written to {model} (version 1)" in out
    assert ObjectClassifier.load(model).config.net_width == 8
    copy = tmp_path / "copy.phenosort"  # not on the server: predict imports it as "copy"
    copy.write_bytes(model.read_bytes())
    for where, extra in (("local", ["--device", "cpu"]), ("served", remote)):
        code = main(["predict", str(data), "--model", str(copy), "--out", str(tmp_path / where),
                     "--rois", "--class-masks", "--quiet", *extra])  # fmt: skip
        assert code == 0, capsys.readouterr().err
    with Client(server.address) as c:
        assert {"remote", "copy"} <= {m.name for m in c.list_models()}
    local, served = _rows(tmp_path / "local/objects.csv"), _rows(tmp_path / "served/objects.csv")
    assert len(local) == 48 and list(local[0]) == list(served[0])
    for a, b in zip(local, served):
        assert (a["image"], a["label"], a["class_name"]) == (
            b["image"],
            b["label"],
            b["class_name"],
        )
        assert a["size"] == b["size"] and a["centroid_x"] == b["centroid_x"]
        assert abs(float(a["p_dim"]) - float(b["p_dim"])) < 1e-4
    for name in ("summary.csv", "img2_classes.tif", "img2_dim_labels.tif", "img2_classes.zip"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "served" / name).read_bytes()
    code = main(["train", str(data), "--annotations", str(data / "annotations.csv"),
                 "--model", str(tmp_path / "x.phenosort"), "--kfold", "2", *remote])  # fmt: skip
    assert code == 2 and "--kfold" in capsys.readouterr().err


def test_cli_with_server_says_why_there_is_no_validation_set(server, images, tmp_path, capsys):
    """The server's settings and label counts name the cause (issue 18)."""
    data = tmp_path / "data"
    _dataset(data, images)
    code = main(["train", str(data), "--annotations", str(data / "annotations.csv"),
                 "--model", str(tmp_path / "few.phenosort"), *TINY_CLI,
                 "--set", "train_val_min_per_class=3", "--server", server.address])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        "no validation set: class 'bright' has 10 labels, and train_val_fraction 0.2 of them (2) "
        "is fewer than train_val_min_per_class 3"
    ) in out
