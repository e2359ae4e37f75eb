"""ModelStore: named models with immutable numbered versions."""

from __future__ import annotations

import pytest

from conftest import sample_of
from phenosort.errors import InvalidInputError, ModelNotFoundError
from phenosort.store import ModelStore, default_store_root
from phenosort.testing import make_objects


def test_versions_accumulate_and_old_ones_stay_loadable(trained, tmp_path):
    store = ModelStore(tmp_path / "store")
    assert store.names() == []
    assert store.save("nuclei", trained) == 1
    first_bytes = store.path("nuclei", 1).read_bytes()
    clf = store.load("nuclei")
    clf.config = clf.config.updated(train_epochs=1)
    clf.fit([sample_of(make_objects("brightness", grid=(4, 4), seed=7))], warm_start=True)
    assert store.save("nuclei", clf) == 2
    assert store.versions("nuclei") == [1, 2]
    assert store.path("nuclei", 1).read_bytes() == first_bytes  # never rewritten
    assert store.metadata("nuclei")["version"] == 2
    assert store.load("nuclei", 1).version == 1
    assert store.names() == ["nuclei"]
    store.delete("nuclei", 1)
    assert store.versions("nuclei") == [2]
    store.delete("nuclei")
    assert store.names() == []


def test_unknown_and_invalid_names(tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ModelNotFoundError, match="no model named 'x'"):
        store.load("x")
    for bad in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(InvalidInputError, match="not valid"):
            store.versions(bad)


def test_missing_version_lists_existing(trained, tmp_path):
    store = ModelStore(tmp_path)
    store.save("m", trained)
    with pytest.raises(ModelNotFoundError, match="no version 7; versions: 1"):
        store.path("m", 7)


def test_default_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PHENOSORT_STORE", str(tmp_path / "s"))
    assert default_store_root() == tmp_path / "s"
    monkeypatch.delenv("PHENOSORT_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_root() == tmp_path / "xdg" / "phenosort" / "models"


def test_folder_and_saved_versions_are_what_the_service_registry_reads(trained, tmp_path):
    """The registry keeps untrained models in their folder: it needs the folder of a valid
    name and the versions without an error when there are none."""
    store = ModelStore(tmp_path)
    assert store.folder("m") == tmp_path / "m" and not (tmp_path / "m").exists()
    assert store.saved_versions("m") == []
    with pytest.raises(InvalidInputError, match="not valid"):
        store.folder("../m")
    store.save("m", trained)
    store.save("m", trained)
    assert store.saved_versions("m") == store.versions("m") == [1, 2]
