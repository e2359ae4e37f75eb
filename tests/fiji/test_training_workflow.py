"""The Fiji training workflow across images (issue 16): labels of several images in one
training set ("use the labels of all annotated images", "add to the training set only"), the
Log's training-set totals, "epochs=0" as the service's default, one training plot per model
without validation curves when there is no validation set, the 2-fold estimate's confusion
matrix without a hold-out, and classes that a macro cannot make up by a typo."""

from __future__ import annotations

import re

import pytest

from phenosort.client import Client
from phenosort.model.config import ModelConfig

from .data import write_pair

API = "org.phenosort.phenosort.macro.MacroApi"
ANNOTATE = "org.phenosort.phenosort.macro.AnnotateApi.annotate"
SMALL = {"net_width": 8, "patch_size": 24, "train_min_epoch_samples": 32}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Images a, b and c (2 classes, 36 objects each), label images and ROI zips."""
    folder = tmp_path_factory.mktemp("data")
    return {stem: write_pair(folder, stem, seed=seed) for stem, seed in zip("abc", (1, 2, 3))}


def _open(pairs, stems) -> str:
    return "".join(
        f'open("{pairs[s]["paths"]["image"]}"); open("{pairs[s]["paths"]["labels"]}");\n'
        for s in stems
    )


def _connect(server: str) -> str:
    host, port = server.split(":")
    return f'run("Connect to Server", "host={host} port={port}");\n'


def _some(pair, per_class: int) -> list[tuple[int, str]]:
    """``per_class`` objects of each class: (label ID, class name)."""
    data, out = pair["data"], []
    for k, name in enumerate(data.class_names, start=1):
        out += [(i, name) for i in sorted(data.classes) if data.classes[i] == k][:per_class]
    return out


def test_labels_of_several_images_make_one_training_set(run_macro, server, pairs):
    """b and c are annotated through AnnotateApi (their ROIs name their image), a by an older
    ROI zip (no image named: it counts for the image trained). "add_only" stages b and c; a
    training of a then trains on all three, and says so; "all_images" sends all three at once."""
    names = ",".join(pairs["a"]["data"].class_names)
    annotate = ""
    for stem in "bc":
        for label, name in _some(pairs[stem], 3):
            annotate += (
                f'emit("ann=" + call("{ANNOTATE}", "{stem}.tif", "{stem}-labels.tif", "{label}", '
                f'"{name}", "{names}"));\n'
            )
    image = "classes=[] epochs=8 validation=0"
    result = run_macro(
        _open(pairs, "abc")
        + _connect(server)
        + annotate
        + f"""
