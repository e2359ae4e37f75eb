"""Every ImageJ macro line of the README runs, as written, in a real ImageJ against a real
server (issue 18: the documentation cannot drift from the plugin).

The README's ``run("...")`` and ``call("...")`` lines (inline and in ``javascript`` blocks) are
extracted and run verbatim; only the places the README leaves to the reader are filled in:
the server's host and port, the ``phenosort`` program, and the folders (``/data``, ``/tmp``).
The images they name (``a.tif``, ``b.tif``, ``cells.tif`` with label images whose object 12
exists, a ROI zip of annotations) and the model ``cells`` are made here, as the other Fiji
tests make theirs. After each line the macro reports ``MacroApi.lastError`` (or the call's own
answer), and each must be a success. A README macro line that no stage below runs fails the
test, so a new line must come with a way to run it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage.segmentation import relabel_sequential

from conftest import REPO
from phenosort.annotations import rois_for_objects, write_roi_zip
from phenosort.client import Client
from phenosort.testing import make_objects

README = (REPO / "README.md").read_text(encoding="utf-8")
API = "org.phenosort.phenosort.macro.MacroApi"
SMALL = {"net_width": 16, "train_epochs": 15, "train_patience": 0, "train_min_epoch_samples": 96}


def readme_macros() -> list[str]:
    """The README's macro snippets: each ``javascript`` block that runs a command, and each
    inline code span with a ``run("...")`` or ``call("...")`` (but not the ``run("...", ...)``
    pattern that only shows the form)."""
    blocks = re.findall(r"```javascript\n(.*?)```", README, flags=re.S)
    found = [b.strip() for b in blocks if re.search(r"\b(run|call)\(", b)]
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if re.search(r'\b(run|call)\("', span) and '"..."' not in span:
            found.append(span.strip())
    return found


def _pair(folder: Path, stem: str, seed: int) -> None:
    """A 2-class image, its label image with IDs 1..36 (object 12 exists) and a ROI zip."""
    data = make_objects("brightness", grid=(6, 6), seed=seed)
    labels, forward, _ = relabel_sequential(data.labels)
    ids = np.array(sorted(data.classes))
    new_ids = np.asarray(forward[ids])
    classes = np.array([data.classes[i] for i in ids])
    image = np.round(data.image / data.image.max() * 60000).astype(np.uint16)
    folder.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(folder / f"{stem}.tif", image, imagej=True)
    tifffile.imwrite(folder / f"{stem}-labels.tif", labels.astype(np.uint16), imagej=True)
    rois = rois_for_objects(labels, new_ids, classes, data.class_names, kind="point")
    write_roi_zip(folder / f"{stem}-rois.zip", rois)


def _data(root: Path) -> Path:
    """The README's /data: a, b and cells pairs, and Images/ + Masks/ for Classify Folder."""
    data = root / "data"
    for i, stem in enumerate(["a", "b", "cells"]):
        _pair(data, stem, seed=20 + i)
    (data / "Images").mkdir()
    (data / "Masks").mkdir()
    for stem in ("a", "b"):
        (data / "Images" / f"{stem}.tif").write_bytes((data / f"{stem}.tif").read_bytes())
        (data / "Masks" / f"{stem}.tif").write_bytes((data / f"{stem}-labels.tif").read_bytes())
    return data


def _fill(snippet: str, server: str, root: Path, data: Path) -> str:
    """The places the README leaves to the reader."""
    host, port = server.split(":")
    phenosort = Path(sys.executable).parent / "phenosort"
    for left, filled in [
        ("127.0.0.1", host), ("50051", port), ("/path/phenosort", str(phenosort)),
        ("/tmp/", f"{root}/"), ("/data", str(data)),
    ]:  # fmt: skip
        snippet = snippet.replace(left, filled)
    return snippet


