"""Command line: ``phenosort train | predict | suggest | explain | gallery | info | demo | serve``.

Arguments are parsed before anything heavy is imported, so ``--help`` is instant. Every
user error is printed as one ``error:`` line with exit status 2; nothing the user owns is
overwritten without ``--overwrite`` and nothing is written into the data folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import PhenosortError

_SETTINGS_HELP = (
    "any ModelConfig field as KEY=VALUE (repeatable), e.g. --set net_name=resnet18 "
    "--set aug_rot90=false; see `phenosort info --settings`"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phenosort",
        description="Classify segmented objects with a small CNN trained on object patches.",
    )
    parser.add_argument("--version", action="version", version=f"phenosort {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p):
        p.add_argument(
            "data_dir", type=Path, help="folder with images/ and masks/ (paired by stem)"
        )
        p.add_argument("--device", default=None, help="auto (default), cpu, cuda or mps")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    def server_args(p):  # train/predict on a `phenosort serve` server instead of in-process
        p.add_argument("--server", metavar="HOST:PORT", help="run on this phenosort server")
        p.add_argument(
            "--token",
            default=os.environ.get("PHENOSORT_TOKEN"),
            help="server token (default: $PHENOSORT_TOKEN)",
        )
        p.add_argument("--tls-ca", type=Path, metavar="PEM", help="server root certificate (TLS)")
        p.add_argument(
            "--remote-model",
            metavar="NAME",
            help="model name on the server (default: the --model file's stem; predict "
            "imports the file when the server lacks it)",
        )

    p = sub.add_parser("train", help="train a model from annotated objects")
    data_args(p)
    p.add_argument(
        "--annotations",
        type=Path,
        required=True,
        help="CSV with columns image,label,class, or a folder of <image stem>.zip ROI sets",
    )
    p.add_argument("--model", type=Path, required=True, help="model file to write")
    p.add_argument("--classes", help="class names in order, comma-separated")
    p.add_argument("--from", dest="from_model", type=Path, help="continue training this model")
    p.add_argument(
        "--epochs",
        type=int,
        help="maximum epochs (train_epochs; default 60, 100 without a hold-out)",
    )
    p.add_argument("--patch-size", type=int, help="in-plane patch edge in pixels")
    p.add_argument("--network", help="light, resnet18, resnet34, resnet50 or densenet121")
    p.add_argument(
        "--no-rot90",
        action="store_true",
        help="no 90-degree rotations (default: tested on the labels, aug_rot90=auto)",
    )
    p.add_argument("--val-fraction", type=float, help="held-out fraction for validation")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=_SETTINGS_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument(
        "--kfold", type=int, metavar="K", help="first report K-fold cross-validation metrics"
    )
    report_args(p)
    server_args(p)

    p = sub.add_parser("predict", help="classify every object of every image")
    data_args(p)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="output folder (not inside data_dir)")
    p.add_argument("--rois", action="store_true", help="also write <stem>_classes.zip ROI sets")
    p.add_argument("--class-masks", action="store_true", help="per-class label images")
    p.add_argument("--confidence", action="store_true", help="confidence maps")
    p.add_argument(
        "--batch-size", type=int, help="most objects per forward pass (CPU: cache-sized)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="Dask worker processes on this machine (default: one per core, at most one per "
        "image, on machines of 4+ cores for folders of 64 MiB of images or more; else "
        "serial); 0 or 1: one image after the other in this process",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="predict on this Dask cluster, e.g. tcp://host:8786 (model and data at the same "
        "paths on the workers; see docs/cluster.md)",
    )
    server_args(p)

    p = sub.add_parser("suggest", help="objects most worth labelling next")
    data_args(p)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("-n", type=int, default=20, help="how many (default 20)")
    p.add_argument("--out", type=Path, help="write the suggestions as CSV here")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("explain", help="Grad-CAM heatmap of one object")
    data_args(p)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--image", required=True, help="image stem")
    p.add_argument("--label", type=int, required=True, help="object label ID")
    p.add_argument("--class", dest="class_name", help="class to explain (default: predicted)")
    p.add_argument("--out", type=Path, required=True, help="heatmap TIFF to write")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("info", help="show a model file's metadata")
    p.add_argument("model", type=Path, nargs="?")
    p.add_argument("--json", action="store_true", help="all metadata as JSON")
    p.add_argument("--settings", action="store_true", help="list the settings and defaults")
    info_report_args(p)

    gallery_args(sub.add_parser("gallery", help="montages of the objects per predicted class"))
    data_args(sub.choices["gallery"])

    p = sub.add_parser("demo", help="generate demo data, train, predict and report")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="folder (new)")
    p.add_argument("--device", default=None)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--in-process", action="store_true", help="train and predict without the service"
    )

    p = sub.add_parser("serve", help="run the phenosort gRPC server")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument(
        "--store",
        type=Path,
        help="models and tensors folder (default $PHENOSORT_STORE or the user data folder)",
    )
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    p.add_argument("--token", help="require this bearer token (default: $PHENOSORT_TOKEN)")
    p.add_argument("--token-file", type=Path, help="read the token from this file")
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="TLS certificate chain")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="TLS private key")
    p.add_argument("--max-message-mb", type=int, default=64, help="largest gRPC message (MiB)")
    p.add_argument("--workers", type=int, default=16, help="threads serving calls")
    p.add_argument(
        "--max-streams", type=int, default=4, help="upload streams per client connection (4)"
    )
    p.add_argument(
        "--stream-idle-s",
        type=float,
        default=30.0,
        help="cancel an upload that sends nothing for this long (30 s)",
    )
    p.add_argument(
        "--cache-gb",
        type=float,
        default=20.0,
        help="bound of the uploaded-tensor cache, least recently used first out (20; 0: none)",
    )
    p.add_argument(
        "--weights-dir",
        type=Path,
        help="folder whose files clients may name as net_weights (default: none allowed)",
    )
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO (default), WARNING")
    p.add_argument("--port-file", type=Path, help="write the port here once listening")
    return parser


def report_args(p: argparse.ArgumentParser) -> None:
    """``train``'s report options (see phenosort.report)."""
    p.add_argument(
        "--report",
        type=Path,
        metavar="HTML",
        help="training report to write (default: <model stem>.report.html beside the model, "
        "its PNGs in <report stem>-files/)",
    )
    p.add_argument("--no-report", action="store_true", help="write no training report")


def info_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--report",
        action="store_true",
        help="write the training report of MODEL to OUT.html (info --report MODEL OUT.html)",
    )
    p.add_argument("report_out", type=Path, nargs="?", metavar="OUT.html", help=argparse.SUPPRESS)
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")


def gallery_args(p: argparse.ArgumentParser) -> None:
    """``phenosort gallery``'s options (the data folder is added by data_args)."""
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="output folder (not inside data_dir)")
    p.add_argument("--per-class", type=int, default=48, help="tiles per class montage (48)")
    p.add_argument(
        "--least-certain",
        type=int,
        default=24,
        help="tiles of the least certain montage (24; 0: none)",
    )
    p.add_argument("--tile-size", type=int, default=96, help="tile edge in pixels (96)")
    p.add_argument("--columns", type=int, default=8, help="tiles per row (8)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from . import commands  # heavy imports only now
    from .huge_pages import avoid_huge_page_stalls

    avoid_huge_page_stalls()

    try:
        return getattr(commands, f"run_{args.command}")(args)
    except PhenosortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
