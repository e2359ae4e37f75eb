#!/usr/bin/env python3
"""Train a phenosort model from a folder through ImageJ: DATA/images + DATA/masks (paired by
file stem) + DATA/rois/<stem>.zip (ImageJ ROI sets: group = class, or a "class" property, or
a "<class>-<id>" name); images without a ROI zip are skipped.

    python scripts/imagej_train.py DATA --model cells --classes interphase,mitotic --export cells.phenosort
    python scripts/imagej_train.py DATA --model cells --server 127.0.0.1:50051 --epochs 40

The model is created when the server lacks it (classes: --classes, else from the ROIs of
the first image); these images' annotations replace those they had in its training set.
Images are opened by ImageJ, so calibration comes from ImageJ.
"""  # noqa: E501

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder with images/, masks/ and rois/")
    parser.add_argument("--rois", type=Path, help="ROI zip folder (default: DATA/rois)")
    parser.add_argument("--model", default="cells", help="model name on the server")
    parser.add_argument("--classes", help="class names, comma-separated (new model)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the service's)")
    settings_help = (
        "a ModelConfig setting, read as `phenosort train --set` reads it: net_width=16 "
        "(kept by a new model; for an existing one: this run)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=settings_help)  # fmt: skip
    parser.add_argument("--export", type=Path, help="write the trained model to this file")
    from phenosort.imagej import session

    session.add_arguments(parser)
    args = parser.parse_args(argv)

    from phenosort.annotations import read_roi_annotations
    from phenosort.dataio import find_pairs
    from phenosort.errors import PhenosortError
    from phenosort.imagej import labels_from_imageplus, training_sample
    from phenosort.settings_text import parse_settings

    try:
        roi_dir = args.rois or args.data / "rois"
        pairs = [p for p in find_pairs(args.data) if (roi_dir / f"{p.stem}.zip").is_file()]
        if not pairs:
            raise PhenosortError(f"no image of {args.data} has a ROI zip in {roi_dir}")
        settings = {"train_epochs": args.epochs} if args.epochs else {}
        settings.update(parse_settings(args.set))  # before ImageJ starts: a typo fails fast
        session.start_imagej(args)

        def samples(class_names):  # the server model's classes; None: a new model
            if class_names is None and args.classes:
                class_names = args.classes.split(",")
            if class_names is None:  # the first image's ROIs name the classes
                labels = labels_from_imageplus(session.open_image(pairs[0].mask_path))
                first = read_roi_annotations(roi_dir / f"{pairs[0].stem}.zip", labels,
                                             image=pairs[0].image_path.name)  # fmt: skip
                class_names = first.class_names
            return each(class_names), class_names

        def each(class_names):  # one image at a time: opened, converted, sent
            for pair in pairs:
                sample, found = training_sample(
                    session.open_image(pair.image_path), session.open_image(pair.mask_path),
                    roi_dir / f"{pair.stem}.zip", class_names=class_names,
                )  # fmt: skip
                skipped = f", {len(found.skipped)} ROIs skipped" if found.skipped else ""
                print(f"{pair.stem}: {len(found.annotations)} annotated objects{skipped}")
                yield sample

        def show(e) -> None:
            if e.is_epoch:  # not the job's first events nor its final state
                print(f"epoch {e.epoch}/{e.n_epochs} loss {e.train_loss:.3f}")

        with session.server(args) as client:  # log: created, training set, version, exported
            client.fit(args.model, samples, settings=settings, progress=show,
                       export=args.export, log=print)  # fmt: skip
        return 0
    except PhenosortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
