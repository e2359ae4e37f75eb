"""The README's main job as it ships: demo data, the service started, training and
prediction through it with default settings, outputs written, the service stopped."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import roifile
import tifffile


def test_demo_main_job_through_the_service(tmp_path):
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "phenosort.cli", "demo", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(x.startswith("phenosort service started at 127.0.0.1:") for x in lines)
    assert "phenosort service stopped" in lines
    assert any(x.startswith("accuracy:") and "macro-F1" in x for x in lines)  # validation
    held_out = next(x for x in lines if x.startswith("held-out image demo_04:"))
    correct = int(held_out.split(":")[1].split("/")[0])
    assert correct >= 90  # of 100 objects on the unlabelled image

    predictions = out / "predictions"
    with open(predictions / "objects.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 400
    class_map = tifffile.imread(predictions / "demo_04_classes.tif")
    labels = tifffile.imread(out / "data" / "masks" / "demo_04.tif")
    for row in rows[-5:]:  # demo_04 rows come last; the map paints each object's class
        assert set(np.unique(class_map[labels == int(row["label"])])) == {int(row["class"])}
    rois = roifile.roiread(predictions / "demo_04_classes.zip")
    assert len(rois) == 100 and {r.group for r in rois} == {1, 2, 3}
    assert (out / "server-store").is_dir()
