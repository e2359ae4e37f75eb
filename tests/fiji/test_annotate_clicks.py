"""Annotate Objects as a person uses it: real mouse clicks and key presses (java.awt.Robot in
its own JVM, through the X server) on an image window of a real ImageJ under Xvfb.

The ImageJ macro starts the command, writes where the canvas is on screen and waits; the test
then plays the clicks and keys, tells the macro it is done, and the macro reports the
RoiManager's ROIs (and saves them as a ROI zip, read back here with roifile).
"""

from __future__ import annotations

import os
import random
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import roifile
import tifffile

from .conftest import IJ_JAR, REPO, SCREEN, SENTINEL, _require

TEST_CLASSES = REPO / "fiji-plugin" / "target" / "test-classes"
CENTRES = [(40, 40), (100, 40), (160, 40), (40, 100), (100, 100), (160, 100), (40, 160), (100, 160)]
CLASSES = ["round", "square"]


def write_images(folder: Path, stack: bool, first_label: int) -> tuple[Path, Path]:
    """8 objects, round ones bright and square ones dim; a 3-slice stack when ``stack``."""
    yy, xx = np.mgrid[:200, :200]
    image = np.full((200, 200), 10, np.uint8)
    labels = np.zeros((200, 200), np.float32 if first_label > 65535 else np.uint16)
    for i, (x, y) in enumerate(CENTRES):
        if i % 2 == 0:
            inside = (xx - x) ** 2 + (yy - y) ** 2 <= 12**2
        else:
            inside = (abs(xx - x) <= 10) & (abs(yy - y) <= 10)
        image[inside] = 200 if i % 2 == 0 else 90
        labels[inside] = first_label + i
    if stack:
        image, labels = np.stack([image] * 3), np.stack([labels] * 3)
    img, lab = folder / "cells.tif", folder / "cells-labels.tif"
    axes = {"axes": "ZYX" if stack else "YX"}  # else ImageJ reads 3 planes as channels
    tifffile.imwrite(img, image, imagej=True, metadata=axes)
    tifffile.imwrite(lab, labels, imagej=True, metadata=axes)
    return img, lab


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """A private X display, so the robot and ImageJ share it. Its number is picked at random far
    above the ones xvfb-run -a and desktop sessions use (0, 99, 100...), and Xvfb tells when
    it is ready through -displayfd."""
    for number in random.sample(range(300, 900), 20):
        read, write = os.pipe()
        cmd = [_require("Xvfb"), f":{number}", "-displayfd", str(write), *SCREEN.split()]
        xvfb = subprocess.Popen(
            [*cmd, "-nolisten", "tcp"],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        told = read_line(read, 60)
        os.close(read)  # only after the newline: Xvfb dies when it cannot write all of it
        if told == str(number) and xvfb.poll() is None:
            return xvfb, f":{number}"
        stop(xvfb)  # display taken: try another
    pytest.fail("Xvfb could not open a display")


def read_line(fd: int, timeout: float) -> str:
    data, end = b"", time.monotonic() + timeout
    while not data.endswith(b"\n") and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        chunk = os.read(fd, 64) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


def robot_driver() -> list[str]:
    return [
        _require("java"),
        "-cp",
        str(TEST_CLASSES),
        "org.phenosort.phenosort.testing.RobotDriver",
    ]


def diagnose(ij: subprocess.Popen, env: dict, folder: Path) -> str:
    """A screenshot and ImageJ's thread dump, for a person to see what it waits on."""
    shot = folder / "hang.png"
    (folder / "shot.txt").write_text(f"shot {shot}\n")
    cmd = [*robot_driver(), "0 0 1 0 0", str(folder / "shot.txt")]
    subprocess.run(cmd, env=env, capture_output=True, timeout=60)
    jstack = shutil.which("jstack")
    if jstack:
        dump = subprocess.run([jstack, str(ij.pid)], capture_output=True, text=True, timeout=60)
        (folder / "threads.txt").write_text(dump.stdout)
    return f"\nscreenshot {shot}, threads {folder / 'threads.txt'}"


def start_imagej(macro: Path, folder: Path, imagej_home: Path, env: dict, sink) -> subprocess.Popen:
    """ImageJ with the plugin and the Robot test classes, running ``macro`` in ``folder``
    (its home), its output into ``sink``."""
    return subprocess.Popen(
        [_require("java"), "-Xmx1g", f"-Duser.home={folder}", f"-Dplugins.dir={imagej_home}",
         "-cp", f"{IJ_JAR}:{TEST_CLASSES}", "ij.ImageJ", "-macro", str(macro)],
        env=env, cwd=folder, stdout=sink, stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM first: a killed Xvfb leaves its lock and socket behind."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def play_and_finish(
    ij: subprocess.Popen, env: dict, canvas: str, steps: Path, done: Path, out: Path, log: Path,
    folder: Path,
) -> None:  # fmt: skip
    """Play ``steps`` with the Robot driver on ``canvas``, tell the macro it may end (write
    ``done``) and wait for ImageJ to quit; a hang fails with what was emitted and a
    diagnosis."""
    robot = subprocess.run([*robot_driver(), canvas, str(steps)], env=env,
                           capture_output=True, text=True, timeout=180)  # fmt: skip
    assert "ROBOT-DONE" in robot.stdout, robot.stdout + robot.stderr
    done.write_text("done")
    try:
        ij.wait(timeout=120)
    except subprocess.TimeoutExpired:
        emitted = out.read_text() if out.exists() else ""
        pytest.fail(f"ImageJ did not finish; emitted {emitted}: {log.read_text()[-2000:]}"
                    f"{diagnose(ij, env, folder)}")  # fmt: skip


def wait_for(path: Path, proc: subprocess.Popen, log: Path, env: dict, timeout: float) -> None:
    """Wait until ImageJ has written ``path``: it exists and is not empty, since a macro's
    ``File.saveString`` creates the file before it writes it (a live-mode run once read an
    empty ``ready1``). Every file waited for here holds text."""
    end = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size > 0):
        failed = "Exception in thread" in log.read_text(errors="replace")
        if failed or proc.poll() is not None or time.monotonic() > end:
            hint = diagnose(proc, env, path.parent) if proc.poll() is None else ""
            tail = log.read_text()[-4000:]
            pytest.fail(f"ImageJ never wrote {path.name} (exit {proc.poll()}): {tail}{hint}")
        time.sleep(0.2)


