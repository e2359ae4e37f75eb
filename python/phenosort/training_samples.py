"""Training samples from a data folder (``images/`` + ``masks/``, paired by stem) and its
annotations: a CSV (``image,label,class``) or a folder of ImageJ ROI sets (``<stem>.zip``).

The CLI (in-process and ``--server``), the demo and :meth:`phenosort.client.Client.fit`
callers read labels here, so a folder means the same classes wherever it is trained.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .annotations.csv_table import check_ids_in_mask, read_annotations_csv_lines
from .annotations.from_rois import read_roi_annotations
from .classifier import Sample
from .dataio.pairs import Pair, find_pairs, load_pair
from .errors import InvalidInputError


def _warn_on_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_training_samples(
    data_dir: str | os.PathLike[str],
    annotations: str | os.PathLike[str],
    class_names: Sequence[str] | None = None,
    *,
    pairs: Sequence[Pair] | None = None,
    warn: Callable[[str], None] = _warn_on_stderr,
) -> tuple[list[Sample], list[str]]:
    """The annotated images of ``data_dir`` as samples, and the class names their class
    indices (1..K) refer to.

    ``class_names`` fixes the class order (else a CSV's names sorted, or the ROI sets'
    groups); ``pairs``: the folder's image pairs when already found. ROIs that annotate no
    object go to ``warn`` (default: a ``warning:`` line on stderr).
    """
    data_dir, annotations = Path(data_dir), Path(annotations)
    by_stem = {p.stem: p for p in (find_pairs(data_dir) if pairs is None else pairs)}
    if annotations.is_dir():
        return _from_roi_sets(annotations, by_stem, class_names, warn)
    table, names, lines = read_annotations_csv_lines(annotations, class_names)
    unknown = sorted(set(table) - set(by_stem))
    if unknown:
        raise InvalidInputError(
            f"annotations name images that are not in {data_dir}: {', '.join(unknown[:10])}"
        )
    samples = []
    for stem in sorted(table):
        image, labels = load_pair(by_stem[stem])
        check_ids_in_mask(table[stem], labels, image=stem, mask=by_stem[stem].mask_path,
                          source=annotations, lines=lines)  # fmt: skip
        samples.append(Sample(image.array, labels, table[stem], image.axes, image.voxel_size, stem))
    return samples, names


def _from_roi_sets(
    folder: Path,
    by_stem: dict[str, Pair],
    class_names: Sequence[str] | None,
    warn: Callable[[str], None],
) -> tuple[list[Sample], list[str]]:
    """One sample per ``<stem>.zip`` / ``<stem>.roi``; later sets may add classes."""
    samples, names = [], list(class_names or [])
    for roi_path in sorted(folder.glob("*.zip")) + sorted(folder.glob("*.roi")):
        pair = by_stem.get(roi_path.stem)
        if pair is None:
            raise InvalidInputError(f"ROI set {roi_path.name} matches no image stem")
        image, labels = load_pair(pair)
        rois = read_roi_annotations(roi_path, labels, names or None, pair.image_path.name)
        for message in rois.skipped:
            warn(f"{roi_path.name}: {message}")
        names = rois.class_names
        samples.append(
            Sample(image.array, labels, rois.annotations, image.axes, image.voxel_size, pair.stem)
        )
    if not samples:
        raise InvalidInputError(f"no .zip or .roi ROI sets in {folder}")
    return samples, names


def counts_line(samples: Iterable[Sample], class_names: Sequence[str]) -> str:
    """``training on N image(s): a 12, b 9``: the labelled objects per class (annotations
    given as class indices or names)."""
    counts = dict.fromkeys(class_names, 0)
    n_images = 0
    for s in samples:
        n_images += 1
        for v in s.annotations.values():
            name = v if isinstance(v, str) and v in counts else class_names[int(v) - 1]
            counts[name] += 1
    return f"training on {n_images} image(s): " + ", ".join(f"{n} {c}" for n, c in counts.items())
