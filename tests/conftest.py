"""Shared fixtures: synthetic data, a small trained model, and the real datasets' location."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from phenosort.classifier import ObjectClassifier, Sample
from phenosort.service.local import LocalService
from phenosort.testing import make_objects

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# small, fast settings for synthetic tasks (the defaults are measured in scripts/bench_*)
FAST = {"net_width": 16, "train_epochs": 25, "train_patience": 0, "train_min_epoch_samples": 96}


def accuracy(prediction, truth: dict[int, int]) -> float:
    expected = np.array([truth[int(i)] for i in prediction.label_id])
    return float((prediction.class_index == expected).mean())


def sample_of(data, name: str = "") -> Sample:
    return Sample(data.image, data.labels, data.classes, data.axes, data.voxel_size, name)


@pytest.fixture(scope="session")
def brightness_data():
    return make_objects("brightness", grid=(8, 8), seed=1), make_objects(
        "brightness", grid=(8, 8), seed=2
    )


@pytest.fixture(scope="session")
def trained(brightness_data) -> ObjectClassifier:
    """A small model trained on the brightness task (shared, never modified by tests)."""
    train, _ = brightness_data
    clf = ObjectClassifier(train.class_names, **FAST)
    clf.fit([sample_of(train, "train")])
    return clf


def shared_dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {path} is not available")
    return path


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory):
    """(cert.pem, key.pem) for 127.0.0.1/localhost, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real ``phenosort serve`` on a free loopback port (shared by the ImageJ tests):
    yields "host:port"."""
    service = LocalService(tmp_path_factory.mktemp("store"), device="cpu", timeout=120)
    address = service.start()
    yield address
    service.stop()


@pytest.fixture(scope="session")
def plugin_jar() -> Path:
    """The built Fiji plugin jar (CI builds it before pytest): a failure, not a skip, without it."""
    from phenosort.errors import InvalidInputError
    from phenosort.imagej.jvm import find_plugin_jar

    try:
        return find_plugin_jar()
    except InvalidInputError as exc:
        pytest.fail(str(exc))