MACRO = """
var OUT = "{out}";
function emit(s) {{ File.append(s, OUT); }}
run("Connect to Server", "host={host} port={port}");
open("{lab}");
setLocation(700, 200);
open("{img}");
setLocation(20, 200);
{slice}
run("Annotate Objects",
    "image=cells.tif labels=cells-labels.tif classes=[round,square] model=missing");
File.saveString(call("org.phenosort.phenosort.testing.ScreenInfo.canvas", "cells.tif"), "{ready}");
start = getTime();
while (!File.exists("{done}") && getTime() - start < 300000) wait(100);
// the robot's last step annotates an object other than {known}: wait until ImageJ has handled it
function finished() {{
    for (i = 0; i < roiManager("count"); i++) {{
        roiManager("select", i);
        l = Roi.getProperty("label");
        if (l != "" && indexOf(",{known},", "," + l + ",") < 0) return true;
    }}
    return false;
}}
while (!finished() && getTime() - start < 300000) wait(200);
while (indexOf(getInfo("log"), "suggestions failed") < 0 && getTime() - start < 300000) wait(200);
for (i = 0; i < roiManager("count"); i++) {{
    roiManager("select", i);
    Roi.getPosition(c, z, t);
    emit("roi=" + Roi.getName + "|" + Roi.getGroup + "|" + Roi.getProperty("class") + "|"
        + Roi.getProperty("label") + "|" + Roi.getType + "|" + z + "|" + getSliceNumber());
}}
roiManager("deselect");
roiManager("save", "{zip}");
logged = split(getInfo("log"), "\\n");
for (i = 0; i < logged.length; i++)
    if (indexOf(logged[i], "PhenoSort") >= 0) emit("log=" + logged[i]);
emit("groups=" + call("ij.gui.Roi.getGroupNames"));
emit("{sentinel}");
roiManager("reset");
close("*");
run("Quit");
"""


