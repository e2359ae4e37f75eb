#!/usr/bin/env python3
"""Classify the objects of the current image of an ImageJ session with a phenosort model, and
show the class map, the Results table and the ROIs by class (headless: an overlay, saved).

From a pyimagej session you already have (Fiji with the PhenoSort plugin in plugins/):

    from imagej_classify import classify_current
    classify_current(ij, "cells", labels="cells-labels.tif", server="127.0.0.1:50051")

From the command line (opens the image and makes it current first):

    python scripts/imagej_classify.py --fiji ~/Fiji.app --pyimagej --gui \\
        --image cells.tif --labels cells-labels.tif --model cells --server 127.0.0.1:50051
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def classify_current(ij, model: str, *, labels: str, server: str, version: int = 0):
    """Classify ImageJ's current image; ``labels``: the window title of its label image.

    ``ij`` is the pyimagej gateway (None for a plain ImageJ 1 JVM). Returns the
    :class:`phenosort.imagej.ImageJClassification`, already shown.
    """
    from phenosort.client import Client
    from phenosort.errors import InvalidInputError
    from phenosort.imagej import classify
    from phenosort.imagej.jvm import jclass

    WindowManager = jclass("ij.WindowManager")
    image = WindowManager.getCurrentImage()
    label_image = WindowManager.getImage(labels)
    if image is None:
        raise InvalidInputError("ImageJ has no current image; open one first")
    if label_image is None:
        raise InvalidInputError(f"no open image is called {labels!r}")
    with Client(server) as client:
        result = classify(client, model, image, label_image, version=version, ij=ij)
    result.show(image)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, required=True, help="image file to classify")
    parser.add_argument("--labels", type=Path, required=True, help="its label image file")
    parser.add_argument("--model", required=True, help="model name on the server")
    parser.add_argument("--version", type=int, default=0, help="model version (0: latest)")
    parser.add_argument("--out", type=Path, help="save <image>-classes.tif, .csv and ROIs here")
    from phenosort.imagej import session

    session.add_arguments(parser, gui=True)
    args = parser.parse_args(argv)

    from phenosort.errors import PhenosortError
    from phenosort.imagej import classify

    try:
        ij = session.start_imagej(args)
        image, labels = session.open_image(args.image), session.open_image(args.labels)
        with session.server(args) as client:
            result = classify(client, args.model, image, labels, version=args.version, ij=ij)
        where = result.show(image)
        counts = {}
        for k in result.prediction.class_index.tolist():
            name = result.prediction.class_names[k - 1]
            counts[name] = counts.get(name, 0) + 1
        print(f"{len(result.prediction.label_id)} objects: {counts}; ROIs in the {where}")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            IJ = session.jclass("ij.IJ")
            IJ.saveAsTiff(result.class_map, str(args.out / f"{result.class_map.getTitle()}.tif"))
            result.table.save(str(args.out / f"{result.class_map.getTitle()}.csv"))
            print(f"saved to {args.out}")
        if getattr(args, "gui", False):
            input("press Enter to quit ")
        return 0
    except PhenosortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
