"""ImageJ2 Datasets <-> numpy through pyimagej (``ij.py.from_java`` / ``ij.py.to_dataset``).

pyimagej moves pixels as xarray DataArrays whose dimensions carry its own names (``row``,
``col``, ``pln``, ``ch``, ``t``) and whose coordinates carry the calibration (position times
the axis scale). The translation to phenosort's axes strings and ``voxel_size`` is plain
Python here, so it is testable without an ImageJ2 gateway.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError
from .convert import ImageArray

# pyimagej's dimension names (imagej.dims._to_pydim / _to_ijdim) and phenosort's axes
DIM_OF_AXIS = {"T": "t", "Z": "pln", "C": "ch", "Y": "row", "X": "col"}
AXIS_OF_DIM = {
    **{d: a for a, d in DIM_OF_AXIS.items()},
    **{a.lower(): a for a in DIM_OF_AXIS},
    "Time": "T", "Z": "Z", "slice": "Z", "Channel": "C", "Y": "Y", "X": "X",
}  # fmt: skip


def _spacing(coords: np.ndarray) -> float | None:
    return float(coords[1] - coords[0]) if coords.size > 1 else None


def from_xarray(xarr) -> ImageArray:
    """An :class:`ImageArray` from a pyimagej xarray: axes from its dims, voxel size from the
    coordinate spacing of Y, X (and Z)."""
    try:
        axes = "".join(AXIS_OF_DIM[str(d)] for d in xarr.dims)
    except KeyError as exc:
        raise InvalidInputError(
            f"dimension {exc.args[0]!r} of {tuple(xarr.dims)} is not one of "
            f"{sorted(AXIS_OF_DIM)}; name the dimensions as pyimagej does"
        ) from None
    spacing = {}
    for dim, ax in zip(xarr.dims, axes, strict=True):
        if ax in "ZYX" and dim in xarr.coords:
            spacing[ax] = _spacing(np.asarray(xarr.coords[dim].values, float))
    size = [spacing.get(ax) or 1.0 for ax in ("ZYX" if "Z" in axes else "YX")]
    calibrated = any(spacing.get(ax) not in (None, 1.0) for ax in "ZYX")
    unit = xarr.attrs.get("unit") if hasattr(xarr, "attrs") else None
    return ImageArray(
        np.asarray(xarr.values),
        axes,
        tuple(size) if calibrated else None,
        unit if calibrated else None,
        str(xarr.name or ""),
    )


def to_xarray(
    array: np.ndarray, axes: str, *, voxel_size: Sequence[float] | None = None, name: str = ""
):
    """A DataArray that ``ij.py.to_dataset`` turns into a calibrated Dataset."""
    import xarray as xr

    axes = axes.upper()
    a = np.asarray(array)
    if len(axes) != a.ndim or set(axes) - set(DIM_OF_AXIS) or len(set(axes)) != len(axes):
        raise InvalidInputError(f"axes {axes!r} do not match an array of shape {a.shape}")
    scale = dict(zip("ZYX"[-len(voxel_size) :], voxel_size, strict=True)) if voxel_size else {}
    coords = {DIM_OF_AXIS[ax]: np.arange(n) * scale[ax] for ax, n in zip(axes, a.shape, strict=True)
              if ax in scale}  # fmt: skip
    return xr.DataArray(a, dims=[DIM_OF_AXIS[ax] for ax in axes], coords=coords, name=name or None)


def from_dataset(ij, dataset) -> ImageArray:
    """A Dataset / ImgPlus / anything ``ij.py.from_java`` makes an xarray of."""
    xarr = ij.py.from_java(dataset)
    if not hasattr(xarr, "dims"):
        raise InvalidInputError(
            f"pyimagej converted {type(dataset).__name__} to {type(xarr).__name__}, not an "
            "image with axes"
        )
    return from_xarray(xarr)


def to_dataset(
    ij,
    array: np.ndarray,
    axes: str,
    *,
    voxel_size: Sequence[float] | None = None,
    name: str = "",
):
    """An ImageJ2 Dataset with named axes and calibration, through ``ij.py.to_dataset``."""
    return ij.py.to_dataset(to_xarray(array, axes, voxel_size=voxel_size, name=name))
