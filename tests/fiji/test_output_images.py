"""ImageJ 1 opens the images phenosort writes, plain and compressed (from
``COMPRESS_BYTES``): class maps (PackBits) with their pixels, palette and class names,
class masks and confidence maps (zlib) with their values."""

from __future__ import annotations

import numpy as np
import tifffile

from phenosort.dataio import write
from phenosort.dataio.glasbey import glasbey_lut


def test_imagej_opens_plain_and_compressed_outputs(run_macro, tmp_path, monkeypatch):
    class_map = np.zeros((40, 60), np.uint8)
    class_map[5:9, 10:30], class_map[20:35, 40:45] = 1, 2
    mask = np.where(class_map == 2, 40_000, 0).astype(np.uint16)  # an ID above 32767
    confidence = np.where(class_map > 0, 0.75, 0).astype(np.float32)
    names = ["dim", "bright"]
    body = ""
    for kind, threshold in (("plain", 2**20), ("compressed", 0)):
        monkeypatch.setattr(write, "COMPRESS_BYTES", threshold)
        paths = {
            "map": write.write_class_map(tmp_path / f"{kind}_map.tif", class_map, names),
            "mask": write.write_label_image(tmp_path / f"{kind}_mask.tif", mask),
            "conf": write.write_float_image(tmp_path / f"{kind}_conf.tif", confidence),
        }
        for what, path in paths.items():
            with tifffile.TiffFile(path) as tif:
                codec = tif.pages.first.compression
            expected = (32773 if what == "map" else 8) if kind == "compressed" else 1
            assert codec == expected  # PackBits, zlib, none
        body += f"""open("{paths["map"]}");
getLut(r, g, b);
emit("{kind}_map=" + bitDepth() + " " + getWidth() + "x" + getHeight() + " "
     + getPixel(12, 6) + " " + getPixel(42, 30) + " " + getPixel(0, 0) + " "
     + r[2] + "," + g[2] + "," + b[2]);
emit("{kind}_info=" + indexOf(getMetadata("Info"), "2: bright"));
close();
open("{paths["mask"]}");
emit("{kind}_mask=" + bitDepth() + " " + getPixel(42, 30) + " " + getPixel(12, 6));
close();
open("{paths["conf"]}");
emit("{kind}_conf=" + bitDepth() + " " + getPixel(12, 6) + " " + getPixel(0, 0));
close();
"""
    result = run_macro(body)
    red = glasbey_lut()[2]
    for kind in ("plain", "compressed"):
        assert result.value(f"{kind}_map") == f"8 60x40 1 2 0 {red[0]},{red[1]},{red[2]}"
        assert int(result.value(f"{kind}_info")) >= 0
        assert result.value(f"{kind}_mask") == "16 40000 0"
        assert result.value(f"{kind}_conf") == "32 0.75 0"
