"""A dataclass's fields filled from JSON-like values (a model file, a CLI ``--set``, a gRPC
client): each value checked against its field's type before any range check compares it.

Unknown keys, ``null`` where a value is needed, strings for numbers, fractional or huge
integers and non-finite floats are each named with the key and the value. Integral floats
(``3.0``, what JSON clients send) become ints, and ints of float fields become floats.
"""

from __future__ import annotations

import functools
import json
import math
import typing
from dataclasses import asdict, fields

from ..errors import InvalidInputError

MAX_INT = 2**53  # integers a JSON client (JavaScript numbers) can hold exactly
_BAD = object()


def json_object(text: str, what: str) -> dict:
    """The JSON object in ``text`` (``{}`` when blank); NaN and Infinity, other JSON values
    and nesting too deep to parse fail naming ``what`` (the field, e.g. "settings_json")."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


def typed_values(cls: type, data: dict, what: str) -> dict:
    """``data`` converted to the field types of the dataclass ``cls``; raises one
    :class:`InvalidInputError` naming every bad key and value (``what``: "settings")."""
    if not isinstance(data, dict):
        raise InvalidInputError(f"{what} must be a mapping, got {type(data).__name__}")
    hints = _field_types(cls)
    unknown = sorted(str(k) for k in data if k not in hints)
    if unknown:
        raise InvalidInputError(
            f"unknown {what}: {', '.join(unknown)}; known {what} are {', '.join(sorted(hints))}"
        )
    out, errs = {}, []
    for key, value in data.items():
        converted = _convert(value, hints[key])
        if converted is _BAD:
            errs.append(f"{key} must be {_describe(hints[key])}, got {_show(value)}")
        else:
            out[key] = converted
    if errs:
        raise InvalidInputError(f"invalid {what}: " + "; ".join(errs))
    return out


def type_errors(instance: object) -> list[str]:
    """Type errors of a constructed dataclass (an integral float in an int field too)."""
    cls: type = type(instance)
    hints = _field_types(cls)
    errs = []
    for key, value in asdict(instance).items():  # type: ignore[call-overload]
        converted = _convert(value, hints[key])
        if converted is _BAD or (isinstance(value, float) and isinstance(converted, int)):
            errs.append(f"{key} must be {_describe(hints[key])}, got {_show(value)}")
    return errs


@functools.cache  # a class's hints do not change; evaluating them cost 0.5 ms per call
def _field_types(cls: type) -> dict[str, tuple[type, ...]]:
    hints = typing.get_type_hints(cls)
    return {f.name: typing.get_args(hints[f.name]) or (hints[f.name],) for f in fields(cls)}


def _convert(value, types: tuple[type, ...]):
    """``value`` as one of ``types`` (None, bool, int, float, str), or ``_BAD``."""
    for kind in types:
        if kind is type(None) and value is None:
            return None
        if kind is bool and isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if kind is int:
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                continue
            if abs(value) <= MAX_INT:
                return int(value)
        # abs() of a 400-digit int compares with 1e300 exactly: float() never overflows
        if kind is float and abs(value) <= 1e300 and math.isfinite(value):
            return float(value)
    return _BAD


def _describe(types: tuple[type, ...]) -> str:
    words = {
        int: "an integer (|n| <= 2^53)",
        float: "a finite number",
        bool: "true or false",
        str: "a string",
        type(None): "null",
    }
    return " or ".join(words[t] for t in types)


def _show(value) -> str:
    try:
        return json.dumps(value, allow_nan=False)[:80]
    except (TypeError, ValueError, OverflowError):
        return repr(value)[:80]


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
