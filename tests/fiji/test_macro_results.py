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
