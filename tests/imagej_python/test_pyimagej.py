"""The pyimagej side without an ImageJ2 gateway (none can start offline): phenosort's axes
<-> pyimagej's xarray dimension names and calibration coordinates, checked against pyimagej's
own dimension tables; and ``import phenosort`` starting no JVM."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from phenosort.errors import InvalidInputError
from phenosort.imagej.dataset import AXIS_OF_DIM, DIM_OF_AXIS, from_xarray, to_xarray


def test_dimension_names_agree_with_pyimagej():
    # in a fresh process: importing pyimagej after a plain ImageJ 1 JVM started fails (its
    # ImgLib2 helpers are missing there), and phenosort must not depend on import order
    code = (
        "import json; from imagej import dims; print(json.dumps({d: "
        "dims._convert_dims(dims._convert_dims([d], 'java'), 'python')[0] + '|' + "
        f"dims._convert_dims([d], 'java')[0] for d in {list(DIM_OF_AXIS.values())!r}}}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for axis, dim in DIM_OF_AXIS.items():
        back, java = json.loads(out.stdout)[dim].split("|")
        assert AXIS_OF_DIM[back] == axis and AXIS_OF_DIM[java] == axis


@pytest.mark.parametrize(
    ("axes", "shape", "voxel"),
    [("YX", (5, 6), (0.5, 0.25)), ("ZYX", (3, 4, 5), (2.0, 0.3, 0.3)), ("YXC", (4, 5, 3), None),
     ("ZCYX", (2, 3, 4, 5), (1.0, 0.2, 0.2)), ("TZYX", (2, 2, 3, 3), None)],
)  # fmt: skip
def test_xarray_round_trip(axes, shape, voxel):
    a = np.arange(np.prod(shape), dtype=np.uint16).reshape(shape)
    xarr = to_xarray(a, axes, voxel_size=voxel, name="img")
    assert list(xarr.dims) == [DIM_OF_AXIS[ax] for ax in axes]
    back = from_xarray(xarr)
    assert back.axes == axes and back.title == "img"
    np.testing.assert_array_equal(back.array, a)
    assert back.voxel_size == (pytest.approx(voxel) if voxel else None)


def test_coordinates_as_pyimagej_writes_them():
    # pyimagej's java_to_xarray gives coords = origin + scale * position on every axis
    xr = pytest.importorskip("xarray")
    xarr = xr.DataArray(
        np.zeros((3, 4, 5, 2), np.float32),
        dims=["pln", "row", "col", "ch"],
        coords={"pln": 10 + 2.0 * np.arange(3), "row": 0.5 * np.arange(4),
                "col": 0.5 * np.arange(5), "ch": np.arange(2)},
    )  # fmt: skip
    got = from_xarray(xarr)
    assert got.axes == "ZYXC" and got.voxel_size == (2.0, 0.5, 0.5)
    with pytest.raises(InvalidInputError, match="'wave'"):
        from_xarray(xr.DataArray(np.zeros((2, 2)), dims=["wave", "row"]))


def test_import_phenosort_starts_no_jvm():
    code = (
        "import sys, phenosort, phenosort.imagej, phenosort.client; "
        "print(sorted(m for m in ('jpype', 'scyjava', 'imagej') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
