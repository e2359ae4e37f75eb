"""The training report: its numbers are the model file's (phenosort.report,
``phenosort info --report``, the report ``phenosort train`` writes)."""

from __future__ import annotations

import copy
import csv
import html
import re

import numpy as np
import pytest
import tifffile
from matplotlib.image import imread

from phenosort.cli import main
from phenosort.errors import InvalidInputError
from phenosort.model.file import read_metadata
from phenosort.model.metrics import report
from phenosort.report import build_report, report_paths
from phenosort.report_text import decisions
from phenosort.testing import make_objects


def confusion_in(page: str) -> tuple[str, np.ndarray]:
    """The report's confusion table: (data-source, matrix) read back from the HTML."""
    table = re.search(r'<table class="confusion" data-source="([^"]+)">(.*?)</table>', page)
    assert table, "no confusion table in the report"
    cells = re.findall(r'data-true="(\d+)" data-predicted="(\d+)">(\d+)<', table.group(2))
    k = int(np.sqrt(len(cells)))
    cm = np.zeros((k, k), np.int64)
    for i, j, v in cells:
        cm[int(i), int(j)] = int(v)
    return html.unescape(table.group(1)), cm


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    return trained.save(tmp_path_factory.mktemp("report") / "bright.phenosort")


def test_report_confusion_matrix_is_the_model_files(model_file):
    meta = read_metadata(model_file)
    assert meta["validation"], "the shared model has a hold-out"
    page = build_report(meta, title="bright").html
    source, cm = confusion_in(page)
    assert source == "hold-out"
    assert cm.tolist() == meta["validation"]["confusion_matrix"]
    metrics = report(cm, meta["class_names"])
    for name, row in metrics["per_class"].items():  # the per-class table
        cells = f"<td>{name}</td><td>{row['precision']:.3f}</td><td>{row['recall']:.3f}</td>"
        assert cells in page
    assert f"accuracy {meta['validation']['accuracy']:.3f}" in page


def test_report_falls_back_to_the_2fold_estimate_and_says_so(model_file):
    meta = read_metadata(model_file)
    meta["validation"] = None
    estimate = [[5, 1], [2, 4]]
    meta["symmetry"] = {**(meta["symmetry"] or {"tests": []}), "estimate": {
        "method": "2-fold cross-validation of short probe runs", "confusion_matrix": estimate,
    }}  # fmt: skip
    rep = build_report(meta)
    source, cm = confusion_in(rep.html)
    assert source == "2-fold estimate" and cm.tolist() == estimate
    assert "never saw it" in rep.html and "hold-out" in rep.html
    meta["symmetry"]["estimate"] = None
    rep = build_report(meta)
    assert 'class="confusion"' not in rep.html and "confusion.png" not in rep.files
    assert "--kfold" in rep.html


def test_report_shows_the_kfold_cross_validation_labelled_kfold(model_file):
    """Without a hold-out, the --kfold cross-validation scores the model, named "k-fold";
    beside a hold-out, it has a section of its own after the hold-out's."""
    meta = read_metadata(model_file)
    held = meta["validation"]["confusion_matrix"]
    cv = {"k": 3, "confusion_matrix": [[7, 2], [1, 8]], "per_fold_accuracy": [0.8, 0.9, 0.8]}
    rep = build_report(meta, kfold=cv)
    tables = re.findall(r'<table class="confusion" data-source="([^"]+)"', rep.html)
    assert tables == ["hold-out", "3-fold cross-validation"]
    assert confusion_in(rep.html)[1].tolist() == held  # the first: the hold-out
    kfold_table = rep.html[rep.html.index('data-source="3-fold') - 30 :]
    assert confusion_in(kfold_table)[1].tolist() == cv["confusion_matrix"]
    assert "confusion-kfold.png" in rep.files
    meta["validation"] = None
    rep = build_report(meta, kfold=cv)
    source, cm = confusion_in(rep.html)
    assert source == "3-fold cross-validation" and cm.tolist() == cv["confusion_matrix"]
    assert "no hold-out" in rep.html and "hold-out:" not in rep.html
    assert "accuracy 0.833" in rep.html  # 15 of 18


def test_report_names_the_decisions_and_why(model_file):
    meta = read_metadata(model_file)
    meta = copy.deepcopy(meta)
    meta["symmetry"] = {"tests": [
        {"name": "rot90", "kept": False, "source": "auto", "drop": 0.9, "p_value": 0.001,
         "probe": "none"},
        {"name": "flip_x", "kept": True, "source": "setting", "drop": None, "p_value": None,
         "probe": ""},
    ]}  # fmt: skip
    rows = {what: (chosen, why) for what, chosen, why in decisions(meta)}
    assert rows["symmetry rot90"][0] == "left out"
    assert "orientation separates the classes" in rows["symmetry rot90"][1]
    assert "+0.90" in rows["symmetry rot90"][1]
    assert rows["symmetry flip_x"] == ("used", "set by aug_* (not tested)")
    assert rows["network"][0].startswith(meta["config"]["net_name"])
    assert "x".join(map(str, meta["patch"]["shape"])) in rows["patch"][0]
    assert rows["normalisation"][0].startswith(meta["normalization"]["mode"])
    assert f"at most {meta['config']['train_epochs']}" in rows["epochs"][0]
    page = build_report(meta).html
    assert "orientation separates the classes" in page


