"""A user's own ImageJ 1 macros around the plugin (issue 18, "the first hour"): the Results
table of Classify Objects reads as its headings say, and a failed command leaves no earlier
results behind and tells the macro through ``MacroApi.lastError`` (batch mode goes on after an
error, and under ``-batch`` ``getInfo("log")`` is empty)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile

from phenosort.client import Client
from phenosort.testing import make_objects

from .data import write_pair

API = "org.phenosort.phenosort.macro.MacroApi"
LAST_ERROR = f'call("{API}.lastError")'
SMALL = {"net_width": 16, "train_epochs": 10, "train_patience": 0, "train_min_epoch_samples": 96}
CLASSIFY = (
    'run("Classify Objects", "image=cells.tif labels=cells-labels.tif model=tiny version=0 '
    'class results");'
)
COLUMNS = ["label", "class", "class_name", "p_dim", "p_bright", "confidence", "in_training_set"]


@pytest.fixture(scope="module")
def tiny(server):
    """A small 2-class model "tiny", trained through the Python client."""
    with Client(server) as client:
        data = make_objects("brightness", grid=(6, 6), seed=1)
        client.create_model("tiny", data.class_names, **SMALL)
        client.add_training_data("tiny", data.image, data.labels, data.classes, axes="YX")
        client.train("tiny")
    return server


def _connect(server: str) -> str:
    host, port = server.split(":")
    return f'run("Connect to Server", "host={host} port={port}");\n'


@pytest.mark.parametrize("mode", ["batch", "gui"])
def test_results_headings_stand_above_their_columns(run_macro, tiny, tmp_path, mode):
    """ImageJ 1.53t turns row numbers back on for the "Results" table at every macro access,
    which put a blank first heading and an unlabelled number column before "label"."""
    pair = write_pair(tmp_path, "cells", seed=5)
    p = pair["paths"]
    result = run_macro(
        f"""open("{p["image"]}"); open("{p["labels"]}");
{_connect(tiny)}
{CLASSIFY}
emit("headings=" + replace(String.getResultsHeadings, "\\t", ","));
for (i = 0; i < nResults; i++)
    emit("row=" + getResult("label", i) + "," + getResult("class", i) + ","
         + getResultString("class_name", i));
saveAs("Results", "{tmp_path}/results.csv");
""",
        mode=mode,
    )
    assert result.value("headings").rstrip(",").split(",") == COLUMNS
    with Client(tiny) as client:
        remote = client.predict("tiny", pair["image"], pair["labels"], axes="YX")
    expected = {
        int(label): (int(k), remote.class_names[int(k) - 1])
        for label, k in zip(remote.label_id, remote.class_index)
    }
    rows = [r.split(",") for r in result.values("row")]
    got = {int(float(label)): (int(float(k)), name) for label, k, name in rows}
    assert got == expected  # the label IDs are under "label", the classes under "class"
    with open(tmp_path / "results.csv", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == COLUMNS  # no leading blank column
    assert {int(float(r[0])): (int(r[1]), r[2]) for r in table[1:]} == expected


def test_a_failed_classification_clears_the_results_and_sets_last_error(run_macro, tiny, tmp_path):
    pair = write_pair(tmp_path, "cells", seed=5)
    p = pair["paths"]
    tifffile.imwrite(tmp_path / "small.tif", np.ones((10, 10), np.uint16), imagej=True)
    result = run_macro(
        f"""open("{p["image"]}"); open("{p["labels"]}"); open("{tmp_path}/small.tif");
{_connect(tiny)}
emit("connected=[" + {LAST_ERROR} + "]");
{CLASSIFY}
emit("ok_rows=" + nResults);
emit("ok_error=[" + {LAST_ERROR} + "]");
run("Classify Objects", "image=cells.tif labels=small.tif model=tiny version=0 class results");
emit("failed_rows=" + nResults);
emit("failed_error=[" + {LAST_ERROR} + "]");
emit("log=[" + getInfo("log") + "]");
{CLASSIFY}
emit("again_rows=" + nResults);
emit("again_error=[" + {LAST_ERROR} + "]");
r = call("{API}.classify", "cells.tif", "small.tif", "tiny", "0", "show");
emit("call=" + r);
emit("call_rows=" + nResults);
emit("call_error=[" + {LAST_ERROR} + "]");
r = call("{API}.classify", "cells.tif", "cells-labels.tif", "tiny", "0", "show");
emit("call_ok_rows=" + nResults);
emit("call_ok_error=[" + {LAST_ERROR} + "]");
""",
    )
    n = str(len(pair["data"].classes))
    assert result.value("connected") == "[]"
    assert result.value("ok_rows") == n and result.value("ok_error") == "[]"
    # the earlier image's 36 rows are gone, and the macro can tell why
    assert result.value("failed_rows") == "0"
    failed = result.value("failed_error")
    assert failed.startswith("[Classification failed:") and "shape mismatch" in failed, failed
    # under -batch the Log is not readable (getInfo("log") is empty) but the error is printed
    assert result.value("log") == "[]"
    assert "PhenoSort error: Classification failed:" in result.output
    # the next success clears it
    assert result.value("again_rows") == n and result.value("again_error") == "[]"
    # the call() route: the same record, and "show" leaves no earlier Results either
    assert result.value("call").startswith("error: shape mismatch")
    assert result.value("call_rows") == "0"
    assert result.value("call_error").startswith("[shape mismatch")
    assert result.value("call_ok_rows") == n and result.value("call_ok_error") == "[]"


def test_last_error_without_a_display(run_macro, tiny, tmp_path):
    """Headless (no display, only call()): each call records its outcome."""
    pair = write_pair(tmp_path, "cells", seed=5)
    p = pair["paths"]
    host, port = tiny.split(":")
    result = run_macro(
        f"""
