"""Plugins > PhenoSort > Class Gallery in a real ImageJ under Xvfb against a real server: the
command run by macro shows the server's montages as a stack whose tiles map to the user's
label IDs, in confidence order; a tile clicked with the mouse (java.awt.Robot through the X
server) selects its object in the source image, and with Annotate Objects running, key 2
pressed then gives that object class 2."""

from __future__ import annotations

import os
import shutil

import pytest
import tifffile

from phenosort.client import Client

from .conftest import SENTINEL
from .test_annotate_clicks import (
    CENTRES,
    CLASSES,
    play_and_finish,
    start_imagej,
    start_xvfb,
    stop,
    wait_for,
    write_images,
)

API = "org.phenosort.phenosort.macro.GalleryApi"
FIRST = 500  # label IDs 500..507: the user's, never renumbered
OPTIONS = "per_class=8 least_certain=3 tile_size=64 columns=4"


@pytest.fixture(scope="module")
def gallery_model(server, tmp_path_factory):
    """Model "gal" trained on the 8 round (bright) and square (dim) objects; the images."""
    folder = tmp_path_factory.mktemp("gallery-data")
    img, lab = write_images(folder, stack=False, first_label=FIRST)
    image, labels = tifffile.imread(img), tifffile.imread(lab)
    classes = {FIRST + i: 1 + i % 2 for i in range(len(CENTRES))}  # even: round, odd: square
    with Client(server) as client:
        client.create_model("gal", CLASSES, net_width=8, train_epochs=10, train_patience=0,
                            train_min_epoch_samples=64, patch_size=32)  # fmt: skip
        client.add_training_data("gal", image, labels, classes, axes="YX")
        client.train("gal")
        expected = client.gallery(
            "gal", image, labels, axes="YX", name="cells.tif", per_class=8, least_certain=3,
            tile_size=64, columns=4,
        )  # fmt: skip
    return server, img, lab, expected


def _connect(server: str) -> str:
    host, port = server.split(":")
    return f'run("Connect to Server", "host={host} port={port}");\n'


def test_class_gallery_by_macro_maps_tiles_to_label_ids(run_macro, gallery_model):
    server, img, lab, expected = gallery_model
    body = (
        _connect(server)
        + f"""
open("{lab}"); open("{img}");
run("Class Gallery", "image=cells.tif labels=cells-labels.tif model=gal version=0 {OPTIONS}");
g = "cells-gallery";
selectImage(g);
emit("slices=" + nSlices);
for (s = 1; s <= nSlices; s++) {{
    setSlice(s);
    emit("slice=" + s + "|" + getInfo("slice.label"));
    for (p = 0; p < 100; p++) {{
        r = call("{API}.tile", g, "" + s, "" + p);
        if (startsWith(r, "error")) p = 100; else emit("tile=" + s + "|" + r);
    }}
}}
// a "click" on the second tile of the second slice, then one between tiles
t = call("{API}.tile", g, "2", "1");
x = substring(t, indexOf(t, " x=") + 3, indexOf(t, " y="));
y = substring(t, indexOf(t, " y=") + 3);
emit("clicked=" + call("{API}.select", g, "2", x, y));
emit("selected=" + call("{API}.selected", g));
selectImage("cells.tif");
emit("roi=" + selectionType() + "|" + Roi.getProperty("label") + "|" + Roi.getName);
emit("gap=" + call("{API}.select", g, "1", "2", "2"));
emit("bad=" + call("{API}.tile", "cells.tif", "1", "0"));
run("Class Gallery", "image=cells.tif labels=cells-labels.tif model=nope version=0 {OPTIONS}");
"""
    )
    result = run_macro(body)
    montages = expected.montages
    assert result.value("slices") == str(len(montages)) == "3"  # round, square, least certain
    for s, m in enumerate(montages, start=1):
        shown = [v.split("|")[1] for v in result.values("tile") if v.startswith(f"{s}|")]
        labels = [int(v.split(" ")[1].removeprefix("label=")) for v in shown]
        assert labels == [t.label_id for t in m.tiles]  # the server's order: most sure first
        assert all(f"image=cells.tif class={t.class_index} " in v for v, t in zip(shown, m.tiles))
    assert result.values("slice") == [f"{s}|{m.title}" for s, m in enumerate(montages, start=1)]
    conf = [t.confidence for t in montages[0].tiles]
    assert conf == sorted(conf, reverse=True)
    assert sorted(t.label_id for m in montages[:2] for t in m.tiles) == list(
        range(FIRST, FIRST + 8)
    )
    target = montages[1].tiles[1].label_id
    assert result.value("clicked") == f"ok label={target} image=cells.tif"
    assert result.value("selected") == f"ok label={target} image=cells.tif"
    kind, label, name = result.value("roi").split("|")
    assert int(kind) != -1 and (int(label), name) == (target, f"object {target}")  # an outline
    assert result.value("gap") == "none"
    assert result.value("bad") == "error: 'cells.tif' is not a PhenoSort class gallery"
    assert "Class gallery failed" in result.output and "nope" in result.output


