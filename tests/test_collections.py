"""``phenosort predict`` of a folder on Dask distributed, against the serial run.

One local cluster (2 worker processes) is started per module and used through
``--scheduler``; one test lets the command start its own (``--workers 2``). Every output file
must be the serial run's, byte for byte (ROI zips entry by entry: a zip entry carries its
write time), except the network's numbers: a serial run puts small images' objects in shared
batches and a worker predicts each image alone, and on some CPUs (AVX-512) oneDNN's
convolutions round differently for 16 or more samples than for fewer. Probabilities may then
differ in their last printed digit (0.00482652 against 0.00482651).
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import psutil
import pytest
import tifffile

from phenosort.batch.cluster import load_counts
from phenosort.cli import main
from phenosort.testing import make_objects

STEMS = ("c_img", "a_img", "b_img")  # written out of order: tables follow the stems
OPTIONS = ["--rois", "--class-masks", "--confidence", "--device", "cpu", "--quiet"]


def write_pairs(root: Path, stems=STEMS) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, stem in enumerate(stems):
        d = make_objects("brightness", grid=(3, 3), seed=20 + i)
        tifffile.imwrite(root / "images" / f"{stem}.tif", d.image, imagej=True)
        tifffile.imwrite(root / "masks" / f"{stem}.tif", d.labels, imagej=True)
    return root


def predict(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["predict", *map(str, argv)])
    return code, out.getvalue(), err.getvalue()


def assert_same_outputs(found: dict[str, object], expected: dict[str, object]) -> None:
    """The same files (:func:`contents`) with the same bytes; objects.csv's numbers and the
    confidence maps' pixels within 1e-6 of each other, all else to the byte."""
    assert found.keys() == expected.keys()
    for name, data in found.items():
        if name == "objects.csv":
            _assert_csv_close(data, expected[name])
        elif name.endswith("_confidence.tif"):
            a, b = (tifffile.imread(io.BytesIO(x)) for x in (data, expected[name]))
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=name)
        else:
            assert data == expected[name], name


def _assert_csv_close(found: bytes, expected: bytes) -> None:
    rows_found, rows_expected = (x.decode().split("\r\n") for x in (found, expected))
    assert len(rows_found) == len(rows_expected)
    for row_found, row_expected in zip(rows_found, rows_expected):
        for a, b in zip(row_found.split(","), row_expected.split(","), strict=True):
            if a != b:  # only numbers may differ, and only by rounding
                assert abs(float(a) - float(b)) <= 1e-6, (row_found, row_expected)


def contents(folder: Path) -> dict[str, object]:
    """Every file's bytes; a zip's entries as (name, bytes) in order."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                found[path.name] = [(i.filename, zf.read(i)) for i in zf.infolist()]
        else:
            found[path.name] = path.read_bytes()
    return found


def helpers() -> set[int]:
    """This process's child processes (the cluster's workers while one runs), but not
    multiprocessing's resource tracker, which stays for the process's lifetime."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if not any("resource_tracker" in part for part in p.cmdline())
    }


@pytest.fixture(scope="module")
def model(tmp_path_factory, trained) -> Path:
    return trained.save(tmp_path_factory.mktemp("model") / "model.phenosort")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_pairs(tmp_path_factory.mktemp("collection") / "data")