emit("connect=" + call("{API}.connect", "{host}", "{port}"));
emit("e0=[" + {LAST_ERROR} + "]");
emit("r1=" + call("{API}.classify", "{p["image"]}", "{p["labels"]}", "no-such-model", "0", ""));
emit("e1=[" + {LAST_ERROR} + "]");
emit("r2=" + call("{API}.classify", "{p["image"]}", "{p["labels"]}", "tiny", "0", ""));
emit("e2=[" + {LAST_ERROR} + "]");
""",
        mode="headless",
    )
    assert result.value("e0") == "[]"
    assert result.value("r1").startswith("error: NOT_FOUND")
    assert result.value("e1").startswith("[NOT_FOUND") and "no-such-model" in result.value("e1")
    assert result.value("r2").startswith("objects=36") and result.value("e2") == "[]"


def test_classify_folder_with_a_failed_image_sets_last_error(run_macro, tiny, tmp_path):
    """The other images go on (summary.csv names the failure), and lastError says so."""
    data = tmp_path / "data"
    (data / "Images").mkdir(parents=True)
    (data / "Masks").mkdir()
    for i, stem in enumerate(["a", "b"]):
        pair = write_pair(tmp_path / "src", stem, seed=30 + i, grid=(4, 4))
        pair["paths"]["image"].rename(data / "Images" / f"{stem}.tif")
        labels = pair["labels"] if stem == "a" else pair["labels"][:50]  # b: wrong size
        tifffile.imwrite(data / "Masks" / f"{stem}.tif", labels, imagej=True)
    options = f"folder={data} output={tmp_path / 'out'} model=tiny version=0"
    result = run_macro(
        f"""{_connect(tiny)}
run("Classify Folder", "{options}");
emit("first=[" + {LAST_ERROR} + "]");
run("Classify Folder", "{options}");
emit("again=[" + {LAST_ERROR} + "]");
"""
    )
    assert result.value("first").startswith("[1 of 2 images failed; see "), result.value("first")
    assert (tmp_path / "out" / "a_classes.tif").is_file()
    # the outputs exist: refused, and that is the error now
    assert "exists; choose an empty output folder" in result.value("again")


def _centres(labels: np.ndarray) -> dict[int, tuple[float, float]]:
    """(x, y) of each object's centre as ImageJ sees it: the mean pixel index + 0.5."""
    return {
        int(i): (float(np.nonzero(labels == i)[1].mean()) + 0.5,
                 float(np.nonzero(labels == i)[0].mean()) + 0.5)
        for i in np.unique(labels) if i
    }  # fmt: skip


