"""JSON that every client can parse: non-finite floats become ``null``.

Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON: JavaScript's
``JSON.parse`` and strict parsers reject the whole document. Metrics of a diverged run
(a NaN loss) or values of old files must therefore be cleaned wherever JSON is written.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (in nested dicts, lists, tuples) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs) -> str:
    """``json.dumps`` of :func:`finite` ``(value)``: always valid JSON."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