emit("rois=" + roiManager("count"));
run("Train Classifier", "model=staged image=b.tif labels=b-labels.tif {image} add_only");
emit("add_b=[" + call("{API}.lastError") + "]");
run("Train Classifier", "model=staged image=c.tif labels=c-labels.tif {image} add_only");
roiManager("Open", "{pairs["a"]["paths"]["rois"]}");
run("Train Classifier", "model=staged image=a.tif labels=a-labels.tif {image}");
emit("staged=[" + call("{API}.lastError") + "]");
run("Train Classifier", "model=multi image=a.tif labels=a-labels.tif {image} all_images");
emit("multi=[" + call("{API}.lastError") + "]");
""",
        timeout=400,
    )
    out = result.output
    assert all(v.startswith("ok ") for v in result.values("ann")), result.values("ann")
    assert result.value("rois") == "12"
    assert result.value("add_b") == "[]" and result.value("staged") == "[]", out[-3000:]
    assert result.value("multi") == "[]", out[-3000:]
    # add only: the Log gives the training set's totals; nothing is trained
    assert "adding 6 annotated objects of b.tif to the training set of model 'staged'" in out
    assert re.search(
        r"the training set of model 'staged' holds 6 labelled objects of 1 image \(dim=3, "
        r"bright=3\); not trained \(add to the training set only\)", out
    ), out[-3000:]  # fmt: skip
    assert "model 'staged' holds 12 labelled objects of 2 images (dim=6, bright=6)" in out
    # training a: only a's ROIs are a's annotations; the set trained on holds all three images
    assert "12 ROIs are annotations of other images" in out
    assert "adding 36 annotated objects of a.tif to the training set of model 'staged'" in out
    assert "training model 'staged' on 48 labelled objects of 3 images (dim=24, bright=24)" in out
    # the symmetry probes' epochs arrive (and are named) before the training's first epoch
    probes = out.index("testing which flips and turns keep the classes")
    assert out.index("training model 'staged'") < probes < out.index("epoch 1/8"), out[-3000:]
    assert "trained model 'staged' version 1" in out
    # all_images: the three images at once
    assert (
        "adding 48 annotated objects of 3 images (a.tif 36, b.tif 6, c.tif 6) "
        "to the training set of model 'multi'" in out
    ), out[-3000:]
    assert "training model 'multi' on 48 labelled objects of 3 images" in out
    with Client(server) as client:
        for model in ("staged", "multi"):
            info = client.get_model(model)
            assert info.versions == [1] and info.n_images == 3
            assert info.counts == {"dim": 24, "bright": 24}
            trained = {entry["name"] for entry in info.metadata["training_data"]}
            assert trained == {"a.tif", "b.tif", "c.tif"}, info.metadata["training_data"]
            # each image's own annotations: b's label IDs are those annotated in b
            of_b = next(e for e in info.metadata["training_data"] if e["name"] == "b.tif")
            assert sorted(of_b["label_ids"]) == sorted(i for i, _ in _some(pairs["b"], 3))


def test_epochs_0_is_the_service_default(run_macro, server, pairs):
    """A model created with 2 epochs, trained from a macro with epochs=0 ("0 = default"):
    the version trains the service's default epochs."""
    data = pairs["a"]["data"]
    with Client(server) as client:
        client.create_model("zero", data.class_names, train_epochs=2, **SMALL)
    p = pairs["a"]["paths"]
    host, port = server.split(":")
    result = run_macro(
        f"""
emit("connect=" + call("{API}.connect", "{host}", "{port}"));
emit("train=" + call("{API}.train", "zero", "{p["image"]}", "{p["labels"]}",
     "rois={p["rois"]} epochs=0 augmentation=none"));
""",
        mode="headless",
        timeout=400,
    )
    assert result.value("train").startswith("version=1 objects=36 set_objects=36 set_images=1")
    with Client(server) as client:
        info = client.get_model("zero")
    assert info.settings["train_epochs"] == 2  # the model's own setting is kept ...
    default = ModelConfig().train_epochs
    assert info.metadata["config"]["train_epochs"] == default  # ... and "0 = default" overrides it


def test_plot_window_legend_and_estimate_matrix(run_macro, server, pairs):
    """Two trainings of one model draw in one plot window; without a validation set its legend
    has only the training loss, and the Confusion Matrix table is the 2-fold estimate's."""
    p = pairs["a"]["paths"]
    n = len(pairs["a"]["data"].classes)
    with Client(server) as client:  # a smaller network: the trainings keep the model's
        client.create_model("plots", pairs["a"]["data"].class_names, net_width=16, patch_size=24)
    plot = "PhenoSort training: plots"
    estimate = "PhenoSort confusion matrix (2-fold estimate)"
    result = run_macro(
        _open(pairs, "a")
        + _connect(server)
        + f"""
roiManager("Open", "{p["rois"]}");
run("Train Classifier", "model=plots image=a.tif labels=a-labels.tif classes=[] epochs=4");
run("Train Classifier", "model=plots image=a.tif labels=a-labels.tif classes=[] epochs=3");
titles = getList("image.titles");
count = 0;
for (i = 0; i < titles.length; i++) if (titles[i] == "{plot}") count++;
emit("plots=" + count);
selectWindow("{plot}");
Plot.showValuesWithLabels();
emit("plot_headings=" + String.getResultsHeadings);
emit("points=" + nResults);
emit("estimate=" + isOpen("{estimate}"));
emit("holdout=" + isOpen("PhenoSort confusion matrix"));
IJ.renameResults("{estimate}", "Results");
emit("matrix_headings=" + String.getResultsHeadings);
total = 0;
for (i = 0; i < nResults; i++) {{
    emit("row=" + getResultString("true class", i));
    total += getResult("dim", i) + getResult("bright", i);
}}
emit("total=" + total);
""",
        mode="gui",
        timeout=240,
    )
    assert result.value("plots") == "1"  # the second training redrew the first one's window
    headings = result.value("plot_headings").split("\t")
    assert "training_loss" in headings and not any("validation" in h for h in headings), headings
    assert result.value("points") == "3"  # the second training's epochs only
    assert result.value("estimate") == "1" and result.value("holdout") == "0"
    assert result.values("row") == ["dim", "bright"]
    # every labelled object once, predicted by a probe that never saw it
    assert float(result.value("total")) == n
    # GUI: a table, not Log lines
    assert "2-fold estimate's confusion matrix (no hold-out)" not in result.output


