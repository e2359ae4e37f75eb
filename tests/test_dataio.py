"""Tests of phenosort.dataio on real files written to tmp_path (and the shared real data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage import io as skio

from phenosort.dataio import (
    ImageData,
    Pair,
    find_pairs,
    find_sample_pairs,
    glasbey_lut,
    load_pair,
    match_axes,
    read_image,
    read_labels,
    write_class_map,
    write_float_image,
    write_label_image,
)
from phenosort.dataio import read as read_module
from phenosort.dataio import write as write_module
from phenosort.errors import InvalidInputError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RNG = np.random.default_rng(0)


def _ij(path: Path, array: np.ndarray, axes: str, **kwargs) -> Path:
    metadata = {"axes": axes, **kwargs.pop("metadata", {})}
    tifffile.imwrite(path, array, imagej=True, metadata=metadata, **kwargs)
    return path


# --- read_image ---------------------------------------------------------------------------


def test_read_imagej_zcyx_with_calibration(tmp_path):
    array = RNG.integers(0, 4000, (5, 2, 16, 20), dtype=np.uint16)
    path = _ij(
        tmp_path / "z.tif",
        array,
        "ZCYX",
        resolution=(1 / 0.25, 1 / 0.2),
        metadata={"spacing": 1.5, "unit": "micron"},
    )
    img = read_image(path)
    assert img.axes == "ZCYX"
    np.testing.assert_array_equal(img.array, array)
    assert img.voxel_size == pytest.approx((1.5, 0.2, 0.25))
    assert img.unit == "um"
    assert img.path == path


def test_read_imagej_cyx_and_yx_without_calibration(tmp_path):
    cyx = RNG.integers(0, 255, (3, 10, 12), dtype=np.uint8)
    yx = RNG.random((10, 12), dtype=np.float32)
    img = read_image(_ij(tmp_path / "c.tif", cyx, "CYX"))
    assert (img.axes, img.voxel_size) == ("CYX", None)
    np.testing.assert_array_equal(img.array, cyx)
    img = read_image(_ij(tmp_path / "y.tif", yx, "YX"))
    assert (img.axes, img.voxel_size, img.unit) == ("YX", None, None)
    np.testing.assert_array_equal(img.array, yx)


def test_read_imagej_rgb_and_singleton_time(tmp_path):
    rgb = RNG.integers(0, 255, (10, 12, 3), dtype=np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, imagej=True, photometric="rgb")
    img = read_image(path)
    assert img.axes == "YXC"
    np.testing.assert_array_equal(img.array, rgb)
    one_frame = RNG.integers(0, 9, (1, 4, 10, 12), dtype=np.uint16)
    img = read_image(_ij(tmp_path / "t1.tif", one_frame, "TZYX"))
    assert img.axes == "ZYX" and img.array.shape == (4, 10, 12)


def test_read_time_series_is_refused(tmp_path):
    path = _ij(tmp_path / "t.tif", np.zeros((3, 4, 10, 12), np.uint16), "TZYX")
    with pytest.raises(InvalidInputError, match=r"t.tif.*time series.*3 frames.*split"):
        read_image(path)


def test_read_plain_stack_keeps_unknown_axes(tmp_path):
    stack = RNG.integers(0, 9, (5, 10, 12), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "q.tif", stack)
    img = read_image(tmp_path / "q.tif")
    assert img.axes == "QYX" and img.voxel_size is None
    np.testing.assert_array_equal(img.array, stack)
    # Plain tifffile stores (3|4, Y, X) as planar RGB(A): planes whose meaning the mask decides
    tifffile.imwrite(tmp_path / "s.tif", stack[:4])
    img = read_image(tmp_path / "s.tif")
    assert img.axes == "QYX"
    np.testing.assert_array_equal(img.array, stack[:4])
    assert match_axes(img.array, img.axes, (10, 12)) == "CYX"
    assert match_axes(img.array, img.axes, (4, 10, 12)) == "ZYX"


def test_read_tiff_rgba_drops_alpha(tmp_path):
    rgba = RNG.integers(0, 255, (10, 12, 4), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "a.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    img = read_image(tmp_path / "a.tif")
    assert img.axes == "YXC"
    np.testing.assert_array_equal(img.array, rgba[..., :3])


def test_read_plain_tiff_centimetre_resolution(tmp_path):
    path = tmp_path / "cm.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), resolution=(1e4 / 0.5, 1e4 / 0.4),
                     resolutionunit="CENTIMETER")  # fmt: skip
    img = read_image(path)
    assert img.voxel_size == pytest.approx((0.4, 0.5)) and img.unit == "um"


def test_read_ome_tiff_physical_size(tmp_path):
    path = tmp_path / "a.ome.tif"
    metadata = {"axes": "ZYX", "PhysicalSizeX": 0.3, "PhysicalSizeY": 0.3, "PhysicalSizeZ": 2.0}
    tifffile.imwrite(path, np.zeros((3, 8, 8), np.uint16), ome=True, metadata=metadata)
    img = read_image(path)
    assert img.axes == "ZYX"
    assert img.voxel_size == pytest.approx((2.0, 0.3, 0.3)) and img.unit == "um"


def test_read_png_grey_and_rgba(tmp_path):
    grey = RNG.integers(0, 255, (10, 12), dtype=np.uint8)
    rgba = RNG.integers(0, 255, (10, 12, 4), dtype=np.uint8)
    skio.imsave(tmp_path / "g.png", grey, check_contrast=False)
    skio.imsave(tmp_path / "c.png", rgba, check_contrast=False)
    img = read_image(tmp_path / "g.png")
    assert (img.axes, img.voxel_size) == ("YX", None)
    np.testing.assert_array_equal(img.array, grey)
    img = read_image(tmp_path / "c.png")
    assert img.axes == "YXC"
    np.testing.assert_array_equal(img.array, rgba[..., :3])


def test_read_missing_file(tmp_path):
    with pytest.raises(InvalidInputError, match=r"nope.tif: file not found"):
        read_image(tmp_path / "nope.tif")
    with pytest.raises(InvalidInputError, match=r"nope.png: file not found"):
        read_labels(tmp_path / "nope.png")


# --- read_labels --------------------------------------------------------------------------


def test_read_labels_keeps_integer_ids(tmp_path):
    labels = np.zeros((1, 10, 12), np.int32)
    labels[0, 2:4, 2:4], labels[0, 6:8, 6:9] = 7, 100000
    tifffile.imwrite(tmp_path / "l.tif", labels)
    out = read_labels(tmp_path / "l.tif")
    assert out.dtype == np.int32 and out.shape == (10, 12)
    np.testing.assert_array_equal(out, labels[0])


@pytest.mark.parametrize("compression", ["lzw", "zstd", "zlib", "jpeg"])
def test_compressed_tiffs_read_as_written(tmp_path, compression, monkeypatch):
    """Microscopes and Bio-Formats write LZW, Zstd and JPEG TIFFs (imagecodecs decodes
    them); strips decode on several threads (here even for a small image), each to its own
    rows."""
    monkeypatch.setattr(read_module, "THREADED_DECODE_BYTES", 0)
    import torch  # loaded: its thread count is this process's share of the cores

    assert read_module.codec_threads(1) == torch.get_num_threads()
    image = RNG.integers(0, 255, (3, 70, 50), dtype=np.uint8)
    labels = np.arange(70 * 50, dtype=np.uint16).reshape(70, 50)
    lossy = compression == "jpeg"
    kwargs = {"photometric": "minisblack", "rowsperstrip": 8}  # 9 strips per plane
    tifffile.imwrite(tmp_path / "i.tif", image[0] if lossy else image, compression=compression,
                     **kwargs)  # fmt: skip
    if not lossy:
        tifffile.imwrite(tmp_path / "l.tif", labels, compression=compression, **kwargs)
        np.testing.assert_array_equal(read_labels(tmp_path / "l.tif"), labels)
    got = read_image(tmp_path / "i.tif")
    if lossy:  # JPEG is lossy: near the original
        assert got.array.shape == (70, 50)
        assert np.abs(got.array.astype(int) - image[0]).mean() < 20
    else:
        assert got.array.shape == (3, 70, 50)
        np.testing.assert_array_equal(got.array, image)


def test_read_labels_plain_three_plane_stack(tmp_path):
    labels = RNG.integers(0, 5, (3, 10, 12), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "l.tif", labels)  # tifffile tags it planar RGB
    np.testing.assert_array_equal(read_labels(tmp_path / "l.tif"), labels)
    _ij(tmp_path / "c.tif", labels, "CYX")
    with pytest.raises(InvalidInputError, match=r"c.tif: expected a single-channel"):
        read_labels(tmp_path / "c.tif")


def test_read_float_labels_integral_accepted(tmp_path):
    labels = np.zeros((10, 12), np.float32)
    labels[1:3, 1:3], labels[5:7, 5:7] = 70000, 3
    _ij(tmp_path / "f.tif", labels, "YX")
    out = read_labels(tmp_path / "f.tif")
    assert out.dtype == np.uint32
    np.testing.assert_array_equal(out, labels.astype(np.uint32))


@pytest.mark.parametrize("bad", [2.5, -1.0, np.nan])
def test_read_float_labels_non_integral_refused(tmp_path, bad):
    labels = np.zeros((10, 12), np.float32)
    labels[3, 3] = bad
    _ij(tmp_path / "f.tif", labels, "YX")
    with pytest.raises(InvalidInputError, match=r"f.tif: expected integer object IDs"):
        read_labels(tmp_path / "f.tif")


def test_read_labels_rgb_and_jpeg_refused(tmp_path):
    skio.imsave(tmp_path / "m.png", np.zeros((10, 12, 3), np.uint8), check_contrast=False)
    with pytest.raises(InvalidInputError, match=r"m.png: expected a single-channel"):
        read_labels(tmp_path / "m.png")
    (tmp_path / "m.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InvalidInputError, match=r"m.jpg: JPEG is lossy"):
        read_labels(tmp_path / "m.jpg")


# --- match_axes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "axes", "lshape", "expected"),
    [
        ((64, 64), "YX", (64, 64), "YX"),
        ((2, 64, 48), "CYX", (64, 48), "CYX"),
        ((3, 64, 64), "QYX", (64, 64), "CYX"),
        ((64, 64, 3), "QQQ", (64, 64), "YXC"),
        ((10, 2, 64, 64), "QQYX", (10, 64, 64), "ZCYX"),
        ((10, 64, 64), "QYX", (10, 64, 64), "ZYX"),
        ((3, 3, 8, 8), "IQYX", (3, 8, 8), None),  # ambiguous: Z or C first
        ((3, 3, 8, 8), "CIYX", (3, 8, 8), "CZYX"),  # the known C decides
    ],
)
def test_match_axes(shape, axes, lshape, expected):
    image = np.zeros(shape, np.uint8)
    if expected is None:
        with pytest.raises(InvalidInputError, match=r"ambiguous"):
            match_axes(image, axes, lshape)
    else:
        assert match_axes(image, axes, lshape) == expected


@pytest.mark.parametrize(
    ("shape", "axes", "lshape"),
    [((64, 64), "YX", (64, 65)), ((2, 64, 64), "CYX", (2, 64, 64)), ((5, 6, 7), "QYX", (9, 9))],
)
def test_match_axes_mismatch_names_both_shapes(shape, axes, lshape):
    with pytest.raises(
        InvalidInputError, match=rf"image shape \({shape[0]}.*mask shape \({lshape[0]}"
    ):
        match_axes(np.zeros(shape, np.uint8), axes, lshape)


# --- find_pairs ---------------------------------------------------------------------------


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_find_pairs_case_insensitive_folders_and_extensions(tmp_path):
    # Folder names in any case, double and upper-case extensions; hidden/non-image files ignored.
    _touch(tmp_path / "Images", "b.tif", "a.ome.tif", "c.PNG", ".DS_Store", "notes.txt")
    _touch(tmp_path / "MASKS", "c.tiff", "a.png", "b.tif", "._a.tif", "readme.md")
    (tmp_path / "MASKS" / "sub.tif").mkdir()
    pairs = find_pairs(tmp_path)
    assert [p.stem for p in pairs] == ["a", "b", "c"]
    assert pairs[0] == Pair("a", tmp_path / "Images" / "a.ome.tif", tmp_path / "MASKS" / "a.png")
    assert pairs[2].mask_path.name == "c.tiff"


def test_find_pairs_sorted_order_differs(tmp_path):
    # Sorted by file name, images are [x.c.tif, x.tif] but masks [x.bmp, x.c.tif]: pairing by
    # position would give x.c.tif the mask of x.
    _touch(tmp_path / "images", "x.tif", "x.c.tif")
    _touch(tmp_path / "masks", "x.c.tif", "x.bmp")
    names = [sorted(p.name for p in (tmp_path / d).iterdir()) for d in ("images", "masks")]
    assert names == [["x.c.tif", "x.tif"], ["x.bmp", "x.c.tif"]]
    pairs = find_pairs(tmp_path)
    assert [(p.stem, p.image_path.name, p.mask_path.name) for p in pairs] == [
        ("x", "x.tif", "x.bmp"),
        ("x.c", "x.c.tif", "x.c.tif"),
    ]


def test_find_pairs_unmatched_files(tmp_path):
    _touch(tmp_path / "images", "a.tif", "b.tif", "C.tif")
    _touch(tmp_path / "masks", "a.tif", "c.tif", "z.png")
    with pytest.raises(InvalidInputError) as info:
        find_pairs(tmp_path)
    msg = str(info.value)
    assert "2 image(s) without a mask" in msg and "(names differ only in case): C, b" in msg
    assert "2 mask(s) without an image" in msg and ": c, z" in msg


def test_find_pairs_folder_errors(tmp_path):
    _touch(tmp_path / "images", "notes.txt")
    with pytest.raises(
        InvalidInputError, match=r"expected one folder 'masks' \(any case\), found none"
    ):
        find_pairs(tmp_path)
    _touch(tmp_path / "masks")
    with pytest.raises(InvalidInputError, match=r"images: no image files"):
        find_pairs(tmp_path)
    _touch(tmp_path / "own_masks", "a.tif")
    _touch(tmp_path / "images", "a.tif")
    assert find_pairs(tmp_path, mask_dir="own_masks")[0].mask_path.parent.name == "own_masks"
    with pytest.raises(InvalidInputError, match=r"not_here: folder not found"):
        find_pairs(tmp_path, image_dir=tmp_path / "not_here")


def test_find_pairs_duplicate_stem(tmp_path):
    _touch(tmp_path / "images", "a.tif", "a.png")
    _touch(tmp_path / "masks", "a.tif")
    with pytest.raises(InvalidInputError, match=r"one file per stem, got a.png and a.tif"):
        find_pairs(tmp_path)


def test_find_sample_pairs_layout(tmp_path):
    _touch(tmp_path / "samples" / "s2", "image.tif", "labels.tif")
    _touch(tmp_path / "samples" / "s1", "image.tif", "labels.tif")
    pairs = find_sample_pairs(tmp_path)  # the dataset folder works as well
    assert [p.stem for p in pairs] == ["s1", "s2"]
    assert pairs[1].mask_path == tmp_path / "samples" / "s2" / "labels.tif"
    _touch(tmp_path / "samples" / "s3", "image.tif")
    with pytest.raises(InvalidInputError, match=r"without image.tif and labels.tif: s3"):
        find_sample_pairs(tmp_path / "samples")


@pytest.mark.parametrize("dataset", ["wbc", "cells3d_nuclei"])
def test_find_sample_pairs_real_data(dataset):
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent")
    pairs = find_sample_pairs(SHARED_DATA / dataset / "samples")
    assert len(pairs) == (400 if dataset == "wbc" else 1)
    for pair in pairs[:3] + pairs[-2:]:
        image, labels = load_pair(pair)
        spatial = tuple(s for a, s in zip(image.axes, image.array.shape) if a != "C")
        assert labels.shape == spatial and labels.max() > 0
        assert image.axes == ("YXC" if dataset == "wbc" else "ZYX")


# --- load_pair ----------------------------------------------------------------------------


def test_load_pair_resolves_axes_and_checks_shape(tmp_path):
    tifffile.imwrite(tmp_path / "i.tif", np.zeros((2, 16, 20), np.uint16))  # plain: "QYX"
    tifffile.imwrite(tmp_path / "m.tif", np.ones((16, 20), np.uint16))
    image, labels = load_pair(Pair("i", tmp_path / "i.tif", tmp_path / "m.tif"))
    assert isinstance(image, ImageData) and image.axes == "CYX" and labels.shape == (16, 20)
    tifffile.imwrite(tmp_path / "m2.tif", np.ones((16, 21), np.uint16))
    with pytest.raises(InvalidInputError, match=r"i.tif and .*m2.tif: image shape .*\(16, 21\)"):
        load_pair(Pair("i", tmp_path / "i.tif", tmp_path / "m2.tif"))


def test_load_pair_fits_voxel_size(tmp_path):
    _ij(tmp_path / "i.tif", np.zeros((3, 8, 8), np.uint8), "CYX", resolution=(2, 2),
        metadata={"unit": "um"})  # fmt: skip
    tifffile.imwrite(tmp_path / "m.tif", np.ones((8, 8), np.uint16))
    image, _ = load_pair(Pair("i", tmp_path / "i.tif", tmp_path / "m.tif"))
    assert image.voxel_size == pytest.approx((0.5, 0.5))


# --- writing ------------------------------------------------------------------------------


def test_glasbey_lut_matches_imagej_group_colours():
    lut = glasbey_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert lut[0].tolist() == [0, 0, 0]
    # Fiji luts/glasbey.lut: group 1 blue, 2 red, 3 green, 4 dark navy, 255 (189, 117, 101)
    assert lut[1:5].tolist() == [[0, 0, 255], [255, 0, 0], [0, 255, 0], [0, 0, 51]]
    assert lut[255].tolist() == [189, 117, 101]
    assert len({tuple(c) for c in lut}) == 256


@pytest.mark.parametrize("packbits", [False, True])
def test_write_class_map_round_trip(tmp_path, monkeypatch, packbits):
    """Small maps are written plain, maps from ``COMPRESS_BYTES`` PackBits-compressed: the
    same pixels, palette and metadata either way."""
    class_map = np.zeros((4, 10, 12), np.int64)
    class_map[1, 2:5, 2:5], class_map[3, 6:9, 1:4] = 1, 3
    monkeypatch.setattr(write_module, "COMPRESS_BYTES", 0 if packbits else 4 * 10 * 12 + 1)
    path = tmp_path / "sub" / "classes.tif"
    names = ["dim", "bright, round", "striped"]
    assert write_class_map(path, class_map, names, voxel_size=(2.0, 0.5, 0.25)) == path
    with tifffile.TiffFile(path) as tif:
        data, page, ij = tif.asarray(), tif.pages.first, tif.imagej_metadata
        assert page.compression == (tifffile.COMPRESSION.PACKBITS if packbits else 1)
        assert tif.series[0].axes == "ZYX"
        assert page.photometric == tifffile.PHOTOMETRIC.PALETTE
        # ImageJ reads the high byte of each 16-bit palette entry
        np.testing.assert_array_equal(page.colormap >> 8, glasbey_lut().T)
    assert data.dtype == np.uint8
    np.testing.assert_array_equal(data, class_map)
    np.testing.assert_array_equal(np.reshape(ij["LUTs"], (-1, 3, 256))[0], glasbey_lut().T)
    assert json.loads(ij["Properties"]["class_names"]) == names
    assert "2: bright, round" in ij["Info"]
    assert ij["spacing"] == 2.0 and ij["unit"] == "um"
    back = read_image(path)
    assert back.voxel_size == pytest.approx((2.0, 0.5, 0.25))


def test_write_class_map_many_classes_and_errors(tmp_path):
    names = [f"c{k}" for k in range(300)]
    class_map = np.array([[0, 1], [255, 300]])
    write_class_map(tmp_path / "big.tif", class_map, names)
    with tifffile.TiffFile(tmp_path / "big.tif") as tif:
        assert tif.asarray().dtype == np.uint16 and tif.imagej_metadata["max"] == 255
    with pytest.raises(InvalidInputError, match=r"x.tif: class map holds class 3, but 2 names"):
        write_class_map(tmp_path / "x.tif", np.array([[0, 3]]), ["a", "b"])
    with pytest.raises(InvalidInputError, match=r"expected a .tif"):
        write_class_map(tmp_path / "x.png", np.array([[0, 1]]), ["a"])


def test_writers_refuse_to_overwrite(tmp_path):
    path = tmp_path / "out.tif"
    write_class_map(path, np.ones((4, 4), np.uint8), ["a"])
    before = path.read_bytes()
    for write, data in (
        (lambda p, a, **k: write_class_map(p, a, ["a", "b"], **k), np.full((4, 4), 2)),
        (write_label_image, np.full((4, 4), 2)),
        (write_float_image, np.full((4, 4), 0.5)),
    ):
        with pytest.raises(InvalidInputError, match=r"out.tif: file exists.*overwrite=True"):
            write(path, data)
        assert path.read_bytes() == before
    write_label_image(path, np.full((4, 4), 9), overwrite=True)
    np.testing.assert_array_equal(tifffile.imread(path), 9)
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]  # no temporary file left


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize(
    ("top", "dtype"), [(65535, np.uint16), (65536, np.float32), (2**24, np.float32)]
)
def test_write_label_image_round_trip(tmp_path, monkeypatch, top, dtype, compressed):
    """Plain below ``COMPRESS_BYTES``, zlib from it: the same IDs either way."""
    monkeypatch.setattr(write_module, "COMPRESS_BYTES", 0 if compressed else 2**20)
    labels = np.zeros((3, 10, 12), np.uint32)
    labels[0, 1, 1], labels[2, 5:7, 5:7], labels[1, 9, 11] = 1, top - 1, top
    path = write_label_image(tmp_path / "l.tif", labels, voxel_size=(1.0, 0.2, 0.2))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej and tif.series[0].axes == "ZYX"
        assert tif.pages.first.compression == (
            tifffile.COMPRESSION.ADOBE_DEFLATE if compressed else 1
        )
        data = tif.asarray()
    assert data.dtype == dtype
    np.testing.assert_array_equal(data, labels)
    np.testing.assert_array_equal(read_labels(path), labels)


def test_write_label_image_refuses_unrepresentable(tmp_path):
    with pytest.raises(InvalidInputError, match=r"l.tif: expected label IDs <= 2\^24.*relabel"):
        write_label_image(tmp_path / "l.tif", np.array([[0, 2**24 + 1]], np.int64))
    with pytest.raises(InvalidInputError, match=r"integers >= 0, got dtype int64, min -1"):
        write_label_image(tmp_path / "l.tif", np.array([[0, -1]]))
    with pytest.raises(InvalidInputError, match=r"dtype float64"):
        write_label_image(tmp_path / "l.tif", np.array([[0.0, 1.5]]))
    assert not (tmp_path / "l.tif").exists()


@pytest.mark.parametrize("compressed", [False, True])
def test_write_float_image_round_trip(tmp_path, monkeypatch, compressed):
    monkeypatch.setattr(write_module, "COMPRESS_BYTES", 0 if compressed else 2**20)
    conf = RNG.random((10, 12))
    path = write_float_image(tmp_path / "c.tif", conf, voxel_size=(0.5, 0.5), display_range=(0, 1))
    with tifffile.TiffFile(path) as tif:
        data, ij = tif.asarray(), tif.imagej_metadata
        assert tif.pages.first.compression == (
            tifffile.COMPRESSION.ADOBE_DEFLATE if compressed else 1
        )
    assert data.dtype == np.float32 and (ij["min"], ij["max"]) == (0, 1)
    np.testing.assert_array_equal(data, conf.astype(np.float32))
    assert read_image(path).voxel_size == pytest.approx((0.5, 0.5))
