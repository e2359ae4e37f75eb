"""Annotate Objects in live mode, as a person uses it: a real ImageJ under Xvfb, real mouse
clicks and key presses (java.awt.Robot in its own JVM) and a real server on loopback.

The macro starts the command with ``live``; the test plays the clicks and keys phase by phase
and the macro reports, between phases, what the live overlay shows (``LiveApi``). The test
compares that with the service's own predictions of the live model (a Python client attached
to the same live session), checks that ``s`` proposes the object the live model is least sure
of, that ``l`` hides and shows the overlay, that ``c`` saves the live model as a version, that
a session closed behind the plugin's back turns live mode off with one Log line while
annotating goes on, and that closing the image closes the live session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from phenosort.client import Client
from phenosort.errors import InvalidInputError
from phenosort.testing import make_objects

from .conftest import SENTINEL
from .test_annotate_clicks import (
    diagnose,
    robot_driver,
    start_imagej,
    start_xvfb,
    stop,
    wait_for,
    write_images,
)

API = "org.phenosort.phenosort.macro.LiveApi"
SCREEN_INFO = "org.phenosort.phenosort.testing.ScreenInfo"
MODEL = "livecells"
ZOOM = 3  # the 144x144 image shown at 300 %
# objects whose brightness is made halfway between the classes: the live model cannot be sure
IN_BETWEEN = (22455, 39980, 47172)
# where the README screenshot is cut from the screen: the image window, ImageJ's window (its
# status bar) and the Log beside it
SHOT_REGION = (10, 30, 1070, 470)

MACRO = """
var OUT = "{out}";
function emit(s) {{ File.append(s, OUT); }}
function waitFile(f) {{
    t0 = getTime();
    while (!File.exists(f) && getTime() - t0 < 300000) wait(100);
}}
function state() {{ return call("{api}.state", "cells.tif"); }}
function field(s, key) {{
    i = indexOf(s, " " + key + "=");
    if (i < 0) return "";
    rest = substring(s, i + lengthOf(key) + 2);
    j = indexOf(rest, " ");
    if (j < 0) return rest;
    return substring(rest, 0, j);
}}
// the overlay shows the settled update (the full training) that reflects every label sent
function caughtUp(n) {{
    s = state();
    labels = field(s, "labels");
    sending = field(s, "sending");
    quick = field(s, "quick");
    sequence = field(s, "sequence");
    updated = field(s, "updated_version");
    version = field(s, "labels_version");
    settled = field(s, "settled");
    if (labels != "" + n || sending != "0" || quick != "false" || sequence == "0") return 0;
    if (settled != "true") return 0;
    if (updated != version) return 0;
    return 1;
}}
function logLines() {{
    logged = split(getInfo("log"), "\\n");
    for (i = 0; i < logged.length; i++)
        if (indexOf(logged[i], "PhenoSort") >= 0) emit("log=" + logged[i]);
}}
run("Connect to Server", "host={host} port={port}");
open("{lab}");
setLocation(1000, 600);
open("{img}");
setLocation(20, 40);
run("Set... ", "zoom={zoom}00 x=72 y=72");
run("Annotate Objects", "{options}");
print("\\\\Clear");
r = call("{screen}.place", "ImageJ", "480", "40", "590", "110");
r = call("{screen}.place", "Log", "480", "160", "590", "140");
File.saveString(call("{screen}.canvas", "cells.tif"), "{dir}/ready1");

// 1: the robot labels two dim and two bright objects
waitFile("{dir}/done1");
t0 = getTime();
while (caughtUp(4) == 0 && getTime() - t0 < 180000) wait(200);
emit("state1=" + state());
emit("overlay1=" + call("{api}.overlay", "cells.tif"));
emit("status1=" + call("{screen}.statusBar", ""));
r = call("{screen}.place", "ROI Manager", "1090", "40", "180", "300");  // out of the screenshot
File.saveString("go", "{dir}/ready2");

// 2: s proposes the least certain object; l hides the overlay
waitFile("{dir}/done2");
wait(300);
emit("state2=" + state());
emit("overlay2=" + call("{api}.overlay", "cells.tif"));
File.saveString("go", "{dir}/ready3");

// 3: l shows the overlay again; c saves the live model as a version
waitFile("{dir}/done3");
t0 = getTime();
while (indexOf(getInfo("log"), "saved as version") < 0 && getTime() - t0 < 240000) wait(200);
emit("state3=" + state());
emit("overlay3=" + call("{api}.overlay", "cells.tif"));
File.saveString("go", "{dir}/ready4");

