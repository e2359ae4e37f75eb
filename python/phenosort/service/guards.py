"""Checks of client-supplied values that the engine alone cannot make safe on a server.

- Settings JSON: strict JSON (no ``NaN``/``Infinity`` literals), typed by
  :func:`~phenosort.model.config.typed_settings`, before anything is registered. The string
  ``"default"`` as a value stands for the service's default of that setting (ModelConfig's),
  so a run can reset a setting that the model was created with.
- Label IDs: proto ``uint64`` fields hold up to 2^64-1; a mask holds at most 2^32-1.
- ``net_weights``: a path the server would open. Clients may name only files inside the
  folder the operator allows (``phenosort serve --weights-dir``; none by default), and
  messages never say whether a path outside it exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..axes import MAX_LABEL_ID
from ..errors import InvalidInputError
from ..model.config import ModelConfig, typed_settings
from ..model.field_types import json_object

DEFAULT = "default"
"""A settings value that stands for the service's default of its key."""


def parse_settings(text: str, what: str = "settings_json") -> dict:
    """A settings JSON object, typed and validated by :class:`ModelConfig` (unknown keys,
    wrong types and bad ranges fail naming the key). A value ``"default"`` becomes the
    service's default of its key: ``{"train_epochs": "default"}`` in StartTraining trains
    ModelConfig's default epochs, not the ones the model was created with."""
    settings = typed_settings(_defaults_filled(json_object(text, what)))
    ModelConfig.from_dict(settings)  # range checks, naming each bad key
    return settings


def _defaults_filled(settings: dict) -> dict:
    """``settings`` with each ``"default"`` value of a known key replaced by its default
    (unknown keys stay, for :func:`typed_settings` to name)."""
    defaults = ModelConfig().to_dict()
    return {k: defaults[k] if v == DEFAULT and k in defaults else v for k, v in settings.items()}


def check_label_id(value: int, what: str = "label") -> int:
    """A label ID a mask can hold (1 .. 2^32-1); ``value`` comes from a uint64 field."""
    if not 0 < int(value) <= MAX_LABEL_ID:
        raise InvalidInputError(
            f"{what} {value} is not an object ID: IDs are 1..{MAX_LABEL_ID} (0 is background)"
        )
    return int(value)


def check_label_ids(values: Iterable[int], what: str) -> list[int]:
    """:func:`check_label_id` for each value of a repeated field."""
    return [check_label_id(v, what) for v in values]


class WeightsPolicy:
    """Which ``net_weights`` paths clients may use.

    Parameters
    ----------
    folder : path or None
        The folder of allowed weights files; None (default) allows none.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(os.path.realpath(folder)) if folder else None

    def resolve(self, settings: dict) -> dict:
        """``settings`` with ``net_weights`` as an absolute path inside the folder.

        Raises the same message whether or not a refused path exists; the file's content is
        read only by training, whose errors never quote it.
        """
        value = settings.get("net_weights")
        if value is None:
            return settings
        if self.folder is None:
            raise InvalidInputError(
                "net_weights is not accepted from clients: this server allows no weights "
                "folder (its operator can allow one with phenosort serve --weights-dir)"
            )
        path = Path(os.path.realpath(self.folder / value))  # symlinks and '..' resolved
        if not path.is_relative_to(self.folder) or path == self.folder:
            raise InvalidInputError(
                f"net_weights {value!r} is not a file name inside the server's weights folder"
            )
        return {**settings, "net_weights": str(path)}
