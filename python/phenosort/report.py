"""The training report: one self-contained HTML page (PNGs embedded) plus the PNGs as files.

Everything but the gallery comes from a model file's metadata alone (``history``,
``validation`` or the 2-fold ``symmetry.estimate``, ``assessment``, ``config``, ``patch``,
``normalization``, ``symmetry``, ``training_data``), so ``phenosort info --report`` rebuilds
it from the file. The gallery of labelled objects needs the training images; the ``train``
command has them and adds it (:func:`training_gallery`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import plots
from .errors import InvalidInputError
from .gallery.montages import Gallery
from .montage import png_bytes
from .report_text import decisions, evaluation_of, kfold_evaluation

if TYPE_CHECKING:
    from .classifier import Sample

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f3f3f3;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{padding:.6em 1em;border-radius:4px}.better{background:#e6f4e6}
.uncertain{background:#fff4dc}.chance{background:#fde4e4}.none{background:#eee}
img{max-width:100%}.note{color:#555;font-size:.9em}
"""


@dataclass
class Report:
    """A rendered report: ``html`` (self-contained) and ``files`` (file name -> PNG)."""

    html: str
    files: dict[str, bytes] = field(default_factory=dict)

    def save(self, path: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write the page to ``path`` and the PNGs into ``<path stem>-files/``; nothing is
        replaced without ``overwrite`` (checked before anything is written)."""
        path, folder = report_paths(path)
        if path.suffix.lower() not in (".html", ".htm"):
            raise InvalidInputError(f"{path}: the report is HTML; name it <something>.html")
        targets = [path] + [folder / name for name in self.files]
        taken = [p for p in targets if p.exists()]
        if taken and not overwrite:
            raise InvalidInputError(
                f"report outputs exist already ({taken[0]}, ...); use --overwrite or another name"
            )
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        return targets


def report_paths(path: str | Path) -> tuple[Path, Path]:
    """The page and its files folder: ``m.report.html`` -> ``m.report-files/``."""
    path = Path(path)
    return path, path.with_name(f"{path.stem}-files")


def default_report_path(model_path: str | Path) -> Path:
    """Where ``train`` writes the report of ``m.phenosort``: ``m.report.html`` beside it."""
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.stem}.report.html")


def save_training_report(
    path: str | Path,
    model: str | Path,
    samples: Sequence[Sample],
    *,
    device: str | None = None,
    overwrite: bool = False,
    kfold: dict | None = None,
) -> list[Path]:
    """The report of a model file just written, with the gallery of ``samples``' labelled
    objects (predicted here by that model file, also after a training on a server) and a
    cross-validation when one was run; returns the files written (the page first)."""
    from .classifier import ObjectClassifier
    from .gallery.labelled import training_gallery

    clf = ObjectClassifier.load(model, device=device)
    gallery = training_gallery(clf, samples)
    page = build_report(clf.metadata(), title=Path(model).name, gallery=gallery, kfold=kfold)
    return page.save(path, overwrite=overwrite)


def build_report(
    meta: dict, *, title: str = "", gallery: Gallery | None = None, kfold: dict | None = None
) -> Report:
    """The report of a model's metadata (:meth:`ObjectClassifier.metadata` or
    :func:`phenosort.model.file.read_metadata`), with the labelled objects' ``gallery`` and
    the K-fold cross-validation ``kfold`` (:func:`phenosort.evaluation.cross_validate`) run
    before training: it scores the model when there is no hold-out, and has a section of
    its own beside one. Neither is in the model file."""
    for key in ("class_names", "config", "patch", "normalization"):
        if key not in meta:
            raise InvalidInputError(f"model metadata has no {key!r}: not a trained model's")
    names = list(meta["class_names"])
    files: dict[str, bytes] = {}
    esc = html.escape
    parts = [f"<h1>phenosort training report{': ' + esc(title) if title else ''}</h1>"]
    classes = ", ".join(_swatch(c) + esc(n) for n, c in zip(names, _colors(meta)))
    made = ", ".join(
        f"{label} {meta.get(key, '?')}"
        for label, key in (("version", "version"), ("created", "created"),
                           ("phenosort", "phenosort_version"))
    )  # fmt: skip
    parts.append(f"<p>classes: {classes}<br>{esc(made)}</p>")
    parts.append(_verdict(meta.get("assessment")))

    history = meta.get("history") or []
    files["curves.png"] = plots.training_curves(history)
    parts.append("<h2>Training curves</h2>" + _img(files["curves.png"], "loss and accuracy"))
    parts.append(
        '<p class="note">Training accuracy is measured on augmented objects during the '
        "epoch; the dashed line marks the epoch whose weights were kept.</p>"
    )

    parts.append("<h2>Confusion matrix</h2>")
    evaluation = evaluation_of(meta, kfold)
    if evaluation is None:
        parts.append(
            "<p>No hold-out set and no 2-fold estimate: nothing scored the model on labels "
            "it had not seen (<code>phenosort train --kfold K</code> estimates it).</p>"
        )
    else:
        short = f"{evaluation.source}: {int(evaluation.matrix.sum())} labelled objects"
        files["confusion.png"] = plots.confusion(evaluation.matrix, names, short)
        files["per_class.png"] = plots.per_class(evaluation.metrics)
        parts.append(f"<p><b>{esc(evaluation.title)}</b>. {esc(evaluation.explanation)}</p>")
        parts.append(_confusion_table(evaluation.matrix, names, evaluation.source))
        parts.append(_img(files["confusion.png"], "confusion matrix"))
        m = evaluation.metrics
        parts.append("<h2>Precision, recall and F1 per class</h2>")
        parts.append(
            f"<p>accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} "
            f"on {m['n']} objects ({esc(evaluation.source)})</p>"
        )
        parts.append(_metrics_table(m))
        parts.append(_img(files["per_class.png"], "precision recall F1"))
    if kfold and evaluation is not None and evaluation.source == "hold-out":
        extra = kfold_evaluation(kfold, names)
        m = extra.metrics
        files["confusion-kfold.png"] = plots.confusion(
            extra.matrix, names, f"{extra.source}: {int(extra.matrix.sum())} labelled objects"
        )
        parts.append(f"<h2>{esc(extra.source.capitalize())}</h2>")
        parts.append(f"<p><b>{esc(extra.title)}</b>. {esc(extra.explanation)}</p>")
        parts.append(
            f"<p>accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} on {m['n']} objects</p>"
        )
        parts.append(_confusion_table(extra.matrix, names, extra.source))
        parts.append(_img(files["confusion-kfold.png"], "k-fold confusion matrix"))

    parts.append("<h2>Decisions the engine took</h2>")
    parts.append(_table(("what", "chosen", "why"), decisions(meta)))

    if gallery is not None:
        parts.append("<h2>Labelled objects</h2>")
        parts.append(
            '<p class="note">Each labelled class, the objects the final model is least sure '
            "of first (the model's probability of the labelled class). Thick black-and-white "
            "dashed frame: the model predicts another class (the caption names it); thin, "
            "finely dashed frame: right, but with a probability under 0.75 (frames are never "
            "a class colour). Most of these objects trained the model, so a thick-framed one "
            "is a label the model could not fit: often a mislabelled or unusual object. "
            "Yellow: the object's outline in its mask. Where the report is written with its "
            "figures (<code>phenosort train</code>), the tiles are also listed in "
            "<code>labelled-gallery.csv</code> beside the PNGs.</p>"
        )
        for montage in gallery.montages:
            if montage.drawn is None:  # the report is given drawn galleries only
                raise ValueError(f"montage {montage.name!r} has not been drawn")
            files[montage.file_name] = png_bytes(montage.drawn.pixels)
            parts.append(_img(files[montage.file_name], montage.name))
        files["labelled-gallery.csv"] = _manifest_csv(gallery)
    else:
        parts.append(
            '<p class="note">No gallery of labelled objects: it needs the training images '
            "(<code>phenosort train</code> adds it; this report was rebuilt from the model "
            "file alone).</p>"
        )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>phenosort report {esc(title)}</title><style>{_STYLE}</style></head>"
        f"<body>\n{chr(10).join(parts)}\n</body></html>\n"
    )
    return Report(page, files)


def _colors(meta: dict) -> list[str]:
    from .classes import class_colors

    return meta.get("class_colors") or class_colors(len(meta["class_names"]))


def _swatch(color: str) -> str:
    return (
        f'<span style="display:inline-block;width:.8em;height:.8em;background:{html.escape(color)};'
        'margin-right:.25em;border:1px solid #555"></span>'
    )


def _verdict(assessment: dict | None) -> str:
    if not assessment:
        return (
            '<p class="verdict none">No chance check: the model has no hold-out set or '
            "estimate.</p>"
        )
    verdict = assessment.get("verdict", "better")
    head = {
        "better": "Better than chance",
        "uncertain": "Too few labelled objects to tell whether it beats chance",
        "chance": "NOT better than chance: do not trust its classes",
    }[verdict]
    detail = (
        f"{assessment['source']} balanced accuracy {assessment['balanced_accuracy']:.3f} "
        f"against {assessment['chance']:.3f} by guessing, p={assessment['p_value']:.3g}, "
        f"{assessment['n']} objects. {assessment.get('warning') or ''}"
    )
    return f'<p class="verdict {verdict}"><b>{head}.</b> {html.escape(detail)}</p>'


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>'


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _confusion_table(cm: np.ndarray, names: list[str], source: str) -> str:
    """The matrix as numbers (rows: labelled class, columns: predicted); ``data-*``
    attributes let a script (or a test) read it back."""
    esc = html.escape
    head = "<th>labelled \\ predicted</th>" + "".join(f"<th>{esc(n)}</th>" for n in names)
    rows = "".join(
        f"<tr><th>{esc(n)}</th>"
        + "".join(
            f'<td class="n" data-true="{i}" data-predicted="{j}">{int(v)}</td>'
            for j, v in enumerate(row)
        )
        + "</tr>"
        for i, (n, row) in enumerate(zip(names, np.asarray(cm)))
    )
    return f'<table class="confusion" data-source="{esc(source)}"><tr>{head}</tr>{rows}</table>'


def _metrics_table(metrics: dict) -> str:
    rows = [
        (name, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", r["support"])
        for name, r in metrics["per_class"].items()
    ]
    return _table(("class", "precision", "recall", "F1", "objects"), rows)


def _manifest_csv(gallery: Gallery) -> bytes:
    import csv
    import io

    from .gallery.montages import MANIFEST_COLUMNS

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, MANIFEST_COLUMNS)
    writer.writeheader()
    writer.writerows(gallery.manifest())
    return buffer.getvalue().encode()