// 4: the test closes the session behind the plugin's back: live mode turns off; annotating goes on
waitFile("{dir}/done4");
t0 = getTime();
while (indexOf(getInfo("log"), "live mode off") < 0 && getTime() - t0 < 60000) wait(200);
File.saveString("go", "{dir}/ready5");
waitFile("{dir}/done5");
t0 = getTime();
while (roiManager("count") < 5 && getTime() - t0 < 60000) wait(200);
emit("state4=" + state());
emit("overlay4=" + call("{api}.overlay", "cells.tif"));
emit("rois4=" + roiManager("count"));

// 5: live mode again (the five labels go to a new session), then the image closes
run("Annotate Objects", "{options}");
t0 = getTime();
labels = "";
while (labels != "5" && getTime() - t0 < 120000) {{
    wait(200);
    labels = field(state(), "labels");
}}
emit("state5=" + state());
close("cells.tif");
File.saveString("go", "{dir}/ready6");
waitFile("{dir}/done6");
logLines();
emit("{sentinel}");
roiManager("reset");
close("*");
run("Quit");
"""


def inner_points(labels: np.ndarray) -> dict[int, tuple[int, int]]:
    """Per object, the pixel of the object nearest its centroid (x, y)."""
    out = {}
    for label in np.unique(labels[labels > 0]):
        ys, xs = np.nonzero(labels == label)
        i = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
        out[int(label)] = (int(xs[i]), int(ys[i]))
    return out


def parse_overlay(value: str) -> dict[int, tuple[str, str, float]]:
    """LiveApi.overlay's "ok label|class|kind|margin;..." -> {label: (class, kind, margin)}."""
    assert value.startswith("ok"), value
    body = value[2:].strip()
    out = {}
    for entry in filter(None, body.split(";")):
        label, cls, kind, margin = entry.split("|")
        out[int(label)] = (cls, kind, float(margin))
    return out


def fields(state: str) -> dict[str, str]:
    assert state.startswith("ok "), state
    return dict(kv.split("=", 1) for kv in state[3:].split() if "=" in kv)


@pytest.fixture(scope="module")
def live_data(server, tmp_path_factory):
    """A 36-object image (dim and bright; objects IN_BETWEEN made halfway between the two),
    its labels, and an untrained light model for it."""
    folder = tmp_path_factory.mktemp("live-data")
    data = make_objects("brightness", grid=(6, 6), seed=3)
    image = data.image.astype(np.float64)
    level = {k: np.mean([image[data.labels == i].mean() for i, c in data.classes.items() if c == k])
             for k in (1, 2)}  # fmt: skip
    for label in IN_BETWEEN:
        inside = data.labels == label
        image[inside] *= (level[1] + level[2]) / 2 / image[inside].mean()
    img, lab = folder / "cells.tif", folder / "cells-labels.tif"
    tifffile.imwrite(img, np.round(image).astype(data.image.dtype), imagej=True)
    tifffile.imwrite(lab, data.labels, imagej=True)
    with Client(server) as client:
        # few epochs: the full training on the settled labels stays short on a loaded machine
        client.create_model(MODEL, data.class_names, net_width=8, patch_size=32, train_epochs=10)
    return data, img, lab


class Phases:
    """Plays Robot steps phase by phase, in step with the macro's ready/done files."""

    def __init__(self, ij: subprocess.Popen, env: dict, folder: Path, log: Path) -> None:
        self.ij, self.env, self.folder, self.log = ij, env, folder, log
        self.canvas = ""

    def ready(self, n: int, timeout: float = 300) -> None:
        wait_for(self.folder / f"ready{n}", self.ij, self.log, self.env, timeout)

    def play(self, n: int, steps: str) -> None:
        path = self.folder / f"steps{n}.txt"
        path.write_text(steps)
        robot = subprocess.run([*robot_driver(), self.canvas, str(path)], env=self.env,
                               capture_output=True, text=True, timeout=180)  # fmt: skip
        assert "ROBOT-DONE" in robot.stdout, robot.stdout + robot.stderr
        self.done(n)

    def done(self, n: int) -> None:
        (self.folder / f"done{n}").write_text("done")