@pytest.fixture(scope="module")
def serial(data, model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    code, _, err = predict(data, "--model", model, "--out", out, "--workers", "0", *OPTIONS)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def cluster():
    """A cluster started by the test, as a user would start one (its address for --scheduler)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield cluster, client


def test_local_cluster_matches_serial(data, model, serial, tmp_path):
    before = helpers()
    out = tmp_path / "out"
    code, _, err = predict(data, "--model", model, "--out", out, "--workers", "2", *OPTIONS)
    assert code == 0, err
    assert_same_outputs(contents(out), contents(serial))
    assert {"objects.csv", "summary.csv", "a_img_classes.zip", "c_img_dim_labels.tif"} <= set(
        contents(out)
    )
    assert helpers() <= before  # the command's cluster is gone with it


def test_scheduler_matches_serial_and_loads_model_once_per_worker(
    data, model, serial, cluster, tmp_path
):
    _, client = cluster
    for run in ("first", "second"):
        out = tmp_path / run
        code, _, err = predict(
            data, "--model", model, "--out", out, "--scheduler", cluster[0].scheduler_address,
            *OPTIONS,
        )  # fmt: skip
        assert code == 0, err
        assert_same_outputs(contents(out), contents(serial))
    loads = client.run(load_counts)  # {worker address: {model path: loads}}
    per_worker = [counts.get(str(model.resolve()), 0) for counts in loads.values()]
    assert len(per_worker) == 2 and max(per_worker) == 1, loads  # 6 images, at most 2 loads


def test_failed_image_is_reported_and_the_others_finish(model, cluster, tmp_path):
    data = write_pairs(tmp_path / "data")
    (data / "images" / "b_img.tif").write_bytes(b"not a TIFF")
    tifffile.imwrite(data / "masks" / "c_img.tif", make_objects(grid=(2, 2)).labels, imagej=True)
    runs = {}
    for how in (["--workers", "0"], ["--scheduler", cluster[0].scheduler_address]):
        out = tmp_path / how[0].strip("-")
        code, _, err = predict(data, "--model", model, "--out", out, *how, *OPTIONS)
        assert code == 2
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert [e.split(":")[1].strip() for e in errors] == ["b_img", "c_img"], err
        assert "2 of 3 image(s) failed" in err
        runs[how[0]] = contents(out)
    assert_same_outputs(runs["--workers"], runs["--scheduler"])
    summary = runs["--workers"]["summary.csv"].decode().splitlines()
    assert summary[0] == "image,n_objects,dim,bright,error"
    assert summary[1].startswith("a_img,9,") and summary[1].endswith(",")
    assert summary[2].startswith("b_img,,,,") and "b_img.tif" in summary[2]
    assert summary[3].startswith("c_img,,,,")
    assert {p for p in runs["--workers"] if p.endswith("_classes.tif")} == {"a_img_classes.tif"}


def test_one_image_runs_in_process(model, tmp_path):
    data = write_pairs(tmp_path / "data", stems=("only",))
    before = helpers()
    code, stdout, err = predict(data, "--model", model, "--out", tmp_path / "out")
    assert code == 0, err
    assert helpers() <= before and "9 objects in 1 image(s)" in stdout


def test_options_that_do_not_go_together(data, model, tmp_path, capsys):
    out = tmp_path / "out"
    for extra in (["--workers", "-1"], ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]):
        code, _, err = predict(data, "--model", model, "--out", out, *extra)
        assert code == 2 and err.startswith("error: --workers"), err
    code, _, err = predict(data, "--model", model, "--out", out, "--server", "127.0.0.1:1",
                           "--workers", "2")  # fmt: skip
    assert code == 2 and "without --server" in err, err
    assert not out.exists()


def test_small_folder_runs_in_process_by_default(data, model, tmp_path):
    # a local cluster costs 10-20 s to start: below CLUSTER_MIN_BYTES of images, no Dask
    script = (
        "import sys\nfrom phenosort.cli import main\n"
        f"code = main(['predict', {str(data)!r}, '--model', {str(model)!r}, "
        f"'--out', {str(tmp_path / 'out')!r}, '--quiet'])\n"
        "print(code, 'distributed' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    *summary, last = done.stdout.splitlines() or [""]  # --quiet keeps the one-line summary
    assert last.split() == ["0", "False"], done.stderr[-2000:]
    assert len(summary) == 1 and "image(s) classified" in summary[0], done.stdout
    assert (tmp_path / "out" / "summary.csv").is_file()
