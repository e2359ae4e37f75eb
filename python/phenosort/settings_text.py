"""Settings written as text, ``KEY=VALUE`` (``--set`` of the CLI and the scripts): one parser,
so a value means the same wherever it is typed."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .errors import InvalidInputError


def parse_settings(pairs: Iterable[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings -> typed settings (JSON literals, else strings; never eval)."""
    settings: dict[str, object] = {}
    for item in pairs:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--set expects KEY=VALUE, got {item!r}")
        lowered = raw.strip().lower()
        value: object
        if lowered in ("true", "false"):
            value = lowered == "true"
        elif lowered in ("none", "null"):
            value = None
        else:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        settings[key.strip()] = value
    return settings
