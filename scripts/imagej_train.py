#!/usr/bin/env python3
"""Train a phenosort model from a folder through ImageJ: DATA/images + DATA/masks (paired by
file stem) + DATA/rois/<stem>.zip (ImageJ ROI sets: group = class, or a "class" property, or
a "<class>-<id>" name); images without a ROI zip are skipped.

    python scripts/imagej_train.py DATA --model cells --classes interphase,mitotic --export cells.phenosort
    python scripts/imagej_train.py DATA --model cells --server 127.0.0.1:50051 --epochs 40

The model is created when the server lacks it (classes: --classes, else from the ROIs of
the first image); images are opened by ImageJ, so calibration comes from ImageJ.
"""  # noqa: E501

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder with images/, masks/ and rois/")
    parser.add_argument("--rois", type=Path, help="ROI zip folder (default: DATA/rois)")
    parser.add_argument("--model", default="cells", help="model name on the server")
    parser.add_argument("--classes", help="class names, comma-separated (new model)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the service's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a ModelConfig setting of a new model: net_width=16")  # fmt: skip
    parser.add_argument("--export", type=Path, help="write the trained model to this file")
    from phenosort.imagej import session

    session.add_arguments(parser)
    args = parser.parse_args(argv)

    from phenosort.annotations import read_roi_annotations
    from phenosort.dataio import find_pairs
    from phenosort.errors import PhenosortError
    from phenosort.imagej import add_training_data, labels_from_imageplus

    try:
        roi_dir = args.rois or args.data / "rois"
        pairs = [p for p in find_pairs(args.data) if (roi_dir / f"{p.stem}.zip").is_file()]
        if not pairs:
            raise PhenosortError(f"no image of {args.data} has a ROI zip in {roi_dir}")
        session.start_imagej(args)
        with session.server(args) as client:
            if args.model not in {m.name for m in client.list_models()}:
                names = args.classes.split(",") if args.classes else None
                if names is None:  # the first image's ROIs name the classes
                    labels = labels_from_imageplus(session.open_image(pairs[0].mask_path))
                    names = read_roi_annotations(
                        roi_dir / f"{pairs[0].stem}.zip", labels
                    ).class_names
                settings = {"train_epochs": args.epochs} if args.epochs else {}
                for item in args.set:
                    key, _, value = item.partition("=")
                    try:  # numbers and booleans as JSON, anything else as text
                        settings[key.strip()] = json.loads(value)
                    except ValueError:
                        settings[key.strip()] = value
                client.create_model(args.model, names, **settings)
                print(f"created model {args.model!r} with classes {names}")
            for pair in pairs:
                image = session.open_image(pair.image_path)
                labels = session.open_image(pair.mask_path)
                found, summary = add_training_data(
                    client, args.model, image, labels, roi_dir / f"{pair.stem}.zip"
                )
                skipped = f", {len(found.skipped)} ROIs skipped" if found.skipped else ""
                print(f"{pair.stem}: {len(found.annotations)} annotated objects{skipped}")
            print(f"training set: {summary['counts']}")

            def show(e) -> None:
                if e.is_epoch:  # not the job's first events nor its final state
                    print(f"epoch {e.epoch}/{e.n_epochs} loss {e.train_loss:.3f}")

            metrics = client.train(args.model, progress=show)
            print(f"model {args.model!r} version {metrics['version']}")
            if args.export:
                client.export_model(args.model, args.export)
                print(f"exported to {args.export}")
        return 0
    except PhenosortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
