"""ImageJ 1 opens the class maps phenosort writes, plain and PackBits-compressed (large
maps), with their pixels, palette and class names."""

from __future__ import annotations

import numpy as np
import tifffile

from phenosort.dataio import write
from phenosort.dataio.glasbey import glasbey_lut


def test_imagej_opens_plain_and_compressed_class_maps(run_macro, tmp_path, monkeypatch):
    class_map = np.zeros((40, 60), np.uint8)
    class_map[5:9, 10:30], class_map[20:35, 40:45] = 1, 2
    names = ["dim", "bright"]
    paths = {}
    for kind, threshold in (("plain", class_map.nbytes + 1), ("packbits", 0)):
        monkeypatch.setattr(write, "PACKBITS_BYTES", threshold)
        paths[kind] = write.write_class_map(tmp_path / f"{kind}.tif", class_map, names)
        with tifffile.TiffFile(paths[kind]) as tif:
            expected = tifffile.COMPRESSION.PACKBITS if kind == "packbits" else 1
            assert tif.pages.first.compression == expected
    body = ""
    for kind, path in paths.items():
        body += f"""open("{path}");
getLut(r, g, b);
emit("{kind}=" + bitDepth() + " " + getWidth() + "x" + getHeight() + " " + getPixel(12, 6)
     + " " + getPixel(42, 30) + " " + getPixel(0, 0) + " " + r[2] + "," + g[2] + "," + b[2]);
emit("{kind}_info=" + indexOf(getMetadata("Info"), "2: bright"));
close();
"""
    result = run_macro(body)
    red = glasbey_lut()[2]
    for kind in paths:
        assert result.value(kind) == f"8 60x40 1 2 0 {red[0]},{red[1]},{red[2]}"
        assert int(result.value(f"{kind}_info")) >= 0
