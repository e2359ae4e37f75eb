"""Training reports of a server's model versions: ``v0001.report.html`` beside
``v0001.phenosort`` in the model's folder, written when the version is trained here (with the
gallery of its labelled objects, from the stored training set), rebuilt from the version's
file otherwise (an imported model: no gallery)."""

from __future__ import annotations

import logging
from pathlib import Path

from .cache import write_atomic

log = logging.getLogger("phenosort.service")


def report_path(model_file: Path) -> Path:
    """``.../v0001.phenosort`` -> ``.../v0001.report.html``."""
    return model_file.with_name(f"{model_file.stem}.report.html")


def write_training_report(model_file: Path, title: str, clf, samples) -> Path | None:
    """Write the report of a version just trained (``clf``, saved as ``model_file``) with
    the gallery of ``samples``' labelled objects. A failure is logged and leaves the
    version without a stored report (it is rebuilt from the file when asked for): the
    training itself succeeded."""
    from ..gallery.labelled import training_gallery
    from ..report import build_report

    try:
        gallery = training_gallery(clf, samples)
        page = build_report(clf.metadata(), title=title, gallery=gallery).html
        path = report_path(model_file)
        write_atomic(path, page)
        return path
    except Exception:
        log.exception("the training report of %s could not be written", model_file)
        return None


def report_html(model_file: Path, title: str) -> str:
    """The version's stored report, else one rebuilt from its file's metadata."""
    from ..model.file import read_metadata
    from ..report import build_report

    stored = report_path(model_file)
    try:
        return stored.read_text(encoding="utf-8")
    except FileNotFoundError:
        return build_report(read_metadata(model_file), title=title).html
