"""Live sessions (OpenLiveSession ... CloseLiveSession) against a real server on loopback.

Small generated images (16 objects) and a few training steps per update keep each test to a
few seconds; the latency and quality figures are measured by scripts/bench_live.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from phenosort.classifier import ObjectClassifier, Sample
from phenosort.client import Client
from phenosort.errors import InvalidInputError
from phenosort.testing import make_objects
from phenosort.v1 import phenosort_pb2 as pb
from phenosort.v1 import phenosort_pb2_grpc as pb_grpc

from .conftest import TINY, create_model, image_input, rpc_error

# no full training on settled labels: each test sees exactly the updates its changes make
LIVE = {"steps": 4, "steps_after_change": 2, "batch_size": 8, "settle": False}


@pytest.fixture(scope="module")
def data():
    return make_objects("brightness", grid=(4, 4), seed=5)


def by_class(data, k: int, n: int) -> list[int]:
    return sorted(i for i, c in data.classes.items() if c == k)[:n]


def open_session(stub, model: str, image: pb.ImageInput, **request) -> pb.LiveSessionInfo:
    request.setdefault("live_settings_json", json.dumps(LIVE))
    images = [pb.LiveImage(image=image, watch=True)]
    return stub.OpenLiveSession(pb.OpenLiveSessionRequest(model=model, images=images, **request))


def label(stub, session_id: str, image_id: str, notes: dict[int, int | str]) -> int:
    changes = [
        pb.LabelChange(image_id=image_id, label=i, class_name=v)
        if isinstance(v, str)
        else pb.LabelChange(image_id=image_id, label=i, class_index=v)
        for i, v in notes.items()
    ]
    reply = stub.UpdateLiveSession(pb.UpdateLiveSessionRequest(session_id=session_id,
                                                               changes=changes))  # fmt: skip
    return reply.labels_version


def wait_update(
    stub, session_id: str, version: int, timeout: float = 60, *, quick: bool = False
) -> pb.LiveUpdate:
    """The first full update (or, with ``quick``, any update) reflecting ``version``."""
    stream = stub.WatchLiveSession(pb.WatchLiveSessionRequest(session_id=session_id),
                                   timeout=timeout)  # fmt: skip
    for update in stream:
        done = update.session.updated_version if quick else update.session.trained_version
        if update.sequence and done >= version and (quick or not update.quick):
            stream.cancel()
            return update
    raise AssertionError("the stream ended without the update")


def new_model(stub, name: str, data) -> pb.ImageInput:
    stub.CreateModel(pb.CreateModelRequest(name=name, class_names=data.class_names,
                                           settings_json=json.dumps(TINY)))  # fmt: skip
    return image_input(stub, data, name=f"{name}-image")


def test_updates_follow_labels_and_commit_predicts_the_same(stub, data):
    image = new_model(stub, "live-a", data)
    info = open_session(stub, "live-a", image)
    assert info.state == pb.LIVE_STATE_WAITING and info.class_names == data.class_names
    notes = {i: 1 for i in by_class(data, 1, 2)} | {i: 2 for i in by_class(data, 2, 2)}
    version = label(stub, info.session_id, image.image_id, notes)
    update = wait_update(stub, info.session_id, version)
    assert update.session.n_labels == 4 and update.session.state == pb.LIVE_STATE_IDLE
    assert update.steps >= LIVE["steps"] and update.latency_seconds > 0
    (result,) = update.images
    ids = np.array(result.label_ids)
    assert result.image_id == image.image_id
    assert sorted(ids.tolist()) == sorted(data.classes)  # the mask's own IDs, every object
    probs = np.array(result.probabilities).reshape(len(ids), 2)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    np.testing.assert_array_equal(np.array(result.class_index), probs.argmax(1) + 1)
    top2 = np.sort(probs, 1)
    np.testing.assert_allclose(result.margin, top2[:, 1] - top2[:, 0], atol=1e-6)
    assert set(ids[np.array(result.labelled)].tolist()) == set(notes)

    committed = stub.CommitLiveSession(pb.CommitLiveSessionRequest(session_id=info.session_id))
    assert committed.version == 1 and committed.labels_version == version
    predicted = list(stub.Predict(pb.PredictRequest(model="live-a", version=1, image=image)))
    objects = [o for r in predicted for o in r.objects.objects]
    mine = {int(i): (k, p) for i, k, p in zip(ids, result.class_index, probs)}
    for o in objects:
        assert o.class_index == mine[o.label][0]
        np.testing.assert_allclose(o.probabilities, mine[o.label][1], atol=1e-4)
        assert o.in_training_set == (o.label in notes)
    # a second commit is the next numbered version
    again = stub.CommitLiveSession(pb.CommitLiveSessionRequest(session_id=info.session_id))
    assert again.version == 2
    closed = stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))
    assert closed.state == pb.LIVE_STATE_CLOSED
    assert list(stub.GetModel(pb.GetModelRequest(name="live-a")).versions) == [1, 2]


def test_a_quick_update_comes_before_the_full_one(stub, data):
    image = new_model(stub, "live-quick", data)
    info = open_session(stub, "live-quick", image)
    notes = {i: 1 for i in by_class(data, 1, 2)} | {i: 2 for i in by_class(data, 2, 2)}
    first = wait_update(stub, info.session_id, label(stub, info.session_id, image.image_id, notes))
    assert not first.quick and first.steps > 0
    stream = stub.WatchLiveSession(pb.WatchLiveSessionRequest(session_id=info.session_id),
                                   timeout=60)  # fmt: skip
    assert next(stream).sequence == first.sequence  # the latest update first
    added = by_class(data, 2, 3)[-1]
    version = label(stub, info.session_id, image.image_id, {added: 2})
    seen = []
    for update in stream:
        if update.sequence and update.session.updated_version >= version:
            seen.append(update)
            if not update.quick:
                break
    stream.cancel()
    quick, full = seen[0], seen[-1]
    assert quick.quick and quick.steps == 0 and quick.session.trained_version < version
    assert quick.session.state == pb.LIVE_STATE_TRAINING
    ids = list(quick.images[0].label_ids)
    assert quick.images[0].labelled[ids.index(added)]  # the new label is in the quick fit
    assert not full.quick and full.session.trained_version == version and full.steps > 0
    assert full.session.state == pb.LIVE_STATE_IDLE and full.total_steps > first.total_steps
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


def test_a_burst_of_changes_is_coalesced(service, stub, data):
    image = new_model(stub, "live-burst", data)
    info = open_session(stub, "live-burst", image, live_settings_json=json.dumps(
        {"steps": 30, "steps_after_change": 4, "batch_size": 8, "settle": False}))  # fmt: skip
    ids = sorted(data.classes)
    versions = [label(stub, info.session_id, image.image_id, {i: data.classes[i]}) for i in ids]
    assert versions == list(range(1, len(ids) + 1))
    update = wait_update(stub, info.session_id, versions[-1])
    session = service.live.of_model("live-burst")
    assert session.trainings <= 4, f"{len(ids)} changes made {session.trainings} trainings"
    assert update.session.n_labels == len(ids)
    assert update.sequence <= 2 * session.trainings  # a quick and a full update per training
    (result,) = update.images
    assert all(result.labelled)  # the final update reflects every change
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


def test_close_cancels_training_at_once(service, stub, data):
    image = new_model(stub, "live-cancel", data)
    info = open_session(stub, "live-cancel", image,
                        live_settings_json=json.dumps({"steps": 100000}))  # fmt: skip
    notes = {i: 1 for i in by_class(data, 1, 2)} | {i: 2 for i in by_class(data, 2, 2)}
    label(stub, info.session_id, image.image_id, notes)
    session = service.live.of_model("live-cancel")
    deadline = time.monotonic() + 30
    while session.engine.total_steps == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.engine.total_steps > 0, "training did not start"
    start = time.monotonic()
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))
    assert time.monotonic() - start < 5 and not session.thread.is_alive()
    assert session.sequence == 0  # the update in progress was dropped, never published
    error = rpc_error(stub.UpdateLiveSession, pb.UpdateLiveSessionRequest(
        session_id=info.session_id))  # fmt: skip
    assert error.code() == grpc.StatusCode.NOT_FOUND and info.session_id in error.details()
    open_session(stub, "live-cancel", image)  # the model is free again


def test_unknown_class_is_refused_and_new_classes_are_explicit(stub, data):
    image = new_model(stub, "live-classes", data)
    info = open_session(stub, "live-classes", image)
    error = rpc_error(
        label, stub, info.session_id, image.image_id, {by_class(data, 1, 1)[0]: "Dim"}
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'Dim'" in error.details() and "dim, bright" in error.details()
    assert stub.GetModel(pb.GetModelRequest(name="live-classes")).class_names == data.class_names
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))
    # a class listed at open is accepted (after the model's, in order)
    error = rpc_error(open_session, stub, "live-classes", image, classes=["bright", "dim"])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "dim, bright" in error.details()
    info = open_session(stub, "live-classes", image, classes=[*data.class_names, "mitotic"])
    assert list(info.class_names) == [*data.class_names, "mitotic"]
    notes = {by_class(data, 1, 1)[0]: "dim", by_class(data, 2, 1)[0]: "mitotic"}
    version = label(stub, info.session_id, image.image_id, notes)
    update = wait_update(stub, info.session_id, version)
    assert len(update.images[0].probabilities) == 3 * len(data.classes)
    assert list(stub.GetModel(pb.GetModelRequest(name="live-classes")).class_names) == [
        *data.class_names, "mitotic"]  # fmt: skip
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


def test_bad_input_gets_a_clear_error(stub, data):
    image = new_model(stub, "live-bad", data)
    error = rpc_error(open_session, stub, "no-such-model", image)
    assert error.code() == grpc.StatusCode.NOT_FOUND and "no-such-model" in error.details()
    error = rpc_error(open_session, stub, "live-bad", image,
                      live_settings_json=json.dumps({"stepz": 3}))  # fmt: skip
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "stepz" in error.details()
    error = rpc_error(open_session, stub, "live-bad", image, live_settings_json="[" * 100_000)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT  # too deep to parse: not INTERNAL
    assert "live_settings_json is not valid JSON" in error.details()
    missing = pb.ImageInput(image_id="sha256:" + "0" * 64, labels_id=image.labels_id)
    error = rpc_error(open_session, stub, "live-bad", missing)
    assert error.code() == grpc.StatusCode.NOT_FOUND and "0000" in error.details()
    info = open_session(stub, "live-bad", image)
    sid = info.session_id
    error = rpc_error(label, stub, sid, "sha256:" + "1" * 64, {by_class(data, 1, 1)[0]: 1})
    assert error.code() == grpc.StatusCode.NOT_FOUND and "1111" in error.details()
    absent = max(data.classes) + 1
    error = rpc_error(label, stub, sid, image.image_id, {absent: 1})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and str(absent) in error.details()
    error = rpc_error(label, stub, sid, image.image_id, {0: 1})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "0 is background" in error.details()
    error = rpc_error(label, stub, sid, image.image_id, {by_class(data, 1, 1)[0]: 7})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "out of range" in error.details()
    error = rpc_error(open_session, stub, "live-bad", image)  # one session per model
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and sid in error.details()
    error = rpc_error(stub.CommitLiveSession, pb.CommitLiveSessionRequest(session_id=sid))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "2 classes" in error.details()
    error = rpc_error(stub.DeleteModel, pb.DeleteModelRequest(name="live-bad"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "live session" in error.details()
    assert open_session(stub, "live-bad", image, attach=True).session_id == sid
    error = rpc_error(stub.WatchLiveSession, pb.WatchLiveSessionRequest(session_id="nope"))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "nope" in error.details()
    # nothing above changed the labels
    info = stub.UpdateLiveSession(pb.UpdateLiveSessionRequest(session_id=sid))
    assert info.labels_version == 0 and info.n_labels == 0
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=sid))


def test_a_client_that_disappears_frees_the_session(service, stub, data):
    image = new_model(stub, "live-gone", data)
    with grpc.insecure_channel(service.address) as channel:
        other = pb_grpc.ObjectClassifierStub(channel)
        info = open_session(other, "live-gone", image, idle_timeout_s=1.0)
        stream = other.WatchLiveSession(pb.WatchLiveSessionRequest(session_id=info.session_id))
        assert next(stream).session.session_id == info.session_id
        session = service.live.of_model("live-gone")
        time.sleep(1.5)  # a watcher keeps the session open past its idle timeout
        assert not session.closed and session.watchers == 1
    # the channel is gone with its stream, and no CloseLiveSession was sent
    session.thread.join(10)
    assert session.closed and "without a call or a watcher" in session.close_reason
    assert open_session(stub, "live-gone", image).session_id != info.session_id


def worker_cpu_seconds(thread: threading.Thread) -> float:
    stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_an_idle_session_sleeps(service, stub, data):
    image = new_model(stub, "live-idle", data)
    info = open_session(stub, "live-idle", image)
    notes = {i: 1 for i in by_class(data, 1, 2)} | {i: 2 for i in by_class(data, 2, 2)}
    wait_update(stub, info.session_id, label(stub, info.session_id, image.image_id, notes))
    session = service.live.of_model("live-idle")
    with grpc.insecure_channel(service.address) as channel:  # with a watcher attached
        stream = pb_grpc.ObjectClassifierStub(channel).WatchLiveSession(
            pb.WatchLiveSessionRequest(session_id=info.session_id))  # fmt: skip
        next(stream)
        before = worker_cpu_seconds(session.thread)
        time.sleep(1.0)
        assert worker_cpu_seconds(session.thread) == before
        stream.cancel()
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_settled_labels_get_a_full_training_then_the_trainer_sleeps(service, stub, data):
    """Once the labels stop changing, the live model becomes what a full training on them
    makes (the same classifier for the same labels, settings and seed); its update says
    settled, and then the worker uses no CPU."""
    image = new_model(stub, "live-settle", data)
    settings = {**LIVE, "settle": True, "settle_after_s": 0.5}
    info = open_session(stub, "live-settle", image, live_settings_json=json.dumps(settings))
    notes = {i: 1 for i in by_class(data, 1, 3)} | {i: 2 for i in by_class(data, 2, 3)}
    version = label(stub, info.session_id, image.image_id, notes)
    stream = stub.WatchLiveSession(pb.WatchLiveSessionRequest(session_id=info.session_id),
                                   timeout=120)  # fmt: skip
    updates = []
    for update in stream:
        if update.sequence and not update.quick:
            updates.append(update)
            if update.settled:
                break
    assert [u.settled for u in updates] == [False, True]
    assert all(u.session.trained_version == version for u in updates)
    full = ObjectClassifier(data.class_names, **TINY)
    full.fit([Sample(data.image, data.labels, notes, data.axes, name="cells")])
    (result,) = updates[-1].images
    expected = full.predict(data.image, data.labels, axes=data.axes)
    assert list(result.label_ids) == expected.label_id.tolist()
    probabilities = np.array(result.probabilities).reshape(len(result.label_ids), -1)
    np.testing.assert_allclose(probabilities, expected.probabilities, atol=1e-5)
    # the full training's own quality estimate comes with it (here the 2-fold estimate)
    assert full.assessment is not None and updates[0].estimate_source == ""
    assert updates[-1].estimate_source == full.assessment["source"] == "2-fold estimate"
    assert updates[-1].estimate_verdict == full.assessment["verdict"]
    assert updates[-1].estimate_balanced_accuracy == full.assessment["balanced_accuracy"]
    session = service.live.of_model("live-settle")
    assert (session.trainings, session.settlings) == (1, 1)
    before = worker_cpu_seconds(session.thread)
    time.sleep(1.0)  # the watch stream is still open
    assert worker_cpu_seconds(session.thread) == before
    # a change: a warm-started update, then a full training again, from those weights
    version = label(stub, info.session_id, image.image_id, {by_class(data, 1, 4)[3]: 1})
    for update in stream:
        if update.sequence and update.settled:
            break
    assert update.session.trained_version == version and session.settlings == 2
    stream.cancel()
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


def test_a_change_cancels_the_full_training(service, stub, data):
    """A label arriving during the full training on settled labels cancels it: the update
    for the change comes after a few steps, not after the training."""
    name = "live-interrupt"
    slow = json.dumps({**TINY, "train_epochs": 100000})
    stub.CreateModel(pb.CreateModelRequest(name=name, class_names=data.class_names,
                                           settings_json=slow))  # fmt: skip
    image = image_input(stub, data, name=f"{name}-image")
    settings = {**LIVE, "settle": True, "settle_after_s": 0.0}
    info = open_session(stub, name, image, live_settings_json=json.dumps(settings))
    notes = {i: 1 for i in by_class(data, 1, 2)} | {i: 2 for i in by_class(data, 2, 2)}
    label(stub, info.session_id, image.image_id, notes)
    session = service.live.of_model(name)
    deadline = time.monotonic() + 60
    while session.settle_cancel is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.settle_cancel is not None, "the full training did not start"
    start = time.monotonic()
    version = label(stub, info.session_id, image.image_id, {by_class(data, 2, 3)[2]: 2})
    update = wait_update(stub, info.session_id, version)
    assert not update.settled and time.monotonic() - start < 30
    assert session.settled_version < version  # (a second full training may have started)
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


def test_an_image_that_joins_is_predicted_without_a_label(stub, data):
    """A watched image added to a session whose model is trained gets its predictions at
    once (no training steps), not at the next label."""
    image = new_model(stub, "live-join", data)
    info = open_session(stub, "live-join", image)
    notes = {i: 1 for i in by_class(data, 1, 2)} | {i: 2 for i in by_class(data, 2, 2)}
    version = label(stub, info.session_id, image.image_id, notes)
    first = wait_update(stub, info.session_id, version)
    other = make_objects("brightness", grid=(3, 3), seed=11)
    joined = image_input(stub, other, name="joined")
    added = [pb.LiveImage(image=joined, watch=True)]
    stub.UpdateLiveSession(pb.UpdateLiveSessionRequest(session_id=info.session_id,
                                                       add_images=added))  # fmt: skip
    stream = stub.WatchLiveSession(pb.WatchLiveSessionRequest(session_id=info.session_id),
                                   timeout=60)  # fmt: skip
    update = next(u for u in stream if u.sequence > first.sequence)
    stream.cancel()
    assert update.steps == 0 and update.total_steps == first.total_steps
    assert update.session.trained_version == version
    by_image = {m.image_id: m for m in update.images}
    assert sorted(by_image[joined.image_id].label_ids) == sorted(other.classes)
    assert list(by_image[image.image_id].class_index) == list(first.images[0].class_index)
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


def test_python_client_live_loop(service, data):
    with Client(service.address, timeout=60) as client:
        client.create_model("live-client", data.class_names, **TINY)
        with client.live_session("live-client", **LIVE) as live:
            key = live.add_image(data.image, data.labels, axes=data.axes, name="cells")
            with pytest.raises(InvalidInputError, match="'bright '"):
                live.label(key, by_class(data, 2, 1)[0], "bright ")
            updates = live.updates()
            first = next(updates)
            assert first.state == "WAITING" and first.sequence == 0
            live.set_labels(key, {i: "dim" for i in by_class(data, 1, 3)})
            version = live.set_labels(key, {i: "bright" for i in by_class(data, 2, 3)})
            update = next(u for u in updates if u.sequence and u.updated_version >= version)
            updates.close()
            result = update.images[key]
            assert update.counts == {"dim": 3, "bright": 3} and update.state == "IDLE"
            assert result.probabilities.shape == (len(data.classes), 2)
            removed = live.remove(key, by_class(data, 2, 1))
            assert live.wait(removed).n_labels == 5
            saved = live.commit(save_labels=True)
            assert saved["version"] == 1 and saved["counts"] == {"dim": 3, "bright": 2}
        info = client.get_model("live-client")
        assert info.versions == [1] and info.counts == {"dim": 3, "bright": 2}
        assert service.live.of_model("live-client") is None  # closed on leaving the block


def test_the_training_set_seeds_the_session_and_commit_writes_labels_back(stub, data):
    image = create_model(stub, "live-set", data)  # every object of the image annotated
    request = pb.OpenLiveSessionRequest(
        model="live-set", include_training_set=True, live_settings_json=json.dumps(LIVE)
    )
    info = stub.OpenLiveSession(request)
    assert info.n_labels == len(data.classes) and list(info.image_ids) == [image.image_id]
    dropped = by_class(data, 1, 1)[0]
    version = stub.UpdateLiveSession(pb.UpdateLiveSessionRequest(
        session_id=info.session_id,
        changes=[pb.LabelChange(image_id=image.image_id, label=dropped, remove=True)],
    )).labels_version  # fmt: skip
    update = wait_update(stub, info.session_id, version)
    assert update.session.n_labels == len(data.classes) - 1 and not update.images  # unwatched
    reply = stub.CommitLiveSession(pb.CommitLiveSessionRequest(session_id=info.session_id,
                                                               save_labels=True))  # fmt: skip
    assert reply.version == 1
    assert sum(c.count for c in reply.training_set.counts) == len(data.classes) - 1
    stub.CloseLiveSession(pb.CloseLiveSessionRequest(session_id=info.session_id))


def test_a_new_session_imports_what_its_first_update_needs_before_any_label(tmp_path):
    """The first update waited 1.0-1.3 s for torch._dynamo, which torch's optimizers load on
    their first use; the session's worker now imports it while the user looks at the image
    (a fresh interpreter: this one has long imported it)."""
    code = f"""
import sys, time
from phenosort.client import Client
from phenosort.service.server import create_server
from phenosort.testing import make_objects

server = create_server(store={str(tmp_path)!r})
data = make_objects("brightness", grid=(4, 4), seed=1)
with Client(server.address) as client:
    client.create_model("m", data.class_names)
    with client.live_session("m") as live:
        live.add_image(data.image, data.labels, axes=data.axes, name="a")
        deadline = time.monotonic() + 60
        while "torch._dynamo" not in sys.modules and time.monotonic() < deadline:
            time.sleep(0.05)
        print("imported" if "torch._dynamo" in sys.modules else "not imported")
server.stop(grace=0)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "imported", proc.stdout