# what a person does, in image pixel coordinates (RobotDriver's steps)
STEPS = """
# A round, B square
click {ax} {ay}
key 1
click {bx} {by}
key 2
# C square (a slip), undone with r, then C round
click {cx} {cy}
key 2
key r
click {cx} {cy}
key 1
# A re-annotated square (still one ROI); r puts its round ROI back; A square again
click {ax} {ay}
key 2
key r
click {ax} {ay}
key 2
# D round, undone with Backspace
click {dx} {dy}
key 1
key BACK_SPACE
# E: key 3 is no class yet, so a dialog asks for a new class; Esc cancels (E stays unlabelled)
click {ex} {ey}
key 3
sleep 1500
key ESCAPE
sleep 500
# again; Enter accepts the proposed name "class 3": E is class 3
click {ex} {ey}
key 3
sleep 1500
key ENTER
sleep 500
click {ex} {ey}
# the server has no model 'missing': a status message and a log line, never a freeze
key s
# background: nothing to annotate
click 5 5
key 1
# a random unannotated object -> round (then the next one is proposed)
key n
key 1
shot {shot}
"""


@pytest.mark.parametrize("stack", [False, True], ids=["2d", "stack-float-labels"])
def test_annotate_by_clicks_and_keys(imagej_home, server, tmp_path, stack):
    first = 70001 if stack else 1  # the stack uses 32-bit float labels above 65535
    img, lab = write_images(tmp_path, stack, first)
    a, b, c, d, e = (first + i for i in range(5))
    out, ready, done, zip_path = (tmp_path / n for n in ("out.txt", "ready", "done", "rois.zip"))
    host, port = server.split(":")
    macro = tmp_path / "annotate.ijm"
    fields = dict(out=out, host=host, port=port, img=img, lab=lab, ready=ready, done=done)
    fields.update(zip=zip_path, slice="setSlice(2);" if stack else "", known=f"{a},{b},{c},{e}")
    macro.write_text(MACRO.format(sentinel=SENTINEL, **fields))
    (ax, ay), (bx, by), (cx, cy), (dx, dy), (ex, ey) = CENTRES[:5]
    steps = tmp_path / "steps.txt"
    points = dict(ax=ax, ay=ay, bx=bx, by=by, cx=cx, cy=cy, dx=dx, dy=dy, ex=ex, ey=ey)
    steps.write_text(STEPS.format(shot=tmp_path / "screen.png", **points))
    xvfb, display = start_xvfb()
    env = {**os.environ, "DISPLAY": display, "LC_ALL": "C"}
    log = tmp_path / "imagej.log"
    try:
        with log.open("w") as sink:
            ij = start_imagej(macro, tmp_path, imagej_home, env, sink)
        try:
            assert xvfb.poll() is None, "Xvfb stopped"
            wait_for(ready, ij, log, env, 120)
            canvas = ready.read_text()
            assert not canvas.startswith("error"), canvas
            play_and_finish(ij, env, canvas, steps, done, out, log, tmp_path)
        finally:
            if ij.poll() is None:
                ij.kill()
                ij.wait()
    finally:
        stop(xvfb)

    lines = out.read_text().splitlines() if out.exists() else []
    assert SENTINEL in lines, f"emitted {lines}\n{log.read_text()[-4000:]}"
    rois = [line.split("=", 1)[1].split("|") for line in lines if line.startswith("roi=")]
    by_label = {int(r[3]): r for r in rois}
    assert len(rois) == len(by_label) == 5, rois  # one annotation per object
    random_label = (set(by_label) - {a, b, c, e}).pop()
    assert random_label in range(d, first + len(CENTRES)) and random_label != e
    classes = [*CLASSES, "class 3"]  # the new class the dialog confirmed
    expected = {a: "square", b: "square", c: "round", e: "class 3", random_label: "round"}
    for label, name in expected.items():
        roi_name, group, cls, _, kind, z, _ = by_label[label]
        k = classes.index(name) + 1
        assert (roi_name, group, cls, kind) == (f"{name}-{label}", str(k), name, "point")
        assert z == ("2" if stack else "0"), by_label[label]  # the clicked (or proposed) slice
    assert f"groups={','.join(classes)}" in lines
    log = [line for line in lines if line.startswith("log=")]
    assert any("suggestions failed" in entry and "missing" in entry for entry in log), log
    assert any("round=2, square=2, class 3=1 (5 objects)" in entry for entry in log), log
    # the dialog: Esc made no class, Enter made "class 3"
    cancelled = [i for i, entry in enumerate(log) if "no new class 3 in 'cells.tif'" in entry]
    made = [i for i, entry in enumerate(log) if "new class 3 'class 3' in 'cells.tif'" in entry]
    assert len(cancelled) == len(made) == 1 and cancelled[0] < made[0], log

    # the ROI zip as QuPath and phenosort read it: groups, names and properties survive
    saved = {int(r.properties["label"]): r for r in roifile.roiread(zip_path)}
    assert set(saved) == set(expected)
    for label, name in expected.items():
        r, k = saved[label], classes.index(name) + 1
        assert (r.name, r.group, r.properties["class"]) == (f"{name}-{label}", k, name)


