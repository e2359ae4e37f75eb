"""Many images predicted together: small images' objects share the network's batches, and
every image gets what :meth:`ObjectClassifier.predict` alone gives it, or its own error."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tifffile

import phenosort.model.inference as inference_module
from conftest import FAST
from phenosort.batch import image_job
from phenosort.batch.image_job import OutputOptions
from phenosort.batch.serial import local_predictor, run_serial
from phenosort.classifier import ObjectClassifier, Sample
from phenosort.dataio.pairs import Pair, find_pairs
from phenosort.dataio.read import ImageData
from phenosort.errors import InvalidInputError
from phenosort.testing import make_objects

BATCH = 32


@pytest.fixture(scope="module")
def clf():
    data = make_objects("brightness", grid=(4, 4), seed=1)
    clf = ObjectClassifier(data.class_names, **{**FAST, "train_epochs": 3})
    clf.fit([Sample(data.image, data.labels, data.classes, data.axes)])
    clf.config = clf.config.updated(predict_batch_size=BATCH)
    return clf


def _images() -> list[tuple[ImageData, np.ndarray]]:
    """Small images (9 objects), a large one (144 objects: more than 4 batches, so cut
    batch by batch), an empty mask, and one with a channel too many, in an order that makes
    every kind of group."""
    out = []
    for kind, seed in (("small", 2), ("small", 3), ("large", 4), ("empty", 5), ("small", 6),
                       ("two channels", 7), ("small", 8), ("small", 9)):  # fmt: skip
        d = make_objects("brightness", grid=(12, 12) if kind == "large" else (3, 3), seed=seed)
        image, labels = d.image, d.labels
        if kind == "empty":
            labels = np.zeros_like(labels)
        if kind == "two channels":
            image = np.stack([image, image], axis=-1)
        out.append((ImageData(image, "YXC" if image.ndim == 3 else "YX", None, None), labels))
    return out


def _images_of(seeds, grids) -> list[tuple[ImageData, np.ndarray]]:
    """Generated grey ``brightness`` images, one per seed, of ``grids`` objects per axis:
    one grid for every seed, or a list of one per seed."""
    seeds = list(seeds)
    grids = [grids] * len(seeds) if isinstance(grids[0], int) else grids
    out = []
    for seed, grid in zip(seeds, grids, strict=True):
        d = make_objects("brightness", grid=grid, seed=seed)
        out.append((ImageData(d.image, "YX", None, None), d.labels))
    return out


def _batch_sizes(clf: ObjectClassifier) -> list[int]:
    """The batch sizes the inference network is called with, recorded by a forward hook."""
    sizes: list[int] = []
    assert clf._batched_inference().batch_size == BATCH  # (sizes its batches: not recorded)
    net = clf._inference_network(clf.net, clf.device)
    net.register_forward_pre_hook(lambda _m, args: sizes.append(int(args[0].shape[0])))
    return sizes


def _predict_with_hook(clf: ObjectClassifier, hook, images) -> list:
    """``predict_images`` of ``images`` (an iterable) with ``hook`` as a forward pre-hook
    of the inference network (it sees every batch)."""
    net = clf._inference_network(clf.net, clf.device)
    handle = net.register_forward_pre_hook(hook)
    try:
        return list(clf.predict_images(images))
    finally:
        handle.remove()


def _assert_as_alone(clf: ObjectClassifier, images, outcomes) -> None:
    """Each outcome has the probabilities that ``predict`` alone gives its image."""
    for (image, labels), outcome in zip(images, outcomes, strict=True):
        alone = clf.predict(image.array, labels, axes=image.axes)
        np.testing.assert_allclose(outcome.probabilities, alone.probabilities, atol=1e-5)


def test_each_image_gets_its_own_prediction_or_error(clf):
    images = _images()
    sizes = _batch_sizes(clf)
    outcomes = list(clf.predict_images(iter(images)))
    together = list(sizes)
    sizes.clear()
    assert len(outcomes) == len(images)
    for (image, labels), outcome in zip(images, outcomes):
        if image.array.ndim == 3:  # the model was trained on one channel
            assert isinstance(outcome, InvalidInputError)
            with pytest.raises(InvalidInputError, match=str(outcome)[:30]):
                clf.predict(image.array, labels, axes=image.axes)
            continue
        alone = clf.predict(image.array, labels, axes=image.axes)
        assert np.array_equal(outcome.label_id, alone.label_id)  # the user's IDs, in order
        np.testing.assert_allclose(outcome.probabilities, alone.probabilities, atol=1e-5)
        assert np.array_equal(outcome.class_map(), alone.class_map())
        assert np.array_equal(outcome.in_training_set, alone.in_training_set)
    # the small images before the large one in one batch (18), the large one in its own
    # (4 x 32 + 16), the rest in one (27): in CPU streams they run side by side, in any
    # order; alone, every small image with objects is a call of its own
    assert sorted(together) == [16, 18, 27, 32, 32, 32, 32]
    assert len(sizes) == 10


@pytest.mark.parametrize("streams", [1, 2])
def test_small_images_start_once_they_fill_a_batch(clf, monkeypatch, streams):
    """Eight images of 9 objects: a group starts once its objects fill a batch (36
    objects: 32 + 4, twice), with one stream or two; with two, the second group runs in the
    other stream while the next is cut, instead of waiting for two batches' objects."""
    monkeypatch.setattr(inference_module, "stream_count", lambda _device: streams)
    images = _images_of(range(10, 18), (3, 3))
    sizes = _batch_sizes(clf)
    assert all(not isinstance(p, Exception) for p in clf.predict_images(iter(images)))
    assert sorted(sizes) == [4, 4, 32, 32]


