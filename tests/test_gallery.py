"""Class galleries: which objects, in which order, keyed by which label IDs, and what the
tiles show (phenosort.gallery, phenosort.montage, ``phenosort gallery``)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile
from matplotlib.image import imread

from phenosort.classes import class_colors
from phenosort.classifier import Sample
from phenosort.cli import main
from phenosort.errors import InvalidInputError
from phenosort.gallery import (
    LEAST_CERTAIN,
    MANIFEST,
    Tile,
    select,
    spread,
    training_gallery,
)
from phenosort.montage import FRAME_COLORS, OUTLINE, display_range, draw_montage, object_tile


def _tile(i: int, k: int, conf: float, margin: float, image: str = "a") -> Tile:
    return Tile(image, i, k, ["x", "y"][k - 1], conf, margin)


def test_spread_keeps_both_ends_and_order():
    assert spread(5, 10).tolist() == [0, 1, 2, 3, 4]
    assert spread(101, 5).tolist() == [0, 25, 50, 75, 100]
    assert spread(7, 1).tolist() == [0]


def test_select_sorts_by_confidence_and_margin():
    tiles = [_tile(10 + i, 1 + i % 2, c, m) for i, (c, m) in enumerate(
        [(0.6, 0.2), (0.9, 0.8), (0.99, 0.98), (0.7, 0.4), (0.55, 0.1), (0.95, 0.9)]
    )]  # fmt: skip
    montages = select(tiles, ["x", "y"], per_class=10, least_certain=3)
    assert [m.name for m in montages] == ["x", "y", LEAST_CERTAIN]
    x, y, unsure = montages
    assert [t.label_id for t in x.tiles] == [12, 10, 14]  # class 1: 0.99, 0.6, 0.55
    assert [t.label_id for t in y.tiles] == [15, 11, 13]  # class 2: 0.95, 0.9, 0.7
    assert [t.label_id for t in unsure.tiles] == [14, 10, 13]  # margins 0.1, 0.2, 0.4
    # fewer tiles than objects: spread over the ranking, most and least sure kept
    many = [_tile(i, 1, 1 - i / 100, 0.5) for i in range(1, 51)]
    chosen = select(many, ["x", "y"], per_class=5, least_certain=0)
    assert len(chosen) == 2
    assert [t.label_id for t in chosen[0].tiles] == [1, 13, 25, 38, 50]
    with pytest.raises(InvalidInputError, match="per_class"):
        select(many, ["x", "y"], per_class=0)


def test_object_tile_shows_the_object_with_its_outline():
    image = np.zeros((60, 80), np.uint16)
    labels = np.zeros((60, 80), np.uint16)
    labels[20:30, 40:52] = 7  # a 10 x 12 box at rows 20-29, columns 40-51
    image[labels == 7] = 1000
    labels[0:5, 0:5] = 3  # another object, elsewhere
    window = np.array([[0.0, 1000.0]])
    tile = object_tile(image[None], labels, 7, (20, 40), (30, 52), window, size=64)
    assert tile.shape == (64, 64, 3) and tile.dtype == np.uint8
    assert (tile[32, 32] == 255).all()  # the centre: the bright object, white
    assert (tile[2, 2] == 0).all()  # the corner: dark background
    outline = (tile == OUTLINE).all(axis=2)
    assert outline.sum() > 20
    rows, cols = np.nonzero(outline)
    assert abs(rows.mean() - 32) < 3 and abs(cols.mean() - 32) < 3  # centred


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def test_frames_are_black_and_white_dashes_never_a_class_colour():
    """A "wrong" or "unsure" mark is a dashed black-and-white frame: no pixel of it has a
    class colour (class 2's swatch is red, the colour a red frame once had), and "wrong" is
    thicker than "unsure"."""
    grey = [np.full((48, 48, 3), 128, np.uint8) for _ in range(3)]
    drawn = draw_montage(grey, [("a", "b")] * 3, title="t", frames=["wrong", "unsure", ""])
    palette = {_hex_rgb(c) for c in class_colors(32)}
    widths = []
    for (x0, y0, x1, y1), mark in zip(drawn.boxes, ["wrong", "unsure", ""]):
        tile = drawn.pixels[y0:y1, x0:x1].reshape(-1, 3)
        colours = {tuple(int(v) for v in p) for p in tile}
        if not mark:
            assert colours == {(128, 128, 128)}
            continue
        assert colours == {(128, 128, 128), *FRAME_COLORS}  # grey inside, dashes on the edge
        assert not colours & palette
        row = drawn.pixels[y0 + 24, x0:x1]  # across the middle: frame pixels at both ends
        widths.append(int((row != 128).any(axis=1)[:24].sum()))
    assert widths[0] > widths[1] >= 1


@pytest.fixture(scope="module")
def gallery(trained, brightness_data):
    _, test = brightness_data
    pred = trained.predict(test.image, test.labels, axes=test.axes)
    g = pred.gallery(test.image, test.labels, axes=test.axes, name="test", per_class=1000,
                     least_certain=10, tile_size=48, columns=6)  # fmt: skip
    return pred, g


def test_gallery_holds_every_object_of_its_class_most_sure_first(gallery):
    pred, g = gallery
    rows = g.manifest()
    for k, name in enumerate(pred.class_names, start=1):
        mine = [r for r in rows if r["montage"] == name]
        expected = pred.label_id[pred.class_index == k]
        assert sorted(r["label"] for r in mine) == sorted(expected.tolist())
        conf = [r["confidence"] for r in mine]
        assert conf == sorted(conf, reverse=True)
        for r in mine:  # the tile under each ID carries that object's own prediction
            row = int(np.searchsorted(pred.label_id, r["label"]))
            assert r["class"] == k and r["class_name"] == name
            assert r["confidence"] == pytest.approx(pred.confidence[row], abs=1e-6)
            assert r["image"] == "test"
        assert [r["position"] for r in mine] == list(range(len(mine)))
    unsure = [r["label"] for r in rows if r["montage"] == LEAST_CERTAIN]
    order = np.lexsort((pred.label_id, pred.margin))[:10]
    assert unsure == pred.label_id[order].tolist()


def test_gallery_tiles_show_their_objects(gallery):
    """Bright-class tiles are brighter at the centre than dim-class ones, and each tile's
    box in the PNG holds that tile."""
    _, g = gallery
    centre = {}
    for m in g.montages[:2]:
        px, boxes = m.drawn.pixels, m.drawn.boxes
        assert len(boxes) == len(m.tiles)
        vals = [px[y0 + 20 : y1 - 20, x0 + 20 : x1 - 20].mean() for x0, y0, x1, y1 in boxes]
        centre[m.name] = np.mean(vals)
        assert boxes[:, 2].max() <= px.shape[1] and boxes[:, 3].max() <= px.shape[0]
    assert centre["bright"] > centre["dim"] + 20


def test_gallery_save_writes_pngs_and_manifest_and_never_overwrites(gallery, tmp_path):
    _, g = gallery
    paths = g.save(tmp_path / "g")
    names = sorted(p.name for p in paths)
    assert names == sorted(["1-dim.png", "2-bright.png", "least_certain.png", MANIFEST])
    for m in g.montages:
        png = imread(tmp_path / "g" / m.file_name)
        assert png.shape[:2] == m.drawn.pixels.shape[:2]
    with open(tmp_path / "g" / MANIFEST, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["label"]) for r in rows] == [r["label"] for r in g.manifest()]
    assert [r["montage"] for r in rows] == [r["montage"] for r in g.manifest()]
    with pytest.raises(InvalidInputError, match="exist already"):
        g.save(tmp_path / "g")
    g.save(tmp_path / "g", overwrite=True)


def test_training_gallery_marks_wrong_labels_first(trained, brightness_data):
    """Objects labelled with the other class than they are get a red 'wrong' mark and lead
    their labelled class's montage."""
    _, test = brightness_data
    ids = sorted(test.classes)[:12]
    flipped = set(ids[:3])
    annotations = {i: (3 - test.classes[i]) if i in flipped else test.classes[i] for i in ids}
    sample = Sample(test.image, test.labels, annotations, test.axes, None, "test")
    g = training_gallery(trained, [sample], per_class=50, tile_size=32)
    rows = g.manifest()
    assert sorted(r["label"] for r in rows) == ids
    pred = trained.predict(test.image, test.labels, axes=test.axes, label_ids=ids)
    expected = {int(i) for i, k in zip(pred.label_id, pred.class_index) if k != annotations[i]}
    wrong = {r["label"] for r in rows if r["mark"] == "wrong"}
    assert wrong == expected
    assert flipped <= wrong  # brightness is learnt: the flipped labels are the wrong ones
    for r in rows:
        assert r["true_class"] == annotations[r["label"]]
        assert (r["class"] != r["true_class"]) == (r["mark"] == "wrong")
    for m in g.montages:  # least sure of the labelled class first: wrong ones lead
        p_true = [t.margin for t in m.tiles]
        assert p_true == sorted(p_true)
        marks = [t.mark for t in m.tiles]
        assert marks == sorted(marks, key=lambda s: s != "wrong")


def test_cli_gallery(trained, brightness_data, tmp_path, capsys):
    _, test = brightness_data
    data = tmp_path / "data"
    for folder, array in (("images", test.image), ("masks", test.labels)):
        (data / folder).mkdir(parents=True)
        tifffile.imwrite(data / folder / "cells.tif", array, imagej=True)
    model = trained.save(tmp_path / "m.phenosort")
    out = tmp_path / "gallery"
    argv = ["gallery", str(data), "--model", str(model), "--out", str(out), "--per-class", "5",
            "--least-certain", "4", "--quiet", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    with open(out / MANIFEST, newline="") as fh:
        rows = list(csv.DictReader(fh))
    pred = trained.predict(test.image, test.labels, axes=test.axes)
    for k, name in enumerate(trained.class_names, start=1):
        mine = [r for r in rows if r["montage"] == name]
        members = np.flatnonzero(pred.class_index == k)
        ranked = members[np.lexsort((pred.label_id[members], -pred.confidence[members]))]
        expected = pred.label_id[ranked[spread(ranked.size, 5)]]
        assert [int(r["label"]) for r in mine] == expected.tolist()
        assert all(r["image"] == "cells" for r in mine)
    assert sum(r["montage"] == LEAST_CERTAIN for r in rows) == 4
    capsys.readouterr()
    assert main(argv) == 2  # outputs exist: refused without --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert main([*argv[:5], str(data / "out"), "--quiet"]) == 2  # inside the data folder


def test_flat_images_of_huge_values_get_a_usable_display_range():
    """A flat uint64 image at its maximum: the range still has a width (no 0/0 in tiles)."""
    image = np.full((40, 40), np.iinfo(np.uint64).max, np.uint64)
    labels = np.zeros((40, 40), np.uint16)
    labels[10:20, 10:20] = 5
    window = display_range(image)
    assert window[0, 1] > window[0, 0]
    with np.errstate(all="raise"):
        tile = object_tile(image[None], labels, 5, (10, 10), (20, 20), window, size=32)
    assert tile.shape == (32, 32, 3) and (tile == OUTLINE).all(axis=2).any()