STEPS = """
click {x} {y}
sleep 800
key 2
sleep 500
shot {shot}
"""

MACRO = """
var OUT = "{out}";
function emit(s) {{ File.append(s, OUT); }}
{connect}
open("{lab}");
setLocation(20, 40);
open("{img}");
setLocation(20, 330);
run("Annotate Objects", "image=cells.tif labels=cells-labels.tif classes=[round,square] model=gal");
run("Class Gallery", "image=cells.tif labels=cells-labels.tif model=gal version=0 {options}");
g = "cells-gallery";
selectImage(g);
setLocation(300, 40);
wait(500);
t = call("{api}.tile", g, "1", "1");
where = call("org.phenosort.phenosort.testing.ScreenInfo.canvas", g);
File.saveString(where + "\\n" + t, "{ready}");
start = getTime();
while (!File.exists("{done}") && getTime() - start < 300000) wait(100);
function annotated() {{
    for (i = 0; i < roiManager("count"); i++) {{
        roiManager("select", i);
        if (Roi.getProperty("label") != "") return true;
    }}
    return false;
}}
while (!annotated() && getTime() - start < 300000) wait(200);
emit("selected=" + call("{api}.selected", g));
for (i = 0; i < roiManager("count"); i++) {{
    roiManager("select", i);
    emit("roi=" + Roi.getName + "|" + Roi.getGroup + "|" + Roi.getProperty("label"));
}}
emit("{sentinel}");
roiManager("reset");
close("*");
run("Quit");
"""


def test_click_on_a_tile_selects_its_object_and_key_2_sets_its_class(
    imagej_home, gallery_model, tmp_path
):
    server, img, lab, expected = gallery_model
    tile = expected.montages[0].tiles[1]  # the second tile of "round"
    out, ready, done = (tmp_path / n for n in ("out.txt", "ready", "done"))
    macro = tmp_path / "gallery.ijm"
    macro.write_text(
        MACRO.format(
            out=out,
            connect=_connect(server).strip(),
            lab=lab,
            img=img,
            options=OPTIONS,
            api=API,
            ready=ready,
            done=done,
            sentinel=SENTINEL,
        )
    )
    xvfb, display = start_xvfb()
    env = {**os.environ, "DISPLAY": display, "LC_ALL": "C"}
    log = tmp_path / "imagej.log"
    shot = tmp_path / "screen.png"
    try:
        with log.open("w") as sink:
            ij = start_imagej(macro, tmp_path, imagej_home, env, sink)
        try:
            wait_for(ready, ij, log, env, 180)
            canvas, tile_info = ready.read_text().splitlines()
            assert not canvas.startswith("error"), canvas
            assert f"label={tile.label_id} " in tile_info, tile_info
            fields = dict(kv.split("=") for kv in tile_info.split()[1:])
            steps = tmp_path / "steps.txt"
            steps.write_text(STEPS.format(x=fields["x"], y=fields["y"], shot=shot))
            play_and_finish(ij, env, canvas, steps, done, out, log, tmp_path)
        finally:
            if ij.poll() is None:
                ij.kill()
                ij.wait()
    finally:
        stop(xvfb)
    lines = out.read_text().splitlines() if out.exists() else []
    assert SENTINEL in lines, f"emitted {lines}\n{log.read_text()[-4000:]}"
    values = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines if "=" in line}
    assert values["selected"] == f"ok label={tile.label_id} image=cells.tif"
    rois = [line.split("=", 1)[1].split("|") for line in lines if line.startswith("roi=")]
    assert rois == [[f"square-{tile.label_id}", "2", str(tile.label_id)]], rois
    assert shot.is_file()
    keep = os.environ.get("PHENOSORT_GALLERY_SHOT")  # a screenshot for the README
    if keep:
        shutil.copy(shot, keep)
