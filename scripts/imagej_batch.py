#!/usr/bin/env python3
"""Classify every image of a folder headless through ImageJ: DATA/images + DATA/masks (paired
by file stem) -> OUT/<stem>_classes.tif (8-bit, Glasbey LUT), OUT/<stem>_classes.zip (outline
ROIs grouped by class), OUT/objects.csv (one row per object) and OUT/summary.csv.

    python scripts/imagej_batch.py DATA --model-file cells.phenosort --out results/
    python scripts/imagej_batch.py DATA --model cells --server 127.0.0.1:50051 --fiji ~/Fiji.app

Without --server a private `phenosort serve` runs for the batch. Images are opened by ImageJ
(with --fiji, Bio-Formats formats too). A failed image is reported in summary.csv and the
others go on; existing outputs are never replaced without --overwrite.
"""

from __future__ import annotations

import argparse
import csv
import sys
import zipfile
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder with images/ and masks/")
    parser.add_argument("--out", type=Path, help="output folder (default: DATA/phenosort)")
    parser.add_argument("--model", default="batch", help="model name on the server")
    parser.add_argument("--model-file", type=Path, help="model file to import as --model")
    parser.add_argument("--version", type=int, default=0, help="model version (0: latest)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    from phenosort.imagej import session

    session.add_arguments(parser)
    args = parser.parse_args(argv)

    from phenosort.dataio import find_pairs
    from phenosort.errors import PhenosortError
    from phenosort.imagej import classify, labels_from_imageplus
    from phenosort.imagej.rois import to_roifile

    try:
        pairs = find_pairs(args.data)
        out = args.out or args.data / "phenosort"
        out.mkdir(parents=True, exist_ok=True)
        if not args.overwrite and (out / "objects.csv").exists():
            raise PhenosortError(f"{out}/objects.csv exists; pass --overwrite or choose --out")
        session.start_imagej(args)
        IJ = session.jclass("ij.IJ")
        with session.server(args) as client:
            if args.model_file:
                if args.model in {m.name for m in client.list_models()}:
                    client.delete_model(args.model)  # a private or named slot: the file wins
                client.import_model(args.model_file, args.model)
            rows, summary = [], []
            for pair in pairs:
                try:
                    image = session.open_image(pair.image_path)
                    labels = session.open_image(pair.mask_path)
                    labels_from_imageplus(labels)  # clear error for a bad label image
                    result = classify(client, args.model, image, labels, version=args.version)
                except PhenosortError as exc:
                    print(f"{pair.stem}: {exc}", file=sys.stderr)
                    summary.append({"image": pair.stem, "error": str(exc)})
                    continue
                pred = result.prediction
                names = list(pred.class_names)
                IJ.saveAsTiff(result.class_map, str(out / f"{pair.stem}_classes.tif"))
                with zipfile.ZipFile(out / f"{pair.stem}_classes.zip", "w") as zf:
                    for roi in result.rois:
                        entry = to_roifile(roi)
                        zf.writestr(f"{entry.name}.roi", entry.tobytes())
                for i, label in enumerate(pred.label_id.tolist()):
                    k = int(pred.class_index[i])
                    row = {"image": pair.stem, "label": label, "class": k,
                           "class_name": names[k - 1]}  # fmt: skip
                    row.update({f"p_{n}": f"{p:.6g}" for n, p in zip(names, pred.probabilities[i])})
                    row["confidence"] = f"{pred.confidence[i]:.6g}"
                    rows.append(row)
                counts = np.bincount(pred.class_index, minlength=len(names) + 1)[1:]
                summary.append({"image": pair.stem, **dict(zip(names, counts.tolist())),
                                "error": ""})  # fmt: skip
                print(f"{pair.stem}: {len(pred.label_id)} objects")
        for name, table in (("objects.csv", rows), ("summary.csv", summary)):
            columns = list(dict.fromkeys(k for r in table for k in r))
            with open(out / name, "w", newline="") as fh:
                writer = csv.DictWriter(fh, columns, restval="")
                writer.writeheader()
                writer.writerows(table)
        print(f"outputs: {out}")
        return 1 if any(s.get("error") for s in summary) else 0
    except PhenosortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
