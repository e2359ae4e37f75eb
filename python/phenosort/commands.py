"""The CLI commands: each reads files, calls :class:`ObjectClassifier`, writes outputs."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from dataclasses import fields

import numpy as np

from .annotations.csv_table import check_ids_in_mask
from .batch.cluster import DaskPredictor, dask_predictor, worth_a_cluster
from .batch.image_job import Predictor
from .batch.outputs import check_out_dir
from .batch.remote import server_predictor
from .batch.runner import absolute_pairs, predict_folder
from .batch.serial import load_classifier, local_predictor
from .classes import class_index_of
from .classifier import ObjectClassifier
from .dataio.pairs import Pair, find_pairs, load_pair
from .dataio.write import write_float_image
from .errors import InvalidInputError
from .model.config import ModelConfig
from .model.metrics import format_report
from .progress_bars import EpochBar, bar
from .report_commands import report_target, run_info_report, write_training_report
from .report_commands import run_gallery as run_gallery  # dispatched by cli.main
from .results import write_table_csv
from .settings_text import parse_settings
from .training_samples import counts_line, load_training_samples
from .training_summary import print_training, training_record, training_summary


def _load_model(args: Namespace) -> ObjectClassifier:
    return ObjectClassifier.load(args.model, device=args.device)


def _config_from(args: Namespace, base: ModelConfig) -> ModelConfig:
    return base.updated(**_setting_changes(args))


def _setting_changes(args: Namespace) -> dict:
    changes = parse_settings(args.set)
    for flag, key in (
        ("epochs", "train_epochs"),
        ("patch_size", "patch_size"),
        ("network", "net_name"),
        ("val_fraction", "train_val_fraction"),
        ("seed", "train_seed"),
        ("device", "device"),
    ):
        if getattr(args, flag, None) is not None:
            changes[key] = getattr(args, flag)
    if getattr(args, "no_rot90", False):
        changes["aug_rot90"] = False
    return changes


def run_train(args: Namespace) -> int:
    if args.model.exists() and not args.overwrite:
        raise InvalidInputError(f"model file {args.model} exists; use --overwrite or a new name")
    args.report = report_target(args)  # checked before training: never lose a training to it
    if getattr(args, "server", None):
        return _train_remote(args)
    pairs = find_pairs(args.data_dir)
    classes = _class_list(args)
    if args.from_model:
        clf = ObjectClassifier.load(args.from_model, device=args.device)
        clf.config = _config_from(args, clf.config)
        classes = classes or clf.class_names
    samples, names = load_training_samples(args.data_dir, args.annotations, classes, pairs=pairs)
    if not args.from_model:
        clf = ObjectClassifier(names, _config_from(args, ModelConfig()))
    elif names != clf.class_names:
        raise InvalidInputError(
            f"annotation classes {names} differ from the model's {clf.class_names}"
        )
    _announce(samples, names)
    cv: dict | None = None
    if args.kfold:
        from .evaluation import cross_validate

        cv = cross_validate(names, samples, args.kfold, clf.config)
        print(f"{args.kfold}-fold cross-validation:\n{format_report(cv)}", file=sys.stderr)
    with EpochBar(args.quiet, total=clf.config.most_epochs) as bar:
        clf.fit(
            samples, warm_start=bool(args.from_model), progress=bar.local,
            probe_progress=bar.probe,
        )  # fmt: skip
    clf.save(args.model, overwrite=args.overwrite)
    write_training_report(args.report, args.model, samples, args, kfold=cv)
    return _report_training(args, training_record(clf), clf.version)


def _class_list(args: Namespace) -> list[str] | None:
    return [c.strip() for c in args.classes.split(",")] if args.classes else None


def _announce(samples, names: list[str]) -> None:
    print(counts_line(samples, names), file=sys.stderr)  # --quiet hides only the progress bars


def _report_training(args: Namespace, outcome: dict, version: int) -> int:
    print_training(args.model, outcome, version, as_json=args.json)
    return 0


def _client(args: Namespace):
    from .client import Client

    return Client(args.server, token=args.token, tls_ca=args.tls_ca)


def _train_remote(args: Namespace) -> int:
    """``train --server``: :meth:`Client.fit` on the server's model (created, or imported
    ``--from``), exported to ``--model``."""
    if args.kfold:
        raise InvalidInputError("--kfold runs in-process only; drop --server")
    pairs = find_pairs(args.data_dir)
    changes = _setting_changes(args)
    changes.pop("device", None)  # the server runs on its own device (phenosort serve --device)
    loaded = []  # the samples, for the training report's gallery

    def load(class_names):  # with --classes, else the server model's classes
        samples, names = load_training_samples(args.data_dir, args.annotations, class_names,
                                               pairs=pairs)  # fmt: skip
        _announce(samples, names)
        loaded.extend(samples)
        return samples, names

    with _client(args) as client, EpochBar(args.quiet) as bar:
        result = client.fit(args.remote_model or args.model.stem, load,
                            class_names=_class_list(args), settings=changes,
                            from_file=args.from_model, progress=bar.remote, export=args.model,
                            overwrite=args.overwrite)  # fmt: skip
    write_training_report(args.report, args.model, loaded, args)
    outcome = {**result.metrics, "class_names": result.class_names}
    return _report_training(args, outcome, result.version)


def run_predict(args: Namespace) -> int:
    """Pick the predictor (the server's model, Dask workers, or a classifier here) and run
    the folder with it."""
    check_out_dir(args.out, args.data_dir)
    if getattr(args, "server", None):
        if args.scheduler or args.workers is not None:
            raise InvalidInputError("--scheduler and --workers predict without --server")
        with _client(args) as client:
            if args.batch_size or args.device:
                raise InvalidInputError("--batch-size and --device are the server's; drop them")
            name = args.remote_model or args.model.stem
            names, predict = server_predictor(client, name, args.model)
            return _predict_folder(args, find_pairs(args.data_dir), predict, names)
    pairs = absolute_pairs(find_pairs(args.data_dir))
    predictor: Predictor | DaskPredictor
    if _on_dask(args, pairs):
        names, predictor = dask_predictor(args.model, len(pairs), scheduler=args.scheduler,
                                          workers=args.workers, device=args.device,
                                          batch_size=args.batch_size)  # fmt: skip
    else:  # one image, --workers 0/1, or a folder too small to repay a cluster
        clf = load_classifier(args.model, device=args.device, batch_size=args.batch_size)
        names, predictor = clf.class_names, local_predictor(clf)
    return _predict_folder(args, pairs, predictor, names)


def _on_dask(args: Namespace, pairs: list[Pair]) -> bool:
    """A given scheduler, more than one worker asked for, or by default when a cluster is
    worth starting."""
    if args.workers is not None and args.workers < 0:
        raise InvalidInputError(f"--workers must be >= 0, got {args.workers}")
    if args.scheduler:
        if args.workers is not None:
            raise InvalidInputError("--workers sizes a local cluster; drop it with --scheduler")
        return True
    if args.workers is not None:
        return args.workers > 1
    return worth_a_cluster(pairs)


def _predict_folder(
    args: Namespace, pairs: list[Pair], predictor: Predictor | DaskPredictor, names: list[str]
) -> int:
    return predict_folder(pairs, predictor, args.out, names, rois=args.rois,
                          class_masks=args.class_masks, confidence=args.confidence,
                          overwrite=args.overwrite, quiet=args.quiet)  # fmt: skip


def run_suggest(args: Namespace) -> int:
    if args.out:
        check_out_dir(args.out.parent, args.data_dir)
    clf = _load_model(args)
    found = []
    for pair in bar(args.quiet, iterable=find_pairs(args.data_dir), unit="image", desc="predict"):
        image, labels = load_pair(pair)
        pred = clf.predict(image.array, labels, axes=image.axes, voxel_size=image.voxel_size)
        for label in pred.suggest(args.n):
            row = int(np.searchsorted(pred.label_id, label))
            found.append((float(pred.margin[row]), pair.stem, int(label), pred.class_index[row]))
    found.sort()
    chosen = found[: args.n]
    cols = {
        "image": np.array([c[1] for c in chosen], dtype=object),
        "label": np.array([c[2] for c in chosen], dtype=np.int64),
        "predicted": np.array([clf.class_names[c[3] - 1] for c in chosen], dtype=object),
        "margin": np.array([c[0] for c in chosen], dtype=np.float32),
    }
    if args.out:
        write_table_csv(args.out, [cols], overwrite=args.overwrite)
    print("image,label,predicted,margin")
    for m, stem, label, k in chosen:
        print(f"{stem},{label},{clf.class_names[k - 1]},{m:.3f}")
    return 0


def run_explain(args: Namespace) -> int:
    clf = _load_model(args)
    pairs = {p.stem: p for p in find_pairs(args.data_dir)}
    if args.image not in pairs:
        raise InvalidInputError(f"no image with stem {args.image!r} in {args.data_dir}")
    check_out_dir(args.out.parent, args.data_dir)
    if args.out.exists() and not args.overwrite:
        raise InvalidInputError(f"{args.out} exists; use --overwrite or another name")
    image, labels = load_pair(pairs[args.image])
    check_ids_in_mask([args.label], labels, image=args.image, mask=pairs[args.image].mask_path)
    k = class_index_of(args.class_name, clf.class_names) if args.class_name else None
    exp = clf.explain(
        image.array, labels, args.label, axes=image.axes, voxel_size=image.voxel_size, class_index=k
    )
    _write_heatmap(args, exp, image)
    probs = ", ".join(f"{n} {p:.3f}" for n, p in zip(clf.class_names, exp.probabilities))
    print(f"Grad-CAM of label {exp.label_id} for class {clf.class_names[exp.class_index - 1]!r}")
    print(f"probabilities: {probs}")
    axes = ",".join("zyx"[-exp.heatmap.ndim :])
    print(
        f"heatmap {exp.heatmap.shape} written to {args.out}; offset ({axes}) {exp.offset}, "
        f"scale {exp.scale:g}: heatmap pixel i covers image pixels from offset + scale * i "
        "(the TIFF's ImageJ calibration and origin place it on the image)"
    )
    return 0


def _write_heatmap(args: Namespace, exp, image) -> None:
    """The heatmap with the image's calibration times the patch scale, and an ImageJ origin
    that puts it where its patch was cut: heatmap pixel i and image pixel offset + scale * i
    then share calibrated coordinates (issue 18: the scale was neither printed nor stored)."""
    s = float(exp.scale)
    voxel = image.voxel_size or (1.0,) * exp.heatmap.ndim
    write_float_image(
        args.out,
        exp.heatmap,
        voxel_size=tuple(v * s for v in voxel),
        unit=image.unit if image.voxel_size else "pixel",
        origin=tuple(-o / s for o in exp.offset),
        overwrite=args.overwrite,
    )


def run_info(args: Namespace) -> int:
    if args.settings:
        for f in fields(ModelConfig):
            print(f"{f.name} = {f.default!r}")
        return 0
    if args.model is None:
        raise InvalidInputError("give a model file (or --settings)")
    if args.report:
        return run_info_report(args)
    from .model.file import read_metadata
    from .objects.normalize import Normalization

    meta = read_metadata(args.model)
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    cfg = meta["config"]
    print(f"model: {args.model}")
    print(f"classes: {', '.join(meta['class_names'])}")
    print(
        f"version {meta['version']}, created {meta['created']}, "
        f"phenosort {meta['phenosort_version']}"
    )
    print(
        f"{meta['ndim']}D, {meta['in_channels']} channel(s), patch {meta['patch']['shape']}, "
        f"network {cfg['net_name']} (width {cfg['net_width']}, depth {cfg['net_depth']}), "
        f"normalisation {meta['normalization']['mode']}"
        f" (channels {Normalization.from_dict(meta['normalization']).channels})"
    )
    for entry in meta["training_data"]:
        counts = ", ".join(f"{k} {v}" for k, v in entry["per_class"].items())
        print(f"trained on {entry['name']}: {counts}")
    print("\n".join(training_summary(meta)))
    warning = (meta.get("assessment") or {}).get("warning")
    if warning:
        print(f"warning: {warning}")
    return 0


def run_demo(args: Namespace) -> int:
    from .demo import run_demo as demo

    return demo(args.out, device=args.device, quiet=args.quiet, in_process=args.in_process)


def run_serve(args: Namespace) -> int:
    import os

    from .service.server import serve

    token = args.token
    if args.token_file:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            raise InvalidInputError(f"cannot read --token-file {args.token_file}: {exc}") from None
    token = token or os.environ.get("PHENOSORT_TOKEN") or None
    return serve(
        host=args.host,
        port=args.port,
        store=args.store,
        token=token,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        device=args.device,
        max_message_bytes=args.max_message_mb << 20,
        workers=args.workers,
        max_streams=args.max_streams,
        stream_idle_s=args.stream_idle_s,
        cache_bytes=int(args.cache_gb * (1 << 30)) if args.cache_gb > 0 else None,
        weights_dir=args.weights_dir,
        log_level=args.log_level,
        port_file=args.port_file,
    )