def test_info_report_rebuilds_from_the_file_alone(model_file, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["info", "--report", str(model_file), str(out)]) == 0
    page = out.read_text()
    meta = read_metadata(model_file)
    assert confusion_in(page)[1].tolist() == meta["validation"]["confusion_matrix"]
    assert "No gallery of labelled objects" in page
    assert page.count("data:image/png;base64,") == 3  # curves, confusion, per class
    _, folder = report_paths(out)
    for name in ("curves.png", "confusion.png", "per_class.png"):
        png = imread(folder / name)
        assert png.ndim == 3 and min(png.shape[:2]) > 100 and png.std() > 0
    capsys.readouterr()
    assert main(["info", "--report", str(model_file), str(out)]) == 2  # never overwritten
    assert "--overwrite" in capsys.readouterr().err
    assert main(["info", "--report", str(model_file), str(out), "--overwrite"]) == 0
    assert main(["info", "--report", str(model_file)]) == 2  # OUT.html is needed
    with pytest.raises(InvalidInputError, match="html"):
        build_report(meta).save(tmp_path / "r.txt")


def _labelled_folder(tmp_path, seed: int):
    """``data/`` (images/ and masks/ of one brightness image) and ``ann.csv`` labelling every
    object; returns them with the generated objects."""
    data = tmp_path / "data"
    d = make_objects("brightness", grid=(4, 4), seed=seed)
    for folder, array in (("images", d.image), ("masks", d.labels)):
        (data / folder).mkdir(parents=True)
        tifffile.imwrite(data / folder / "cells.tif", array, imagej=True)
    ann = tmp_path / "ann.csv"
    ann.write_text(
        "image,label,class\n" + "".join(f"cells,{i},{k}\n" for i, k in d.classes.items())
    )
    return data, ann, d


def test_train_writes_the_report_with_the_labelled_objects(tmp_path, capsys):
    data, ann, d = _labelled_folder(tmp_path, seed=3)
    model = tmp_path / "m.phenosort"
    argv = ["train", str(data), "--annotations", str(ann), "--model", str(model),
            "--classes", "dim,bright", "--epochs", "3", "--quiet", "--device", "cpu",
            "--set", "net_width=8", "--set", "train_min_epoch_samples=32"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    page_path, folder = report_paths(tmp_path / "m.report.html")
    page = page_path.read_text()
    meta = read_metadata(model)
    _, cm = confusion_in(page)
    scored = meta["validation"] or meta["symmetry"]["estimate"]
    assert cm.tolist() == scored["confusion_matrix"]
    assert (folder / "labelled-1-dim.png").is_file() and (
        folder / "labelled-2-bright.png"
    ).is_file()
    with open(folder / "labelled-gallery.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(int(r["label"]) for r in rows) == sorted(d.classes)  # every label
    assert all(int(r["true_class"]) == d.classes[int(r["label"])] for r in rows)
    # an existing report stops a new training before it starts (the model is not written)
    capsys.readouterr()
    other = tmp_path / "n.phenosort"
    (tmp_path / "n.report.html").write_text("mine")
    assert main([*argv[:5], str(other), *argv[6:]]) == 2
    assert "n.report.html" in capsys.readouterr().err and not other.exists()
    assert (tmp_path / "n.report.html").read_text() == "mine"
    assert main([*argv[:5], str(other), *argv[6:], "--no-report"]) == 0
    assert other.exists() and (tmp_path / "n.report.html").read_text() == "mine"


def test_train_kfold_puts_its_cross_validation_in_the_report(tmp_path, capsys):
    """``train --kfold 2`` without a hold-out: the report's matrix is the 2-fold
    cross-validation's, over every label, and the CLI printed the same numbers."""
    data, ann, d = _labelled_folder(tmp_path, seed=5)
    model = str(tmp_path / "k.phenosort")
    argv = ["train", str(data), "--annotations", str(ann), "--model", model, "--kfold", "2",
            "--classes", "dim,bright", "--epochs", "3", "--quiet", "--device", "cpu",
            "--set", "net_width=8", "--set", "train_min_epoch_samples=32",
            "--set", "train_val_fraction=0"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    page = (tmp_path / "k.report.html").read_text()
    source, cm = confusion_in(page)
    assert source == "2-fold cross-validation"
    assert int(cm.sum()) == len(d.classes)
    accuracy = np.trace(cm) / cm.sum()
    assert f"accuracy {accuracy:.3f}" in page
    assert "2-fold cross-validation:" in err