def _checked(snippet: str, tag: str) -> str:
    """The snippet line by line, each followed by what it left: lastError, or the value of a
    bare call() (the gallery and annotation calls answer "ok ..." or "error: ...")."""
    out = []
    for i, line in enumerate(snippet.splitlines()):
        if re.match(r'\s*call\("', line) and "MacroApi" not in line:
            out.append(f'emit("{tag}.{i}=" + {line.strip().rstrip(";")});')
        else:
            out.append(line if line.rstrip().endswith(("}", ";")) else line + ";")
            out.append(f'emit("{tag}.{i}=[" + call("{API}.lastError") + "]");')
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def cells(server):
    """The README's model "cells" (classes of the generated ROIs), small settings."""
    data = make_objects("brightness", grid=(2, 2), seed=0)
    with Client(server) as client:
        client.create_model("cells", data.class_names, **SMALL)
    return server


def test_every_readme_macro_line_runs(run_macro, cells, tmp_path, monkeypatch):
    snippets = readme_macros()
    assert len(snippets) >= 14, snippets  # the extraction finds the README's lines
    # Start Server's store=[] is the default store: keep it in the test's folder
    monkeypatch.setenv("PHENOSORT_STORE", str(tmp_path / "started-store"))
    data = _data(tmp_path)
    claimed: set[str] = set()

    def take(predicate) -> list[str]:
        found = [s for s in snippets if s not in claimed and predicate(s)]
        claimed.update(found)
        return found

    tags: list[str] = []

    def body(predicate, tag: str, root: Path = tmp_path, folder: Path = data) -> str:
        out = ""
        for i, s in enumerate(take(predicate)):
            tags.append(f"{tag}{i}")
            out += _checked(_fill(s, cells, root, folder), f"{tag}{i}")
        return out

    # 1. batch mode under Xvfb: the commands, in the order a user would take them
    start = body(lambda s: 'run("Start Server"' in s, "start")
    connect = body(lambda s: 'run("Connect to Server"' in s, "connect")
    train = body(lambda s: 'run("Train Classifier"' in s, "train")
    recover = body(lambda s: ".lastError" in s, "recover")
    commands = body(lambda s: s.startswith('run("') and "Annotate Objects" not in s, "cmd")
    tile = body(lambda s: "GalleryApi.tile" in s, "tile")
    annotate_call = body(lambda s: "AnnotateApi.annotate" in s, "annotate")
    batch = run_macro(
        f"""{start}{connect}
open("{data}/a.tif"); open("{data}/a-labels.tif");
roiManager("Open", "{data}/a-rois.zip");
{train}roiManager("reset");
{commands}
gallery = "a-gallery"; slice = "1"; position = "0";
{tile}
open("{data}/cells.tif"); open("{data}/cells-labels.tif");
{annotate_call}
selectImage("a.tif");
{recover}""",
        timeout=600,
    )
    # 2. Annotate Objects is interactive: ImageJ's window (GUI mode) under Xvfb
    annotate = body(lambda s: 'run("Annotate Objects"' in s, "gui")
    gui = run_macro(
        f"""open("{data}/a.tif"); open("{data}/a-labels.tif");
open("{data}/cells.tif"); open("{data}/cells-labels.tif");
{annotate}""",
        mode="gui",
    )
    # 3. the call() block for no display: headless, its own folder
    headless_root = tmp_path / "headless"
    headless_data = _data(headless_root)
    calls = body(lambda s: f'"{API}"' in s, "call", headless_root, headless_data)
    headless = run_macro(calls, mode="headless", timeout=600)

    assert set(snippets) == claimed, f"README macro lines no stage runs: {set(snippets) - claimed}"
    reported = set()
    for run in (batch, gui, headless):
        results = [line for line in run.lines if re.match(r"\w+\.\d+=", line)]
        reported.update(line.split(".", 1)[0] for line in results)
        for line in results:
            value = line.split("=", 1)[1]
            assert value == "[]" or value.startswith("ok "), f"{line}\n{run.output[-3000:]}"
    assert reported == set(tags)  # every snippet ran to its end
    # what the lines did, besides not failing
    assert "PhenoSort: connected to" in batch.output  # Start Server connected to what it started
    assert (tmp_path / "cells.phenosort").is_file() and (tmp_path / "cells.report.html").is_file()
    assert (data / "out" / "summary.csv").is_file() and (data / "out" / "a_classes.tif").is_file()
    assert (headless_data / "out" / "b_classes.tif").is_file()
    assert any(line.startswith("annotate0.0=ok ") for line in batch.lines), batch.lines