@pytest.mark.parametrize("streams", [1, 2])
def test_an_image_of_a_few_batches_joins_a_group(clf, monkeypatch, streams):
    """An image of 36 objects (a batch and a bit) after one of 9 is cut whole and joins its
    group (45 objects: 32 + 13), instead of flushing the 9 as a batch of their own and
    being cut batch by batch (9, 32, 4); each still gets its own prediction."""
    monkeypatch.setattr(inference_module, "stream_count", lambda _device: streams)
    images = _images_of([80, 81], [(3, 3), (6, 6)])
    sizes = _batch_sizes(clf)
    outcomes = list(clf.predict_images(iter(images)))
    assert sorted(sizes) == [13, 32]
    _assert_as_alone(clf, images, outcomes)


def test_a_group_whose_network_fails_gives_its_images_the_error(clf, monkeypatch):
    """In CPU streams a group runs while the next one is cut: a failure of the network (out
    of memory) in one group is each of its images' error; the next group is predicted."""
    monkeypatch.setattr(inference_module, "stream_count", lambda _device: 2)
    # four groups of 4 images of 9 objects: batches 32, 4
    images = _images_of(range(20, 36), (3, 3))
    failed = []

    def out_of_memory(_module, args):
        if int(args[0].shape[0]) == 4 and not failed:  # the first group's last batch
            failed.append(True)
            raise RuntimeError("out of memory (simulated)")

    outcomes = _predict_with_hook(clf, out_of_memory, iter(images))
    assert all(isinstance(o, RuntimeError) and "simulated" in str(o) for o in outcomes[:4])
    _assert_as_alone(clf, images[4:], outcomes[4:])


def test_a_folder_writes_what_each_image_alone_writes(clf, tmp_path):
    """``run_serial`` with the in-process classifier (grouped) against the same images one
    by one: the same files, and an unreadable mask fails only its own image."""
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, (image, labels) in enumerate(_images()):
        tifffile.imwrite(root / "images" / f"im{i}.tif", image.array)
        tifffile.imwrite(root / "masks" / f"im{i}.tif", labels)
    (root / "masks" / "im1.tif").write_bytes(b"not a tiff")
    pairs = find_pairs(root)
    names = tuple(clf.class_names)
    grouped, alone = tmp_path / "grouped", tmp_path / "alone"
    for out in (grouped, alone):
        out.mkdir()
    seen: list[str] = []
    together = run_serial(pairs, local_predictor(clf), OutputOptions(grouped, names),
                          done=lambda r: seen.append(r.stem))  # fmt: skip
    one_by_one = run_serial(pairs, lambda im, lab: clf.predict(im.array, lab, axes=im.axes),
                            OutputOptions(alone, names))  # fmt: skip
    assert [r.stem for r in together] == [p.stem for p in pairs]
    assert sorted(seen) == sorted(p.stem for p in pairs)  # each image reported once
    failed = {r.stem: r.error for r in together if r.error}
    assert set(failed) == {"im1", "im5"}  # the bad mask, the two-channel image
    assert failed == {r.stem: r.error for r in one_by_one if r.error}
    for a, b in zip(together, one_by_one):
        assert a.summary == b.summary
    assert sorted(p.name for p in grouped.iterdir()) == sorted(p.name for p in alone.iterdir())
    for path in alone.iterdir():
        assert np.array_equal(tifffile.imread(path), tifffile.imread(grouped / path.name))