def test_live_mode_follows_the_labels_and_agrees_with_the_service(
    imagej_home, server, live_data, tmp_path
):
    data, img, lab = live_data
    points = inner_points(data.labels)
    dim = sorted(i for i, c in data.classes.items() if c == 1)
    bright = sorted(i for i, c in data.classes.items() if c == 2)
    labelled = {dim[0]: "dim", bright[0]: "bright", dim[1]: "dim", bright[1]: "bright"}
    fifth = bright[2]
    out = tmp_path / "out.txt"
    host, port = server.split(":")
    macro = tmp_path / "live.ijm"
    options = f"image=cells.tif labels=cells-labels.tif classes=[dim,bright] model={MODEL} live"
    fields_ = dict(out=out, host=host, port=port, img=img, lab=lab, api=API, screen=SCREEN_INFO)
    fields_.update(options=options, zoom=ZOOM, dir=tmp_path, sentinel=SENTINEL)
    macro.write_text(MACRO.format(**fields_))
    shot = tmp_path / "live.png"
    xvfb, display = start_xvfb()
    env = {**os.environ, "DISPLAY": display, "LC_ALL": "C"}
    log = tmp_path / "imagej.log"
    attached = None
    client = Client(server)
    try:
        with log.open("w") as sink:
            ij = start_imagej(macro, tmp_path, imagej_home, env, sink)
        phases = Phases(ij, env, tmp_path, log)
        try:
            phases.ready(1, 180)
            phases.canvas = (tmp_path / "ready1").read_text()
            assert not phases.canvas.startswith("error"), phases.canvas
            assert phases.canvas.split()[2] == f"{ZOOM}.0", phases.canvas
            steps = []
            for label, cls in labelled.items():
                x, y = points[label]
                steps += [f"click {x} {y}", f"key {1 if cls == 'dim' else 2}", "sleep 300"]
            phases.play(1, "\n".join(steps) + "\n")

            phases.ready(2)
            lines = read(out)
            state1 = fields(lines["state1"])
            overlay1 = parse_overlay(lines["overlay1"])
            # the service's own prediction of the live model: a client attached to the session
            attached = client.live_session(MODEL, attach=True)
            update = attached.wait(int(state1["labels_version"]), timeout=120)
            assert int(state1["sequence"]) == update.sequence, (state1, update.sequence)
            (result,) = update.images.values()
            names = update.class_names
            assert sorted(overlay1) == sorted(result.label_id.tolist()) == sorted(points)
            for i, label in enumerate(result.label_id.tolist()):
                cls, kind, margin = overlay1[label]
                assert cls == names[result.class_index[i] - 1], label
                assert margin == pytest.approx(float(result.margin[i]), abs=1e-4), label
                assert kind == ("unsure" if result.margin[i] < 0.2 else "sure"), label
                assert bool(result.labelled[i]) == (label in labelled), label
            assert update.counts == {"dim": 2, "bright": 2}
            # the live model learnt the brightness classes from four labels
            clear = ~np.isin(result.label_id, IN_BETWEEN)
            truth = [data.class_names[data.classes[i] - 1] for i in result.label_id[clear].tolist()]
            predicted = [names[k - 1] for k in result.class_index[clear]]
            assert np.mean(np.array(truth) == np.array(predicted)) >= 0.9, (truth, predicted)
            assert lines["status1"].startswith("PhenoSort: live model: 4 labels, updated "), lines
            unlabelled = ~result.labelled
            least = int(result.label_id[unlabelled][np.argmin(result.margin[unlabelled])])

            region = " ".join(map(str, SHOT_REGION))
            # a click on the background: no object selected, the status bar shows the live model
            steps = f"click 2 2\nsleep 1500\nshot {shot} {region}\n"
            phases.play(2, steps + "key s\nsleep 300\nkey l\n")
            phases.ready(3)
            lines = read(out)
            state2 = fields(lines["state2"])
            assert state2["current"] == str(least), (state2, least)  # s: the least certain object
            assert state2["overlay"] == "hidden" and lines["overlay2"] == "ok ", lines

            phases.play(3, "key l\nkey c\n")
            phases.ready(4)
            lines = read(out)
            assert fields(lines["state3"])["overlay"] == "shown"
            assert parse_overlay(lines["overlay3"]) == overlay1
            model = client.get_model(MODEL)
            assert model.versions == [1], model
            assert model.counts == {"dim": 2, "bright": 2}  # commit saved the labels too

            attached.close()  # the session ends behind the plugin's back
            attached = None
            phases.done(4)
            phases.ready(5, 120)
            x, y = points[fifth]
            phases.play(5, f"click {x} {y}\nkey 2\nsleep 300\n")

            phases.ready(6, 200)
            lines = read(out)
            assert fields(lines["state4"])["live"] == "off"
            assert lines["overlay4"] == "ok " and lines["rois4"] == "5"
            assert fields(lines["state5"])["live"] == "on"
            assert session_closed(client)  # closing the image closed the live session
            phases.done(6)
            try:
                ij.wait(timeout=120)
            except subprocess.TimeoutExpired:
                pytest.fail(f"ImageJ did not finish: {log.read_text()[-2000:]}"
                            f"{diagnose(ij, env, tmp_path)}")  # fmt: skip
        finally:
            if ij.poll() is None:
                ij.kill()
                ij.wait()
    finally:
        if attached is not None:
            attached.close()
        client.close()
        stop(xvfb)

    emitted = out.read_text().splitlines()
    assert SENTINEL in emitted, f"emitted {emitted}\n{log.read_text()[-4000:]}"
    logged = [line.removeprefix("log=") for line in emitted if line.startswith("log=")]
    off = [line for line in logged if "live mode off" in line]
    assert len(off) == 1, logged  # one clear line, then annotating goes on
    assert "the server closed the live session" in off[0] and "Annotating goes on" in off[0]
    assert any(f"live model of '{MODEL}' saved as version 1" in line for line in logged), logged
    output = log.read_text()
    assert "Exception" not in output and "\tat " not in output, output[-4000:]
    assert shot.is_file()
    keep = os.environ.get("PHENOSORT_LIVE_SHOT")  # a screenshot for the README
    if keep:
        shutil.copy(shot, keep)


