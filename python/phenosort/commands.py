"""The CLI commands: each reads files, calls :class:`ObjectClassifier`, writes outputs."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .annotations import check_ids_in_mask
from .classifier import ObjectClassifier, class_index_of
from .dataio import find_pairs, load_pair, write_float_image
from .errors import InvalidInputError
from .image_job import ImageResult, OutputOptions, output_paths, predict_image
from .model.config import ModelConfig
from .model.metrics import format_report, report
from .report_commands import report_target, run_info_report, write_training_report
from .report_commands import run_gallery as run_gallery  # dispatched by cli.main
from .results import write_table_csv
from .settings_text import parse_settings
from .training_samples import counts_line, load_training_samples


def _load_model(args: Namespace) -> ObjectClassifier:
    return ObjectClassifier.load(args.model, device=args.device)


def _bar(args: Namespace, **kwargs):
    return tqdm(disable=args.quiet, dynamic_ncols=True, **kwargs)


def _check_out_dir(out: Path, data_dir: Path) -> None:
    out, data = out.resolve(), data_dir.resolve()
    if out == data or data in out.parents:
        raise InvalidInputError(f"--out {out} is inside the data folder {data}; choose another")


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
    with _bar(args, total=clf.config.train_epochs, unit="epoch", desc="train") as bar:

        def show(event):
            bar.total = event.n_epochs  # a pseudo-label round adds epochs
            bar.set_postfix(_epoch_postfix(event))
            bar.update(1)

        clf.fit(samples, warm_start=bool(args.from_model), progress=show)
    clf.save(args.model, overwrite=args.overwrite)
    write_training_report(args.report, args.model, samples, args, kfold=cv)
    outcome = {
        "class_names": clf.class_names,
        "validation": clf.validation,
        "symmetry": clf.symmetry,
        "assessment": clf.assessment,
        "config": clf.config.to_dict(),  # with training_data: why there is no validation set
        "training_data": clf.training_data,
    }
    return _report_training(args, outcome, clf.version)


def _epoch_postfix(event) -> dict[str, str]:
    """Progress-bar fields of a local ``EpochEvent`` or a remote ``TrainingProgress``."""
    info = {"loss": f"{event.train_loss:.3f}"}
    if event.val_accuracy is not None:
        info["val_acc"] = f"{event.val_accuracy:.3f}"
        info["val_f1"] = f"{event.val_macro_f1:.3f}"
    return info


def _class_list(args: Namespace) -> list[str] | None:
    return [c.strip() for c in args.classes.split(",")] if args.classes else None


def _announce(samples, names: list[str]) -> None:
    print(counts_line(samples, names), file=sys.stderr)  # --quiet hides only the progress bars


NO_VALIDATION = (
    "no validation set: train_val_fraction is 0, or a class has too few labels to hold "
    "train_val_min_per_class of them out; every label trained (--kfold K estimates accuracy)"
)


def no_validation_reason(record: dict) -> str:
    """Which of the two causes left a training without a hold-out, from the settings
    (``config``) and label counts (``training_data``) of a model file's metadata; the
    rule is :func:`phenosort.model.train.validation_index`'s. :data:`NO_VALIDATION`
    (both causes) when the record lacks them."""
    cfg = record.get("config") or {}
    fraction, least = cfg.get("train_val_fraction"), cfg.get("train_val_min_per_class")
    counts: dict[str, int] = {}
    for entry in record.get("training_data") or []:
        for name, n in (entry.get("per_class") or {}).items():
            counts[name] = counts.get(name, 0) + int(n)
    counts = {name: n for name, n in counts.items() if n > 0}
    tail = "; every label trained (--kfold K estimates accuracy)"
    if fraction is not None and fraction <= 0:
        return f"no validation set: train_val_fraction is {fraction}{tail}"
    if fraction is not None and least is not None and counts:
        name, n = min(counts.items(), key=lambda item: item[1])
        if n * fraction < least:
            return (
                f"no validation set: class {name!r} has {n} labels, and train_val_fraction "
                f"{fraction} of them ({n * fraction:.3g}) is fewer than "
                f"train_val_min_per_class {least}{tail}"
            )
    return NO_VALIDATION


def _report_training(args: Namespace, outcome: dict, version: int) -> int:
    """The training summary: validation (or the 2-fold estimate), the symmetries chosen and
    the chance check, whose warning goes to stderr even with ``--json``."""
    assessment = outcome.get("assessment") or {}
    if args.json:
        keys = ("validation", "symmetry", "assessment")
        print(json.dumps({"model": str(args.model), **{k: outcome.get(k) for k in keys}}, indent=2))
    else:
        print(f"model written to {args.model} (version {version})")
        print("\n".join(training_summary(outcome)))
    if assessment.get("warning"):
        level = "error" if assessment.get("verdict") == "chance" else "warning"
        print(f"{level}: {assessment['warning']}", file=sys.stderr)
    return 0


def training_summary(record: dict) -> list[str]:
    """Lines about a training (a model file's metadata or a training outcome)."""
    from .model.symmetry import describe

    lines = []
    if record.get("validation"):
        lines.append(format_report(record["validation"]))
    else:
        lines.append(no_validation_reason(record))
        estimate = (record.get("symmetry") or {}).get("estimate")
        if estimate:
            lines.append(f"estimate from {estimate['method']}:")
            cm = np.asarray(estimate["confusion_matrix"])
            lines.append(format_report(report(cm, record.get("class_names")), "estimate objects"))
    if record.get("symmetry"):
        lines.append(describe(record["symmetry"]))
    assessment = record.get("assessment")
    if assessment:
        lines.append(
            f"chance check ({assessment['source']}): balanced accuracy "
            f"{assessment['balanced_accuracy']:.3f} vs chance {assessment['chance']:.3f}, "
            f"p={assessment['p_value']:.3g}: "
            + {
                "better": "better than chance",
                "uncertain": "too few objects to tell",
                "chance": "NOT better than chance",
            }[assessment.get("verdict", "better")]
        )
    return lines


def _client(args: Namespace):
    from .client import Client

    return Client(args.server, token=args.token, tls_ca=args.tls_ca)


def _train_remote(args: Namespace) -> int:
    """``train --server``: the server's model (created, or imported ``--from``) gets these
    images' annotations (replacing earlier ones of the same images), trains, and the new
    version is exported to ``--model``."""
    from .errors import ModelNotFoundError

    if args.kfold:
        raise InvalidInputError("--kfold runs in-process only; drop --server")
    pairs = find_pairs(args.data_dir)
    classes = _class_list(args)
    changes = _setting_changes(args)
    changes.pop("device", None)  # the server runs on its own device (phenosort serve --device)
    name = args.remote_model or args.model.stem
    with _client(args) as client:
        try:
            info = client.get_model(name)
        except ModelNotFoundError:
            info = client.import_model(args.from_model, name) if args.from_model else None
        samples, names = load_training_samples(
            args.data_dir, args.annotations, classes or (info and info.class_names), pairs=pairs
        )
        if info is None:
            client.create_model(name, names, **changes)
        elif names != info.class_names:
            raise InvalidInputError(
                f"annotation classes {names} differ from server model {name!r}'s {info.class_names}"
            )
        for s in samples:
            client.add_training_data(
                name,
                s.image,
                s.labels,
                s.annotations,
                axes=s.axes,
                voxel_size=s.voxel_size,
                name=s.name,
                replace=True,
            )
        _announce(samples, names)
        with _bar(args, unit="epoch", desc="train") as bar:

            def show(event):
                bar.total = event.n_epochs
                if event.epoch > bar.n:  # the first and last events carry no epoch
                    bar.set_postfix(_epoch_postfix(event), refresh=False)
                    bar.update(event.epoch - bar.n)

            settings = changes if info is not None else {}
            result = client.train(
                name, progress=show, continue_training=bool(args.from_model), **settings
            )
        client.export_model(name, args.model, result["version"], overwrite=args.overwrite)
        if result.get("validation") is None:  # its settings and counts say why
            meta = client.get_model(name).metadata or {}
            result = {**{k: meta.get(k) for k in ("config", "training_data")}, **result}
    write_training_report(args.report, args.model, samples, args)
    return _report_training(args, {**result, "class_names": names}, result["version"])


def run_predict(args: Namespace) -> int:
    _check_out_dir(args.out, args.data_dir)
    if getattr(args, "server", None):
        if args.scheduler or args.workers is not None:
            raise InvalidInputError("--scheduler and --workers predict without --server")
        with _client(args) as client:
            names, predict = _remote_predictor(args, client)
            return _predict_serial(args, find_pairs(args.data_dir), names, predict)
    # absolute paths: Dask workers may run elsewhere, and error messages in summary.csv
    # must not depend on how the run was made
    pairs = [replace(p, image_path=p.image_path.resolve(), mask_path=p.mask_path.resolve())
             for p in find_pairs(args.data_dir)]  # fmt: skip
    if _on_dask(args, pairs):
        return _predict_on_dask(args, pairs)
    clf = _load_model(args)
    if args.batch_size:
        clf.config = clf.config.updated(predict_batch_size=args.batch_size)

    def predict_here(image, labels):
        return clf.predict(image.array, labels, axes=image.axes, voxel_size=image.voxel_size)

    return _predict_serial(args, pairs, clf.class_names, predict_here)


def _remote_predictor(args: Namespace, client):
    """``predict --server``: class names and a predict function of the server's model."""
    from .errors import ModelNotFoundError

    if args.batch_size or args.device:
        raise InvalidInputError("--batch-size and --device are the server's; drop them")
    name = args.remote_model or args.model.stem
    try:
        info = client.get_model(name)
    except ModelNotFoundError:
        if not args.model.is_file():
            raise
        info = client.import_model(args.model, name)

    def predict(image, labels):
        remote = client.predict(name, image.array, labels, axes=image.axes,
                                voxel_size=image.voxel_size, class_map=False)  # fmt: skip
        return remote.to_prediction(labels)  # maps are painted here from the local mask

    return info.class_names, predict


def _on_dask(args: Namespace, pairs) -> bool:
    """A given scheduler, more than one worker asked for, or by default when there are
    several images, at least CLUSTER_MIN_CORES cores and enough pixels to repay starting a
    cluster (~10 s)."""
    from .batch import CLUSTER_MIN_BYTES, CLUSTER_MIN_CORES, cpu_count, default_workers

    if args.workers is not None and args.workers < 0:
        raise InvalidInputError(f"--workers must be >= 0, got {args.workers}")
    if args.scheduler:
        if args.workers is not None:
            raise InvalidInputError("--workers sizes a local cluster; drop it with --scheduler")
        return True
    if args.workers is not None:
        return args.workers > 1
    size = sum(p.image_path.stat().st_size for p in pairs)
    return (
        default_workers(len(pairs)) > 1
        and cpu_count() >= CLUSTER_MIN_CORES
        and size >= CLUSTER_MIN_BYTES
    )


def _predict_on_dask(args: Namespace, pairs) -> int:
    from .batch import cpu_count, default_workers, model_ref, run_on_dask
    from .model.file import read_metadata

    names = read_metadata(args.model)["class_names"]  # verifies the file before any task runs
    _refuse_existing_outputs(args, pairs, names)
    n_workers, threads = None, None  # a given cluster keeps its workers' settings
    if not args.scheduler:  # local workers share this machine's cores
        n_workers = args.workers or default_workers(len(pairs))
        threads = max(1, cpu_count() // n_workers)
    ref = model_ref(args.model, device=args.device, batch_size=args.batch_size,
                    torch_threads=threads)  # fmt: skip
    options = _output_options(args, names)
    args.out.mkdir(parents=True, exist_ok=True)
    with _bar(args, total=len(pairs), unit="image", desc="predict") as bar:
        results = run_on_dask(pairs, ref, options, scheduler=args.scheduler,
                              n_workers=n_workers, done=lambda _: bar.update(1))  # fmt: skip
    return _write_tables(args, results)


def _predict_serial(args: Namespace, pairs, names: list[str], predict) -> int:
    """The images one after the other in this process (one image, --workers 0/1, --server)."""
    _refuse_existing_outputs(args, pairs, names)
    options = _output_options(args, names)
    args.out.mkdir(parents=True, exist_ok=True)
    results = [
        predict_image(pair, predict, options)
        for pair in _bar(args, iterable=pairs, unit="image", desc="predict")
    ]
    return _write_tables(args, results)


def _output_options(args: Namespace, names: list[str]) -> OutputOptions:
    out = args.out.resolve()  # absolute, like the pairs
    return OutputOptions(out, tuple(names), args.rois, args.class_masks, args.confidence)


def _refuse_existing_outputs(args: Namespace, pairs, names: list[str]) -> None:
    if args.overwrite:
        return
    tables = [args.out / "objects.csv", args.out / "summary.csv"]
    taken = [p for p in tables if p.exists()] + [
        p for pair in pairs for p in output_paths(pair.stem, args.out, names).values() if p.exists()
    ]
    if taken:
        raise InvalidInputError(
            f"outputs exist already ({taken[0]}, ...); use --overwrite or another --out"
        )


def _write_tables(args: Namespace, results: list[ImageResult]) -> int:
    """objects.csv and summary.csv in the order of ``results``; failed images are reported
    (stderr, and an ``error`` column in summary.csv) and make the exit status 2."""
    failed = [r for r in results if r.error is not None]
    summary = [{**r.summary, "error": r.error or ""} if failed else r.summary for r in results]
    rows = [r.rows for r in results if r.rows is not None]
    write_table_csv(args.out / "objects.csv", rows, overwrite=True)
    write_table_csv(args.out / "summary.csv", summary, overwrite=True)
    for r in failed:
        print(f"error: {r.stem}: {r.error}", file=sys.stderr)
    total = sum(len(r["label"]) for r in rows)  # printed with --quiet too: it hides only bars
    print(f"{total} objects in {len(rows)} image(s) classified; outputs in {args.out}")
    if failed:
        print(f"{len(failed)} of {len(results)} image(s) failed (see summary.csv)", file=sys.stderr)
    return 2 if failed else 0


def run_suggest(args: Namespace) -> int:
    if args.out:
        _check_out_dir(args.out.parent, args.data_dir)
    clf = _load_model(args)
    found = []
    for pair in _bar(args, iterable=find_pairs(args.data_dir), unit="image", desc="predict"):
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
    _check_out_dir(args.out.parent, args.data_dir)
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
