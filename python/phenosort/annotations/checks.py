"""Checks of class names and label masks, shared by the CSV and the ImageJ ROI annotations."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..axes import check_labels
from ..errors import InvalidInputError

#: a class (or label) written as a non-negative integer
INTEGER = re.compile(r"^\+?\d+$")


def check_class_names(class_names: Sequence[str]) -> list[str]:
    """The names as a list, each a non-empty line that does not look like an index; unique."""
    names = list(class_names)
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip() or "\n" in name:
            raise InvalidInputError(f"class name {i + 1} is {name!r}; expected a non-empty line")
        if INTEGER.match(name.strip()):
            # an integer-looking name would read back as a class index
            raise InvalidInputError(f"class name {name!r} looks like a class index; add a letter")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"class names {names!r} are not unique")
    return names


def check_label_mask(labels: np.ndarray) -> np.ndarray:
    """An instance label mask, 2D ``(Y, X)`` or 3D ``(Z, Y, X)``."""
    labels = check_labels(labels, np.shape(labels))
    if labels.ndim not in (2, 3):
        raise InvalidInputError(f"labels must be 2D (Y, X) or 3D (Z, Y, X), got {labels.shape}")
    return labels
