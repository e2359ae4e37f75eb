"""The plugin's other commands against a real ``phenosort serve``: time series with 32-bit
labels, 3D stacks with calibration, Explain Object, Classify Folder, Models, and the GUI
(live training plot, a screenshot of the class map window)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile
from skimage.io import imread

from phenosort.client import Client
from phenosort.dataio import glasbey_lut
from phenosort.model.file import read_metadata
from phenosort.report_text import evaluation_of
from phenosort.testing import make_objects
from test_report import confusion_in

from .data import write_pair

API = "org.phenosort.phenosort.macro.MacroApi"
PAIR = "image=cells.tif labels=cells-labels.tif"
SMALL = {
    "net_width": 16,
    "train_epochs": 15,
    "train_patience": 0,
    "train_min_epoch_samples": 96,
    # the tests classify images in other units than the models' training images (uint16
    # pairs scaled to 60000): per-image ranges absorb that, and ``auto`` would choose
    # training-set ranges on this brightness task (tests/model/test_norm_choice.py)
    "norm_mode": "percentile",
}


def _train(client: Client, name: str, data, axes: str, voxel_size=None) -> None:
    client.create_model(name, data.class_names, **SMALL)
    client.add_training_data(
        name, data.image, data.labels, data.classes, axes=axes, voxel_size=voxel_size
    )
    client.train(name)


@pytest.fixture(scope="module")
def models(server):
    """Models trained through the Python client: "tiny2d" (YX) and "tiny3d" (ZYX)."""
    with Client(server) as client:
        _train(client, "tiny2d", make_objects("brightness", grid=(6, 6), seed=1), "YX")
        vs = (2.0, 0.5, 0.5)
        data3d = make_objects("brightness", grid=(3, 3), z_planes=8, voxel_size=vs, seed=1)
        _train(client, "tiny3d", data3d, "ZYX", vs)
    return server


def _connect(server: str) -> str:
    host, port = server.split(":")
    return f'run("Connect to Server", "host={host} port={port}");\n'


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_time_series_with_float_labels(run_macro, models, tmp_path):
    frames = [make_objects("brightness", grid=(5, 5), seed=s) for s in (2, 3)]
    image = np.stack([f.image for f in frames]).astype(np.float32)
    # 32-bit float labels: ImageJ's only type above 65535; IDs stay exact up to 2^24
    labels = np.stack(
        [np.where(f.labels > 0, f.labels.astype(np.uint32) + 70000, 0) for f in frames]
    )
    tifffile.imwrite(tmp_path / "movie.tif", image, imagej=True, metadata={"axes": "TYX"})
    tifffile.imwrite(
        tmp_path / "movie-labels.tif", labels.astype(np.float32), imagej=True,
        metadata={"axes": "TYX"},
    )  # fmt: skip
    result = run_macro(
        f"""
call("{API}.connect", "{models.split(":")[0]}", "{models.split(":")[1]}");
emit("r=" + call("{API}.classify", "{tmp_path}/movie.tif", "{tmp_path}/movie-labels.tif",
     "tiny2d", "0", "save={tmp_path}/out"));
""",
        mode="headless",
    )
    assert result.value("r").startswith("objects=50"), result.value("r")
    class_map = tifffile.imread(tmp_path / "out" / "movie_classes.tif")
    rows = _rows(tmp_path / "out" / "movie_objects.csv")
    assert class_map.shape == labels.shape
    with Client(models) as client:
        for t in range(2):
            remote = client.predict("tiny2d", image[t], labels[t].astype(np.uint32), axes="YX")
            np.testing.assert_array_equal(class_map[t], remote.class_map)
            got = {
                int(float(r["label"])): int(r["class"]) for r in rows if r["frame"] == str(t + 1)
            }
            assert got == dict(zip(remote.label_id.tolist(), remote.class_index.tolist()))
            assert min(got) > 70000


def test_3d_stack_uses_calibration(run_macro, models, tmp_path):
    vs = (2.0, 0.5, 0.5)
    data = make_objects("brightness", grid=(3, 3), z_planes=8, voxel_size=vs, seed=4)
    image = (data.image * 1000).astype(np.uint16)
    meta = {"spacing": 2.0, "unit": "um", "axes": "ZYX"}
    kw = {"imagej": True, "resolution": (2.0, 2.0), "metadata": meta}
    tifffile.imwrite(tmp_path / "stack.tif", image, **kw)
    tifffile.imwrite(tmp_path / "stack-labels.tif", data.labels.astype(np.uint16), **kw)
    result = run_macro(
        f"""open("{tmp_path}/stack.tif"); open("{tmp_path}/stack-labels.tif");
{_connect(models)}
run("Classify Objects", "image=stack.tif labels=stack-labels.tif model=tiny3d version=0 class");
selectImage("stack-classes");
getVoxelSize(w, h, d, unit);
emit("voxel=" + d + "," + h + "," + w);
saveAs("Tiff", "{tmp_path}/classes.tif");
"""
    )
    assert [float(v) for v in result.value("voxel").split(",")] == list(vs)
    with Client(models) as client:
        remote = client.predict("tiny3d", image, data.labels, axes="ZYX", voxel_size=vs)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "classes.tif"), remote.class_map)


def test_explain_object(run_macro, models, tmp_path):
    pair = write_pair(tmp_path, "cells", seed=5)
    label = int(sorted(pair["data"].classes)[14])  # mid-image: its patch misses the corner
    result = run_macro(
        f"""open("{pair["paths"]["image"]}"); open("{pair["paths"]["labels"]}");
{_connect(models)}
run("Explain Object", "{PAIR} model=tiny2d version=0 label={label} class=0");
selectImage("cells-gradcam-{label}");
getStatistics(area, mean, min, max);
emit("max=" + max);
emit("size=" + getWidth() + "x" + getHeight());
emit("corner=" + getPixel(0, 0));
selectImage("cells.tif");
emit("overlay=" + Overlay.size);
"""
    )
    assert result.value("size") == f"{pair['image'].shape[1]}x{pair['image'].shape[0]}"
    assert result.value("overlay") == "1" and float(result.value("corner")) == 0
    with Client(models) as client:
        remote = client.explain("tiny2d", pair["image"], pair["labels"], label, axes="YX")
    # Fiji shows the heatmap resampled onto the image: an interpolated peak never exceeds
    # the heatmap's and lands on it only when a sample falls on the peak's position
    peak, shown = float(remote.heatmap.max()), float(result.value("max"))
    assert 0.99 * peak <= shown <= peak + 1e-4
    assert remote.heatmap.max() > 0


def test_classify_folder_reports_a_broken_image(run_macro, models, tmp_path):
    data = tmp_path / "data"
    for i, stem in enumerate(["a", "b", "c"]):
        pair = write_pair(tmp_path / "src", stem, seed=10 + i, grid=(4, 4))
        (data / "Images").mkdir(parents=True, exist_ok=True)
        (data / "Masks").mkdir(exist_ok=True)
        pair["paths"]["image"].rename(data / "Images" / f"{stem}.tif")
        labels = pair["labels"] if stem != "c" else pair["labels"][:50]  # c: wrong size
        tifffile.imwrite(data / "Masks" / f"{stem}.tif", labels, imagej=True)
    out = tmp_path / "out"
    options = f"folder={data} output={out} model=tiny2d version=0 rois"
    result = run_macro(
        f"""{_connect(models)}
