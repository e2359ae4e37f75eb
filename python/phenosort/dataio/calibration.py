"""Voxel size and unit from TIFF metadata (ImageJ, OME or plain TIFF resolution tags)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import tifffile

_MICRO = {"micron", "microns", "µm", "μm", "\\u00b5m", "um"}

#: ``(z, y, x)`` voxel size and unit, or ``(None, None)`` without calibration
Calibration = tuple[tuple[float, float, float] | None, str | None]


def normalize_unit(unit: str | None) -> str | None:
    """The unit as phenosort writes it (``"um"`` for micrometres), ``None`` for pixels."""
    unit = (unit or "").strip()
    if unit.lower() in ("", "pixel", "pixels"):
        return None
    return "um" if unit.lower() in _MICRO else unit


def _ome_calibration(tif: tifffile.TiffFile) -> Calibration:
    try:
        root = ET.fromstring(tif.ome_metadata or "")
    except ET.ParseError:
        return None, None
    pixels = next((el for el in root.iter() if el.tag.endswith("}Pixels")), None)
    if pixels is None or "PhysicalSizeX" not in pixels.attrib:
        return None, None
    x = float(pixels.attrib["PhysicalSizeX"])
    size = (float(pixels.get("PhysicalSizeZ", 1.0)), float(pixels.get("PhysicalSizeY", x)), x)
    return size, normalize_unit(pixels.get("PhysicalSizeXUnit", "µm"))  # OME's default unit is µm


def tiff_calibration(tif: tifffile.TiffFile) -> Calibration:
    """``(z, y, x)`` and unit, or ``(None, None)`` when the file holds no real calibration."""
    if tif.is_ome:
        return _ome_calibration(tif)
    page = tif.pages.first
    xres, yres = page.resolution
    if xres <= 0 or yres <= 0:
        return None, None
    ij = tif.imagej_metadata or {}
    unit = normalize_unit(
        ij.get("unit")
    )  # ImageJ: calibrated iff a unit is set; depth defaults to 1
    if unit is not None:
        return (float(ij.get("spacing", 1.0)), 1 / yres, 1 / xres), unit
    # Plain TIFF: only a physical resolution unit counts; (1, 1) and 72 dpi are writer defaults.
    um_per_unit: dict[int, float] = {
        tifffile.RESUNIT.INCH: 25400.0,
        tifffile.RESUNIT.CENTIMETER: 1e4,
        tifffile.RESUNIT.MILLIMETER: 1e3,
        tifffile.RESUNIT.MICROMETER: 1.0,
    }
    um = um_per_unit.get(page.resolutionunit)
    if um is None or (xres, yres) in ((1, 1), (72, 72)):
        return None, None
    return (1.0, um / yres, um / xres), "um"