def test_a_large_image_writes_what_a_small_one_writes(clf, tmp_path, monkeypatch):
    """Above ``_THREADED_PAINT_VOXELS`` the class map is painted in a helper thread while
    the rows are formatted: the same files and rows as one after the other, and a file
    that cannot be written fails the image the same way."""
    d = make_objects("brightness", grid=(3, 3), seed=2)
    image = ImageData(d.image, "YX", None, None)
    pred = clf.predict(d.image, d.labels)
    names = tuple(clf.class_names)
    outcomes = {}
    for threshold in (d.labels.size + 1, 0):  # one after the other, then threaded
        monkeypatch.setattr(image_job, "_THREADED_PAINT_VOXELS", threshold)
        out = tmp_path / f"out{threshold}"
        options = OutputOptions(out, names, rois=True, class_masks=True, confidence=True)
        pair = Pair("im", tmp_path / "im.tif", tmp_path / "mask.tif")
        result = image_job.write_outputs(pair, image, d.labels, pred, options)
        (out / "blocked_classes.tif").mkdir()  # a folder where the class map goes
        blocked = Pair("blocked", pair.image_path, pair.mask_path)
        with pytest.raises(OSError, match=r"blocked_classes\.tif") as error:
            image_job.write_outputs(blocked, image, d.labels, pred, options)
        outcomes[threshold] = (result, out, type(error.value))
    (serial, first, error_serial), (threaded, second, error_threaded) = outcomes.values()
    assert threaded == serial and error_threaded == error_serial
    assert serial.rows.count("\r\n") == len(pred.label_id)
    names_written = sorted(p.name for p in first.iterdir() if p.is_file())
    assert names_written == sorted(p.name for p in second.iterdir() if p.is_file())
    assert {"im_classes.tif", "im_classes.zip", "im_confidence.tif"} < set(names_written)
    for name in names_written:
        if name.endswith(".tif"):
            assert np.array_equal(tifffile.imread(first / name), tifffile.imread(second / name))
        elif name.endswith(".zip"):
            assert (first / name).read_bytes() == (second / name).read_bytes()


def _large_images(seeds) -> list[tuple[ImageData, np.ndarray]]:
    """Images of 144 objects: more than 4 batches, each predicted on its own, cut batch by
    batch."""
    return _images_of(seeds, (12, 12))


def test_a_large_image_runs_while_the_next_image_is_read(clf, monkeypatch):
    """In CPU streams a large image's batches run while the next image is read and cut:
    here its network waits until the next image has been asked for, which a prediction
    that waited for the network first would never do. At most two large images are held:
    when the k-th prediction comes, at most k + 2 images have been read."""
    monkeypatch.setattr(inference_module, "stream_count", lambda _device: 2)
    images = _large_images(range(40, 44))
    asked = threading.Event()
    read: list[int] = []

    def reader():
        for i, pair in enumerate(images):
            read.append(i)
            if i == 1:
                asked.set()
            yield pair

    def wait_for_the_next_image(_module, _args):
        if not asked.is_set():
            assert asked.wait(timeout=20), "the network ran before the next image was read"

    def outcomes():
        for k, outcome in enumerate(clf.predict_images(reader())):
            assert len(read) <= k + 2
            yield outcome

    net = clf._inference_network(clf.net, clf.device)
    handle = net.register_forward_pre_hook(wait_for_the_next_image)
    try:
        given = list(outcomes())
    finally:
        handle.remove()
    _assert_as_alone(clf, images, given)


def test_a_large_image_whose_network_fails_gets_the_error_alone(clf, monkeypatch):
    monkeypatch.setattr(inference_module, "stream_count", lambda _device: 2)
    images = _images_of(range(50, 53), [(12, 12), (12, 13), (12, 12)])  # all large

    def fail_in_the_second_image(_module, args):
        if int(args[0].shape[0]) == 156 - 4 * BATCH:  # the second image's last batch
            raise RuntimeError("out of memory (simulated)")

    outcomes = _predict_with_hook(clf, fail_in_the_second_image, iter(images))
    assert isinstance(outcomes[1], RuntimeError) and "simulated" in str(outcomes[1])
    _assert_as_alone(clf, images[::2], outcomes[::2])


def test_a_finished_group_is_given_back_before_more_images_are_read(clf, monkeypatch):
    """With one stream (a GPU) a group's network has finished when it is started: its
    predictions go to the caller (to be written) before the next image is read, rather
    than waiting behind groups that run ahead. Groups of 4 images of 9 objects (36)."""
    monkeypatch.setattr(inference_module, "stream_count", lambda _device: 1)
    images = _images_of(range(60, 72), (3, 3))
    read: list[int] = []

    def reader():
        for i, pair in enumerate(images):
            read.append(i)
            yield pair

    for k, outcome in enumerate(clf.predict_images(reader())):
        assert not isinstance(outcome, Exception)
        assert len(read) == 4 * (k // 4 + 1)  # the images of its own group, no more
