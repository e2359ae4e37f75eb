"""A model store: a folder of named models, each a list of immutable numbered versions.

Layout: ``<root>/<name>/v0001.phenosort``, ``v0002.phenosort``, ... Saving always creates a
new version file (atomically, never overwriting one), so retraining keeps every earlier
version reproducible. Names are plain file names: no separators, no traversal.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import InvalidInputError, ModelNotFoundError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_VERSION = re.compile(r"^v(\d{4,})\.phenosort$")


def default_store_root() -> Path:
    """``$PHENOSORT_STORE`` or the user's data directory (XDG on Linux)."""
    if os.environ.get("PHENOSORT_STORE"):
        return Path(os.environ["PHENOSORT_STORE"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "phenosort" / "models"


class ModelStore:
    """Named, versioned model files under ``root`` (created on first save)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_root()

    def folder(self, name: str) -> Path:
        """The folder of model ``name`` (it may not exist yet); refuses a name that is not a
        plain file name (no separators, no traversal)."""
        if not _NAME.match(name or ""):
            raise InvalidInputError(
                f"model name {name!r} is not valid: use letters, digits, '.', '_' or '-' "
                "(at most 100, starting with a letter or digit)"
            )
        return self.root / name

    def names(self) -> list[str]:
        """Names of the models that have at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if _NAME.match(p.name) and self._ls(p))

    @staticmethod
    def _ls(folder: Path) -> list[int]:
        found = (_VERSION.match(p.name) for p in folder.iterdir()) if folder.is_dir() else ()
        return sorted(int(m.group(1)) for m in found if m)

    def saved_versions(self, name: str) -> list[int]:
        """The version files of ``name``, oldest first; empty when there are none (a model
        the service created but has not trained yet), where :meth:`versions` raises."""
        return self._ls(self.folder(name))

    def versions(self, name: str) -> list[int]:
        versions = self.saved_versions(name)
        if not versions:
            raise ModelNotFoundError(f"no model named {name!r} in {self.root}")
        return versions

    def path(self, name: str, version: int | None = None) -> Path:
        """File of ``version`` (default: the latest) of model ``name``."""
        versions = self.versions(name)
        version = versions[-1] if version is None else int(version)
        if version not in versions:
            raise ModelNotFoundError(
                f"model {name!r} has no version {version}; versions: "
                f"{', '.join(map(str, versions))}"
            )
        return self.folder(name) / f"v{version:04d}.phenosort"

    def save(self, name: str, classifier) -> int:
        """Save ``classifier`` as the next version of ``name``; returns that version."""
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        while True:  # another writer may take a number: never overwrite, try the next
            version = (self._ls(folder) or [0])[-1] + 1
            try:
                classifier.save(folder / f"v{version:04d}.phenosort")
                return version
            except InvalidInputError:
                if not (folder / f"v{version:04d}.phenosort").exists():
                    raise

    def load(self, name: str, version: int | None = None, *, device: str | None = None):
        from .classifier import ObjectClassifier

        return ObjectClassifier.load(self.path(name, version), device=device)

    def metadata(self, name: str, version: int | None = None) -> dict:
        from .model.file import read_metadata

        return read_metadata(self.path(name, version))

    def delete(self, name: str, version: int | None = None) -> None:
        """Delete one version, or every version of ``name`` when ``version`` is None."""
        paths = [self.path(name, v) for v in ([version] if version else self.versions(name))]
        for p in paths:
            p.unlink()
        folder = self.folder(name)
        if not any(folder.iterdir()):
            folder.rmdir()
