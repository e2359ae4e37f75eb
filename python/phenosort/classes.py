"""Classes of a model: a class given by name or by index, and the colours of classes 1..K."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import InvalidInputError


def class_index_of(value: int | str, class_names: Sequence[str], where: str = "") -> int:
    """Class index 1..K of a class name or a 1-based index (digit strings are indices).

    ``where`` (e.g. " for label 12 in img01") is put into the error message.
    """
    if isinstance(value, str) and not value.strip().isdigit():
        if value not in class_names:
            raise InvalidInputError(
                f"unknown class {value!r}{where}; known classes: {', '.join(class_names)}"
            )
        return list(class_names).index(value) + 1
    k = int(value)
    if not 1 <= k <= len(class_names):
        raise InvalidInputError(
            f"class index {k}{where} is out of range 1..{len(class_names)} "
            f"({', '.join(class_names)})"
        )
    return k


def class_colors(n: int) -> list[str]:
    """Hex colours of classes 1..n (the Glasbey palette that ImageJ uses for ROI groups)."""
    from .dataio import glasbey_lut

    lut = glasbey_lut()
    return ["#{:02x}{:02x}{:02x}".format(*lut[k]) for k in range(1, n + 1)]
