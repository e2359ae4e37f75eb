"""The colours of ImageJ's ROI groups (the Glasbey LUT), which class maps and overlays use."""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np


@functools.cache
def _glasbey_bytes() -> bytes:
    """The LUT file, read once: every class map written needs it."""
    return resources.files("phenosort").joinpath("resources/Glasbey.lut").read_bytes()


def glasbey_lut() -> np.ndarray:
    """The ``(256, 3)`` uint8 LUT whose entry k is the colour ImageJ gives ROI group k.

    ImageJ (``ij.gui.Roi.getGroupColor``) colours group g with entry g of ``luts/Glasbey.lut``
    (Fiji's ``glasbey.lut``; ``glasbey_on_dark.lut`` is a different palette). Entry 0, white in
    that file and no group's colour, is black here so that background shows dark.
    """
    # resources/Glasbey.lut is Fiji's luts/glasbey.lut (Glasbey et al. 2007) in ImageJ's raw
    # format (256 reds, greens, blues); the Fiji plugin ships the same file.
    lut = np.frombuffer(_glasbey_bytes(), np.uint8).reshape(3, 256).T.copy()
    lut[0] = 0
    return lut