run("Classify Folder", "{options}");
run("Classify Folder", "{options}");
"""
    )
    summary = {r["image"]: r for r in _rows(out / "summary.csv")}
    assert "shape mismatch" in summary["c"]["error"]
    assert "exists; choose an empty output folder" in result.output
    objects = _rows(out / "objects.csv")
    assert {r["image"] for r in objects} == {"a", "b"}
    with Client(models) as client:
        for stem in ("a", "b"):
            image = tifffile.imread(data / "Images" / f"{stem}.tif")
            labels = tifffile.imread(data / "Masks" / f"{stem}.tif")
            remote = client.predict("tiny2d", image, labels, axes="YX")
            classes = tifffile.imread(out / f"{stem}_classes.tif")
            np.testing.assert_array_equal(classes, remote.class_map)
            for k, name in enumerate(remote.class_names, start=1):
                assert int(float(summary[stem][name])) == int((remote.class_index == k).sum())
            assert (out / f"{stem}_classes.zip").is_file()


def test_models_export_import_delete(run_macro, models, tmp_path):
    file = tmp_path / "tiny2d.phenosort"
    result = run_macro(
        f"""{_connect(models)}
run("Models", "action=export model=tiny2d version=0 file={file}");
run("Models", "action=import model=tiny-copy version=0 file={file}");
emit("after_import=" + call("{API}.listModels"));
run("Models", "action=export model=tiny2d version=0 file={file}");
run("Models", "action=delete model=tiny-copy version=0 file=[]");
emit("after_delete=" + call("{API}.listModels"));
"""
    )
    assert file.stat().st_size > 1000
    assert "tiny-copy" in result.value("after_import").split(",")
    assert "tiny-copy" not in result.value("after_delete").split(",")
    assert "exists; choose another file name" in result.output  # the export never overwrites
    # the training report beside the file, stored by the server when it trained the version
    page = (tmp_path / "tiny2d.report.html").read_text(encoding="utf-8")
    expected = evaluation_of(read_metadata(file))
    source, cm = confusion_in(page)
    assert expected is not None and source == expected.source
    assert cm.tolist() == expected.matrix.tolist()
    assert "<h2>Labelled objects</h2>" in page


def test_gui_training_plot_and_class_map_screenshot(run_macro, models, tmp_path):
    pair = write_pair(tmp_path, "cells", seed=6)
    p = pair["paths"]
    shot = tmp_path / "shot.png"
    result = run_macro(
        f"""open("{p["image"]}"); open("{p["labels"]}");
{_connect(models)}
roiManager("Open", "{p["rois"]}");
run("Train Classifier", "model=gui {PAIR} classes=[] epochs=3");
emit("plot=" + isOpen("PhenoSort training: gui"));
run("Classify Objects", "{PAIR} model=tiny2d version=0 class results");
selectImage("cells-classes");
run("Set... ", "zoom=200");
wait(500);
run("Capture Image");
saveAs("PNG", "{shot}");
""",
        mode="gui",
    )
    assert result.value("plot") == "1"
    pixels = imread(shot)[..., :3].reshape(-1, 3)
    assert pixels.std() > 10  # not blank
    colours = {tuple(c) for c in np.unique(pixels, axis=0)}
    lut = glasbey_lut()
    assert tuple(lut[1]) in colours and tuple(lut[2]) in colours
