"""The ImageJ scripts as a user runs them: --help, then train from a folder of images + masks
+ ROI zips and classify the folder headless, each in its own process (its own JVM)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from phenosort.annotations import rois_for_objects, write_roi_zip
from phenosort.testing import make_objects

from .conftest import IJ_JAR, REPO

FAST = ["--epochs", "2", "--set", "net_width=8", "--set", "train_min_epoch_samples=32",
        "--set", "patch_size=24"]  # fmt: skip
SCRIPTS = ["imagej_batch.py", "imagej_train.py", "imagej_classify.py"]


def _run(script: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    cmd = [sys.executable, str(REPO / "scripts" / script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    out = _run(script, "--help", timeout=60)
    assert out.returncode == 0 and "--fiji" in out.stdout and "--server" in out.stdout


def test_train_reads_set_as_the_cli_does(tmp_path):
    """One parser for --set (issue 18: the script had rules of its own): a malformed one
    fails with the CLI's message, before ImageJ or a server starts."""
    data = tmp_path / "data"
    for sub in ("images", "masks", "rois"):
        (data / sub).mkdir(parents=True)
    d = make_objects("brightness", grid=(2, 2), seed=1)
    tifffile.imwrite(data / "images" / "a.tif", d.image)
    tifffile.imwrite(data / "masks" / "a.tif", d.labels)
    (data / "rois" / "a.zip").write_bytes(b"")
    out = _run("imagej_train.py", str(data), "--set", "net_width", timeout=60)
    assert out.returncode == 2 and "--set expects KEY=VALUE, got 'net_width'" in out.stderr


def test_train_folder_then_batch(jvm, server, tmp_path, plugin_jar):
    data = tmp_path / "data"
    for sub in ("images", "masks", "rois"):
        (data / sub).mkdir(parents=True)
    for i in range(2):
        d = make_objects("brightness", grid=(5, 5), seed=20 + i)
        tifffile.imwrite(data / "images" / f"img{i}.tif", d.image, imagej=True)
        tifffile.imwrite(data / "masks" / f"img{i}.tif", d.labels, imagej=True)
        ids = np.array(sorted(d.classes))[:10]
        classes = [d.classes[j] for j in ids]
        rois = rois_for_objects(d.labels, ids, classes, d.class_names, kind="point")
        write_roi_zip(data / "rois" / f"img{i}.zip", rois)
    jars = ["--ij-jar", str(IJ_JAR), "--plugin-jar", str(plugin_jar), "--server", server]
    train = _run("imagej_train.py", str(data), "--model", "folder", *FAST, *jars)
    assert train.returncode == 0, train.stdout + train.stderr
    assert "img1: 10 annotated objects" in train.stdout and "version 1" in train.stdout

    out = tmp_path / "out"
    batch = _run("imagej_batch.py", str(data), "--model", "folder", "--out", str(out), *jars)
    assert batch.returncode == 0, batch.stdout + batch.stderr
    with open(out / "objects.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["image"] for r in rows} == {"img0", "img1"} and len(rows) == 50
    class_map = tifffile.imread(out / "img0_classes.tif")
    labels = tifffile.imread(data / "masks" / "img0.tif")
    for r in rows[:25]:  # every object painted with its class in the saved class map
        assert set(np.unique(class_map[labels == int(r["label"])])) == {int(r["class"])}
    import roifile

    assert len(roifile.roiread(out / "img0_classes.zip")) == 25