def test_classify_objects_inside_a_selection(run_macro, tiny, tmp_path):
    """ "selection": only the objects whose centre is inside the image's selection are
    classified (the Results, the class map and the call() route); without an area selection,
    or with no object's centre inside, an error names the cause and no Results are left."""
    pair = write_pair(tmp_path, "cells", seed=5)
    p = pair["paths"]
    height, width = pair["labels"].shape
    x0, y0, w, h = width // 4 + 5, height // 5 + 5, width // 2 + 3, height // 2 + 3
    centres = _centres(pair["labels"])
    inside = {
        i for i, (x, y) in centres.items() if x0 <= x < x0 + w and y0 <= y < y0 + h
    }  # fmt: skip
    assert 0 < len(inside) < len(centres)
    for x, y in centres.values():  # no centre on the rectangle's edge: the test is unambiguous
        assert min(abs(x - x0), abs(x - x0 - w), abs(y - y0), abs(y - y0 - h)) > 0.01
    run = (
        'run("Classify Objects", "image=cells.tif labels=cells-labels.tif model=tiny version=0 '
        'class results selection");'
    )
    result = run_macro(
        f"""open("{p["image"]}"); open("{p["labels"]}");
{_connect(tiny)}
selectImage("cells.tif");
makeRectangle({x0}, {y0}, {w}, {h});
{run}
emit("error=[" + {LAST_ERROR} + "]");
for (i = 0; i < nResults; i++) emit("label=" + getResult("label", i));
if (!isOpen("cells-classes")) exit;
selectImage("cells-classes");
saveAs("Tiff", "{tmp_path}/map.tif");
selectImage("cells.tif");
makeRectangle(0, 0, 2, 2);
r = call("{API}.classify", "cells.tif", "cells-labels.tif", "tiny", "0", "show selection");
emit("corner=" + r);
emit("corner_rows=" + nResults);
selectImage("cells.tif");
run("Select None");
{run}
emit("none_rows=" + nResults);
emit("none=[" + {LAST_ERROR} + "]");
""",
    )
    assert result.value("error") == "[]"
    labels = {int(float(v)) for v in result.values("label")}
    assert labels == inside
    class_map = tifffile.imread(tmp_path / "map.tif")
    painted = set(np.unique(pair["labels"][class_map > 0]).tolist())
    assert painted == inside  # the objects outside stay 0, every inside one is painted whole
    assert (class_map[np.isin(pair["labels"], list(inside))] > 0).all()
    assert result.value("corner").startswith("error: no object of cells-labels.tif has its centre")
    assert result.value("corner_rows") == "0"
    assert result.value("none_rows") == "0"
    assert "'selection' classifies the objects inside the selection of cells.tif" in result.value(
        "none"
    ), result.value("none")


def test_a_time_point_without_objects_inside_the_selection_keeps_its_frame(
    run_macro, tiny, tmp_path
):
    """A time series whose second time point has no object centre inside the selection (drawn
    on the label image this time): its rows are absent and its frame of the class map is
    empty, the other frame as alone."""
    pair = write_pair(tmp_path, "one", seed=5)
    image, labels = pair["image"], pair["labels"]
    height, width = labels.shape
    x0, y0, w, h = width // 4 + 5, height // 5 + 5, width // 2 + 3, height // 2 + 3
    centres = _centres(labels)
    inside = {i for i, (x, y) in centres.items() if x0 <= x < x0 + w and y0 <= y < y0 + h}
    later = np.where(np.isin(labels, list(inside)), 0, labels)  # only the objects outside
    tifffile.imwrite(tmp_path / "ts.tif", np.stack([image, image]), imagej=True,
                     metadata={"axes": "TYX"})  # fmt: skip
    tifffile.imwrite(tmp_path / "ts-labels.tif", np.stack([labels, later]), imagej=True,
                     metadata={"axes": "TYX"})  # fmt: skip
    result = run_macro(
        f"""open("{tmp_path}/ts.tif"); open("{tmp_path}/ts-labels.tif");
{_connect(tiny)}
selectImage("ts-labels.tif");  // drawn on the label image: the same pixels
makeRectangle({x0}, {y0}, {w}, {h});
run("Classify Objects", "image=ts.tif labels=ts-labels.tif model=tiny version=0 class results "
    + "selection");
emit("error=[" + {LAST_ERROR} + "]");
for (i = 0; i < nResults; i++) emit("row=" + getResult("frame", i) + "," + getResult("label", i));
if (!isOpen("ts-classes")) exit;
selectImage("ts-classes");
emit("frames=" + nSlices);
saveAs("Tiff", "{tmp_path}/map.tif");
""",
    )
    assert result.value("error") == "[]"
    rows = {tuple(int(float(v)) for v in r.split(",")) for r in result.values("row")}
    assert rows == {(1, i) for i in inside}
    assert result.value("frames") == "2"
    class_map = tifffile.imread(tmp_path / "map.tif")
    assert class_map.shape == (2, height, width)
    assert set(np.unique(labels[class_map[0] > 0]).tolist()) == inside
    assert not class_map[1].any()