def test_annotate_api_headless_and_command_in_batch(run_macro, tmp_path):
    """The call() API works with no display (ROIs on the Overlay); the interactive command in a
    batch macro logs why it cannot run instead of opening a dialog."""
    api = "org.phenosort.phenosort.macro.AnnotateApi.annotate"
    # open() needs AWT menus, so headless images are made in the macro: objects 1-3, 10x10
    make = (
        'newImage("cells-labels.tif", "16-bit black", 100, 40, 1);\n'
        "for (k = 1; k <= 3; k++) for (y = 10; y < 20; y++) for (x = 0; x < 10; x++)\n"
        "    setPixel(30 * k - 20 + x, y, k);\n"
        'newImage("cells.tif", "8-bit ramp", 100, 40, 1);\n'
    )
    classes = "round,square"  # named once: new classes are explicit
    body = make + (
        f'emit("a=" + call("{api}", "cells.tif", "cells-labels.tif", "3", "round", "{classes}"));\n'
        f'emit("b=" + call("{api}", "cells.tif", "cells-labels.tif", "3", "square"));\n'
        f'emit("c=" + call("{api}", "cells.tif", "cells-labels.tif", "2", "1"));\n'
        f'emit("none=" + call("{api}", "cells.tif", "cells-labels.tif", "99", "round"));\n'
        f'emit("title=" + call("{api}", "nope.tif", "cells-labels.tif", "2", "round"));\n'
        'emit("overlay=" + Overlay.size);\n'
    )
    headless = run_macro(body, mode="headless")
    assert headless.value("a") == "ok round-3 group=1 label=3"
    assert headless.value("b") == "ok square-3 group=2 label=3"  # replaces round-3
    assert headless.value("c") == "ok round-2 group=1 label=2"
    assert headless.value("none").startswith(
        "error: label image 'cells-labels.tif' has no object 99"
    )
    assert headless.value("title") == "error: no open image titled 'nope.tif'"
    assert headless.value("overlay") == "2"

    batch = run_macro(
        make + 'run("Annotate Objects", "image=cells.tif labels=cells-labels.tif classes=[a,b]");\n'
    )
    assert "Annotate Objects is interactive and needs image windows" in batch.output