def test_a_class_name_typo_is_an_error_naming_the_known_classes(run_macro, tmp_path):
    """AnnotateApi makes no class from an unknown name or index: the call fails (also in
    MacroApi.lastError and the Log) and names the known classes; a classes list adds them."""
    make = (
        'newImage("cells-labels.tif", "16-bit black", 100, 40, 1);\n'
        "for (k = 1; k <= 3; k++) for (y = 10; y < 20; y++) for (x = 0; x < 10; x++)\n"
        "    setPixel(30 * k - 20 + x, y, k);\n"
        'newImage("cells.tif", "8-bit ramp", 100, 40, 1);\n'
    )
    call = f'call("{ANNOTATE}", "cells.tif", "cells-labels.tif"'
    body = make + (
        f'emit("none=" + {call}, "1", "interphase"));\n'
        f'emit("none_error=" + call("{API}.lastError"));\n'
        f'emit("listed=" + {call}, "1", "interphase", "interphase,mitotic"));\n'
        f'emit("listed_error=[" + call("{API}.lastError") + "]");\n'
        f'emit("typo=" + {call}, "2", "Mitotic"));\n'
        f'emit("typo_error=" + call("{API}.lastError"));\n'
        f'emit("index=" + {call}, "2", "3"));\n'
        f'emit("known=" + {call}, "2", "mitotic"));\n'
        f'emit("reorder=" + {call}, "3", "mitotic", "mitotic,interphase"));\n'
        f'emit("added=" + {call}, "3", "apoptotic", "interphase,mitotic,apoptotic"));\n'
        'emit("groups=" + call("ij.gui.Roi.getGroupNames"));\n'
        'emit("overlay=" + Overlay.size);\n'
    )
    result = run_macro(body, mode="headless")
    none = result.value("none")
    assert none.startswith("error: unknown class 'interphase': no classes are known yet"), none
    assert result.value("none_error") == none.removeprefix("error: ")
    assert result.value("listed") == "ok interphase-1 group=1 label=1"
    assert result.value("listed_error") == "[]"
    typo = result.value("typo")
    assert typo.startswith(
        "error: unknown class 'Mitotic': the known classes are interphase (1), mitotic (2) "
        "(names are case-sensitive). New classes are explicit"
    ), typo
    assert result.value("typo_error") == typo.removeprefix("error: ")
    assert "PhenoSort error: unknown class 'Mitotic'" in result.output  # the Log (stdout headless)
    assert result.value("index").startswith("error: class index 3: the known classes are")
    assert result.value("known") == "ok mitotic-2 group=2 label=2"
    reorder = result.value("reorder")
    assert reorder.startswith("error: ") and "give 'interphase' as class 1" in reorder, reorder
    assert result.value("added") == "ok apoptotic-3 group=3 label=3"
    assert result.value("groups") == "interphase,mitotic,apoptotic"
    assert result.value("overlay") == "3"
