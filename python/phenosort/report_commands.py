"""CLI parts that draw: ``phenosort gallery``, the report ``train`` writes, ``info --report``.

Kept apart from :mod:`phenosort.commands` so that file only gains a few calls.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

from .errors import InvalidInputError


def report_target(args: Namespace) -> Path | None:
    """Where ``train`` writes its report (None with ``--no-report``); refuses, before any
    training, a report that exists already without ``--overwrite``."""
    from .report import default_report_path, report_paths

    if getattr(args, "no_report", False):
        return None
    path = args.report or default_report_path(args.model)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InvalidInputError(f"--report {path}: the report is HTML; name it <something>.html")
    page, folder = report_paths(path)
    if not args.overwrite and (page.exists() or folder.exists()):
        raise InvalidInputError(
            f"report {page if page.exists() else folder} exists; use --overwrite or --report NAME"
        )
    return path


def write_training_report(
    path: Path | None, model: Path, samples, args: Namespace, kfold: dict | None = None
) -> None:
    """``train``'s report (:func:`phenosort.report.save_training_report`), unless
    ``--no-report``."""
    if path is None:
        return
    from .report import save_training_report

    written = save_training_report(path, model, samples, device=getattr(args, "device", None),
                                   overwrite=args.overwrite, kfold=kfold)  # fmt: skip
    if not args.quiet:
        print(f"report written to {written[0]} (figures in {written[-1].parent})", file=sys.stderr)


def run_info_report(args: Namespace) -> int:
    """``phenosort info --report MODEL OUT.html``: the report from the model file alone."""
    from .model.file import read_metadata
    from .report import build_report

    if args.model is None or args.report_out is None:
        raise InvalidInputError("usage: phenosort info --report MODEL OUT.html")
    meta = read_metadata(args.model)
    written = build_report(meta, title=args.model.name).save(
        args.report_out, overwrite=args.overwrite
    )
    print(f"report written to {written[0]} (figures in {written[-1].parent})")
    return 0


def run_gallery(args: Namespace) -> int:
    """``phenosort gallery DATA --model M --out DIR``: predict every image, then draw the
    montages from the images that hold chosen objects."""
    from functools import partial

    from tqdm import tqdm

    from .classes import class_colors
    from .classifier import ObjectClassifier
    from .dataio.pairs import find_pairs, load_pair
    from .gallery.drawing import Source, draw
    from .gallery.montages import gallery_paths
    from .gallery.predicted import prediction_tiles, select
    from .montage import display_range

    out, data = args.out.resolve(), args.data_dir.resolve()
    if out == data or data in out.parents:
        raise InvalidInputError(f"--out {out} is inside the data folder {data}; choose another")
    clf = ObjectClassifier.load(args.model, device=args.device)
    names = clf.class_names
    taken = [p for p in gallery_paths(args.out, names, args.least_certain) if p.exists()]
    if taken and not args.overwrite:
        raise InvalidInputError(
            f"gallery outputs exist already ({taken[0]}, ...); use --overwrite or another --out"
        )
    tiles, sources = [], []
    for pair in tqdm(find_pairs(args.data_dir), disable=args.quiet, unit="image", desc="predict"):
        image, labels = load_pair(pair)
        pred = clf.predict(image.array, labels, axes=image.axes, voxel_size=image.voxel_size)
        tiles += prediction_tiles(pair.stem, pred)
        # only the object list is kept: images are read again for the tiles they hold
        window = display_range(image.array, image.axes)
        sources.append(Source(pair.stem, None, partial(_arrays, pair), window))
    montages = select(tiles, names, per_class=args.per_class, least_certain=args.least_certain)
    gallery = draw(
        montages,
        sources,
        class_colors(len(names)),
        tile_size=args.tile_size,
        columns=args.columns,
    )
    paths = gallery.save(args.out, overwrite=args.overwrite)
    if not args.quiet:
        counts = ", ".join(f"{m.name} {len(m.tiles)}" for m in gallery.montages)
        print(f"{len(paths) - 1} montages ({counts}) and {paths[-1].name} in {args.out}")
    return 0


def _arrays(pair):
    from .dataio.pairs import load_pair

    image, labels = load_pair(pair)
    return image.array, labels, image.axes
