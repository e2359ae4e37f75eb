"""Training reports from the service (real server on loopback): a version trained there has
its report stored with the gallery of its labelled objects, GetTrainingReport serves it, an
export can carry it, an imported version gets it rebuilt from its file; the confusion-matrix
numbers are the model file's."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from grpc import StatusCode as Code

from phenosort.client import Client
from phenosort.model.file import read_metadata
from phenosort.report_text import evaluation_of
from phenosort.testing import make_objects
from phenosort.v1 import phenosort_pb2 as pb
from test_report import confusion_in

from .conftest import TINY, create_model, rpc_error, train


def _report(stub, name: str, version: int = 0) -> str:
    chunks = list(stub.GetTrainingReport(pb.ExportModelRequest(name=name, version=version)))
    assert chunks[0].name == name
    return b"".join(c.data for c in chunks).decode("utf-8")


def test_trained_version_has_its_report_with_the_model_files_numbers(stub, service, tmp_path):
    data = make_objects("brightness", grid=(4, 4), seed=2)
    create_model(stub, "reported", data)  # 8 labels per class: a hold-out of 1 per class
    events = train(stub, "reported")
    assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED, events[-1].job.message
    page = _report(stub, "reported")
    with Client(service.address) as client:
        path = client.export_model("reported", tmp_path / "r.phenosort", report=True)
        assert (tmp_path / "r.report.html").read_text(encoding="utf-8") == page
        assert client.training_report("reported", 1) == page
    meta = read_metadata(path)
    source, cm = confusion_in(page)
    expected = evaluation_of(meta)
    assert expected is not None and source == expected.source
    assert cm.tolist() == expected.matrix.tolist()
    assert int(cm.sum()) > 0
    # the gallery of the labelled objects: every labelled object once, under its own ID
    assert "<h2>Labelled objects</h2>" in page
    assert "reported version 1" in page
    assert len(re.findall(r'alt="(dim|bright)"', page)) == 2

    # stored beside the version file, and deleted with the version
    stored = Path(service.store) / "models" / "reported" / "v0001.report.html"
    assert stored.read_text(encoding="utf-8") == page
    train(stub, "reported")
    stub.DeleteModel(pb.DeleteModelRequest(name="reported", version=1))
    assert not stored.exists()
    assert (stored.parent / "v0002.report.html").is_file()


def test_imported_version_gets_its_report_rebuilt_from_the_file(stub, service, tmp_path):
    data = make_objects("brightness", grid=(4, 4), seed=4)
    create_model(stub, "to-export", data, {**TINY, "train_val_fraction": 0})  # no hold-out
    train(stub, "to-export")
    with Client(service.address) as client:
        path = client.export_model("to-export", tmp_path / "e.phenosort")
        client.import_model(path, "imported")
    page = _report(stub, "imported")
    assert "<h2>Labelled objects</h2>" not in page and "rebuilt from the model file" in page
    source, cm = confusion_in(page)
    meta = read_metadata(path)
    assert meta["validation"] is None
    assert source == "2-fold estimate"  # no hold-out: the k-fold estimate, named as such
    assert cm.tolist() == meta["symmetry"]["estimate"]["confusion_matrix"]
    assert np.asarray(cm).sum() == len(data.classes)
    assert "hold-out:" not in page


def test_report_of_a_missing_model_or_version_is_not_found(stub):
    error = rpc_error(stub.GetTrainingReport, pb.ExportModelRequest(name="absent"))
    assert error.code() == Code.NOT_FOUND and "absent" in error.details()
    stub.CreateModel(pb.CreateModelRequest(name="untrained", class_names=["a", "b"]))
    error = rpc_error(stub.GetTrainingReport, pb.ExportModelRequest(name="untrained"))
    assert error.code() in (Code.NOT_FOUND, Code.FAILED_PRECONDITION), error.details()
    assert "untrained" in error.details()