def read(out: Path) -> dict[str, str]:
    """The macro's emitted key=value lines (the last value of each key)."""
    lines = out.read_text().splitlines() if out.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line)


def session_closed(client: Client, timeout: float = 30) -> bool:
    """True once the model has no live session (then one opens without attach: it is closed)."""
    end = time.monotonic() + timeout
    while True:
        try:
            client.live_session(MODEL).close()
            return True
        except InvalidInputError as exc:  # FAILED_PRECONDITION: the model has a session
            if getattr(exc, "code", "") != "FAILED_PRECONDITION":
                raise
            if time.monotonic() > end:
                return False
            time.sleep(0.5)


def test_live_mode_without_a_server_logs_one_line_and_annotating_goes_on(run_macro, tmp_path):
    """No server at the stored address: live mode turns off with one Log line that says why
    (no dialog, no stack trace), and annotations are still made."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    img, lab = write_images(tmp_path, stack=False, first_label=1)
    body = f"""
emit("connect=" + call("org.phenosort.phenosort.macro.MacroApi.connect", "127.0.0.1", "{port}"));
open("{lab}");
open("{img}");
run("Annotate Objects", "image=cells.tif labels=cells-labels.tif classes=[a,b] model=m live");
t0 = getTime();
while (indexOf(getInfo("log"), "live mode off") < 0 && getTime() - t0 < 60000) wait(200);
emit("state=" + call("{API}.state", "cells.tif"));
annotate = "org.phenosort.phenosort.macro.AnnotateApi.annotate";
emit("annotate=" + call(annotate, "cells.tif", "cells-labels.tif", "3", "b"));
emit("commit=" + call("{API}.commit", "cells.tif"));
logged = split(getInfo("log"), "\\n");
for (i = 0; i < logged.length; i++)
    if (indexOf(logged[i], "PhenoSort") >= 0) emit("log=" + logged[i]);
roiManager("reset");
close("*");
"""
    result = run_macro(body, mode="gui", timeout=120)
    assert result.value("connect").startswith("error"), result.lines
    state = fields(result.value("state"))
    assert state["live"] == "off", state
    assert result.value("annotate") == "ok b-3 group=2 label=3"
    assert result.value("commit").startswith("error: live mode is off"), result.lines
    off = [line for line in result.values("log") if "live mode off" in line]
    assert len(off) == 1, result.lines
    assert f"is the server at 127.0.0.1:{port} running?" in off[0] and "'m'" in off[0], off
    assert "Exception" not in result.output and "\tat " not in result.output, result.output[-3000:]
