"""One training on a server, from annotated images to a model file: get the model (or import
it from a file, or create it), replace these images' annotations in its training set, train,
and export the new version. :meth:`phenosort.client.Client.fit` runs it; the CLI's
``train --server``, the demo and ``scripts/imagej_train.py`` call that, so the steps and
their checks live here only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InvalidInputError, ModelNotFoundError

if TYPE_CHECKING:
    from .classifier import Sample
    from .client import Client, ModelInfo, TrainingProgress

# Called with the class names the annotations must use (the --classes given, else the
# server model's; None for a model still to create); returns the samples, whose class
# indices refer to the class names it returns too. It may yield samples lazily.
SampleLoader = Callable[[list[str] | None], tuple[Iterable["Sample"], list[str]]]


@dataclass(frozen=True)
class FitResult:
    """What :meth:`Client.fit` did: the model's classes, the version it trained, the
    training's outcome and the training set it ended with.

    ``metrics`` is :meth:`Client.train`'s result; without a validation set it also holds
    the version's ``config`` and ``training_data``, which say why (see
    ``phenosort.training_summary.no_validation_reason``).
    """

    model: str
    class_names: list[str]
    version: int
    metrics: dict
    n_images: int
    counts: dict[str, int]
    created: bool
    path: Path | None = None  # the exported model file


def fit(
    client: Client,
    name: str,
    samples: Iterable[Sample] | SampleLoader,
    *,
    class_names: Sequence[str] | None = None,
    settings: Mapping[str, object] | None = None,
    from_file: str | os.PathLike[str] | None = None,
    progress: Callable[[TrainingProgress], None] | None = None,
    export: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """See :meth:`phenosort.client.Client.fit`."""
    say = log or (lambda _: None)
    settings = dict(settings or {})
    info = _existing(client, name, from_file, say)
    wanted = list(class_names) if class_names else (info.class_names if info else None)
    if callable(samples):
        found, names = samples(wanted)
    elif wanted is None:
        raise InvalidInputError(f"model {name!r} is not on the server: give its class_names")
    else:
        found, names = samples, wanted
    if isinstance(found, Sized) and not len(found):
        raise InvalidInputError(f"no annotated images to train model {name!r} on")
    names = list(names)
    if info is None:
        client.create_model(name, names, **settings)
        say(f"created model {name!r} with classes {names}")
    elif names != info.class_names:
        raise InvalidInputError(
            f"annotation classes {names} differ from server model {name!r}'s {info.class_names}"
        )
    n_images, counts = 0, {}
    for s in found:  # replace: training again on the same folder does not pile up labels
        summary = client.add_training_data(
            name, s.image, s.labels, s.annotations,
            axes=s.axes, voxel_size=s.voxel_size, name=s.name, replace=True,
        )  # fmt: skip
        n_images, counts = summary["n_images"], summary["counts"]
    say(f"training set: {counts}")
    # a new model got the settings when created; an existing one gets them for this run
    result = client.train(name, progress=progress, continue_training=from_file is not None,
                          **(settings if info is not None else {}))  # fmt: skip
    version = int(result["version"])
    say(f"model {name!r} version {version}")
    if result.get("validation") is None:  # the version's settings and counts say why
        meta = client.get_model(name, version).metadata or {}
        result = {**{k: meta.get(k) for k in ("config", "training_data")}, **result}
    path = None
    if export is not None:
        path = client.export_model(name, export, version, overwrite=overwrite)
        say(f"exported to {path}")
    return FitResult(name, names, version, result, n_images, counts, info is None, path)


def _existing(
    client: Client, name: str, from_file: str | os.PathLike[str] | None, say: Callable
) -> ModelInfo | None:
    """The server's model ``name``; else ``from_file`` imported as ``name``; else None."""
    try:
        return client.get_model(name)
    except ModelNotFoundError:
        if from_file is None:
            return None
    info = client.import_model(from_file, name)
    say(f"imported {from_file} as model {name!r}")
    return info
