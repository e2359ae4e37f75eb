"""Normalisation policies: per-image percentile, fixed, per-patch min-max, none."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phenosort.axes import to_channel_first
from phenosort.errors import InvalidInputError
from phenosort.objects.normalize import (
    Normalization,
    _percentile_of_histogram,
    channel_percentiles,
    pooled_percentiles,
    resolve_channels,
)
from phenosort.objects.patches import PatchSpec, extract_patches
from phenosort.objects.table import object_table


def _dim_and_bright():
    """Background 0, a dim object at 100 and a bright one at 200 (1 channel)."""
    image = np.zeros((1, 40, 40), np.uint16)
    labels = np.zeros((40, 40), np.uint16)
    labels[5:15, 5:15] = 3
    labels[25:35, 25:35] = 11
    image[0][labels == 3] = 100
    image[0][labels == 11] = 200
    return image, labels


def _object_means(norm: Normalization):
    image, labels = _dim_and_bright()
    table = object_table(labels)
    out = extract_patches(image, labels, table, PatchSpec((16, 16)), norm, norm.image_range(image))
    return [float(out[row, 0][out[row, 1] > 0].mean()) for row in range(len(table))], out


def test_percentile_mode_keeps_brightness_ratio_within_an_image():
    (dim, bright), out = _object_means(Normalization("percentile", low=1.0, high=99.8))
    # low percentile = 0 (background), high percentile = 200 (bright object)
    assert dim == pytest.approx(0.5, abs=1e-6)
    assert bright == pytest.approx(1.0, abs=1e-6)
    assert bright / dim == pytest.approx(2.0, rel=1e-6)
    assert out[:, 0].min() == pytest.approx(0.0, abs=1e-6)  # background stays at 0


def test_patch_minmax_erases_the_brightness_difference():
    (dim, bright), _ = _object_means(Normalization("patch_minmax"))
    assert dim == pytest.approx(1.0, abs=1e-6)
    assert bright == pytest.approx(1.0, abs=1e-6)


def test_none_mode_leaves_values():
    norm = Normalization("none")
    image, _ = _dim_and_bright()
    assert norm.image_range(image) is None
    (dim, bright), _ = _object_means(norm)
    assert (dim, bright) == (100.0, 200.0)


def test_fixed_mode_uses_stored_values():
    norm = Normalization("fixed", fixed_low=(10.0, -5.0), fixed_high=(110.0, 15.0))
    image = np.zeros((2, 4, 4), np.float32)
    lo, hi = norm.image_range(image)
    np.testing.assert_array_equal(lo, [10.0, -5.0])
    np.testing.assert_array_equal(hi, [110.0, 15.0])
    patches = np.array([[[[60.0, 10.0]], [[5.0, 15.0]]]], np.float32)  # (1, 2, 1, 2)
    out = norm.apply(patches, (lo, hi))
    assert out is patches  # in place
    np.testing.assert_allclose(out[0, 0, 0], [0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[0, 1, 0], [0.5, 1.0], atol=1e-6)
    # the same values whatever the image holds
    lo2, hi2 = norm.image_range(np.full((2, 4, 4), 1e6, np.float32))
    np.testing.assert_array_equal(lo2, lo)
    np.testing.assert_array_equal(hi2, hi)


def test_fixed_mode_without_values_raises():
    with pytest.raises(InvalidInputError, match="no stored values"):
        Normalization("fixed").image_range(np.zeros((1, 4, 4)))
    with pytest.raises(InvalidInputError, match="no stored values"):
        Normalization("fixed", fixed_low=(0.0,)).image_range(np.zeros((1, 4, 4)))


def test_fixed_mode_channel_count_mismatch_raises():
    norm = Normalization("fixed", fixed_low=(0.0, 0.0), fixed_high=(1.0, 1.0))
    with pytest.raises(InvalidInputError, match="stores 2 channels, the image has 3"):
        norm.image_range(np.zeros((3, 4, 4)))


def test_unknown_mode_raises():
    with pytest.raises(InvalidInputError, match="'zscore' is unknown"):
        Normalization("zscore")


@pytest.mark.parametrize(("low", "high"), [(50, 50), (60, 40), (-1, 99), (1, 100.5)])
def test_bad_percentiles_raise(low, high):
    with pytest.raises(InvalidInputError, match="percentiles"):
        Normalization("percentile", low=low, high=high)


def test_edge_percentiles_are_allowed():
    assert Normalization(low=0, high=100).high == 100


@pytest.mark.parametrize(
    "norm",
    [
        Normalization(),
        Normalization("patch_minmax", low=2.0, high=98.0),
        Normalization("fixed", fixed_low=(1.5, 2.0), fixed_high=(300.0, 4000.25)),
    ],
)
def test_dict_round_trip_through_json(norm):
    data = json.loads(json.dumps(norm.to_dict()))
    back = Normalization.from_dict(data)
    assert back == norm
    assert back.to_dict() == norm.to_dict()
    if norm.fixed_low is not None:
        assert isinstance(back.fixed_low, tuple)
        assert isinstance(back.fixed_high, tuple)


def test_apply_guards_flat_range():
    patches = np.full((1, 1, 2, 2), 5.0, np.float32)
    lo = np.array([5.0], np.float32)
    out = Normalization().apply(patches, (lo, lo))
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out, 0.0)


def test_channel_percentiles_of_small_image_are_exact():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(2, 30, 40)).astype(np.float32) * [[[1.0]], [[50.0]]]
    lo, hi = channel_percentiles(image.astype(np.float32), 1.0, 99.8)
    for c in range(2):
        expected = np.percentile(image[c].astype(np.float32), [1.0, 99.8])
        np.testing.assert_allclose([lo[c], hi[c]], expected, rtol=1e-5)


def test_flat_channel_gets_unit_range():
    image = np.full((1, 10, 10), 7, np.uint8)
    lo, hi = channel_percentiles(image, 1.0, 99.8)
    assert (lo[0], hi[0]) == (7.0, 8.0)


def test_channel_percentiles_subsample_a_strided_channel_last_view():
    """> 2 M voxels per channel: the subsampled percentiles match the full ones."""
    rng = np.random.default_rng(1)
    base = np.empty((2100, 2100, 3), np.float32)  # 4.4 M voxels per channel
    yy = np.linspace(0, 1, 2100, dtype=np.float32)[:, None]
    base[..., 0] = rng.uniform(0, 1, size=(2100, 2100))
    base[..., 1] = -1.0  # skipped by the stride below
    base[..., 2] = 100 + 400 * yy + rng.normal(0, 10, size=(2100, 2100))
    view = base[:, :, ::2]  # channels 0 and 2, non-contiguous
    image_cf = to_channel_first(view, "YXC")
    assert not image_cf.flags.c_contiguous and np.shares_memory(image_cf, base)
    lo, hi = channel_percentiles(image_cf, 1.0, 99.8)
    for c, source in enumerate([base[..., 0], base[..., 2]]):
        expected_lo, expected_hi = np.percentile(source, [1.0, 99.8])
        spread = expected_hi - expected_lo
        assert abs(lo[c] - expected_lo) < 0.005 * spread
        assert abs(hi[c] - expected_hi) < 0.005 * spread
    assert lo[1] > 50  # channel 2 of the view, never the skipped -1 channel


def test_pooled_percentiles_take_the_median_over_images():
    images = [np.stack([np.arange(101.0) + k, np.arange(101.0) * k])[:, None] for k in (1, 2, 9)]
    lo, hi = pooled_percentiles(images, 10.0, 90.0)
    assert isinstance(lo, tuple) and isinstance(hi, tuple)
    np.testing.assert_allclose(lo, [12.0, 20.0])
    np.testing.assert_allclose(hi, [92.0, 180.0])


# ---------------------------------------------------------------- channel policy
def _stained(extra_blue: int):
    """An RGB (YXC uint8) image whose object (label 5) is a little redder than blue, dark
    nuclei, and ``extra_blue`` pixels of yellow stroma, which lower only the blue range."""
    image = np.full((40, 40, 3), 230, np.uint8)  # white background, as in bright field
    labels = np.zeros((40, 40), np.uint16)
    labels[5:15, 5:15] = 5
    image[labels == 5] = (150, 60, 140)
    image[30:, 30:] = (40, 20, 60)  # dark nuclei, 6 % of the pixels
    image[20:, : extra_blue // 20] = (200, 200, 0)  # yellow stroma: no blue
    return image, labels


def _object_colour(image, labels, norm: Normalization):
    image_cf = to_channel_first(image, "YXC")
    table = object_table(labels)
    spec = PatchSpec((16, 16))
    out = extract_patches(image_cf, labels, table, spec, norm, norm.image_range(image_cf))
    inside = out[0, 3] > 0
    return [float(out[0, c][inside].mean()) for c in range(3)]


@pytest.mark.parametrize("channels", ["joint", "white"])
def test_shared_black_point_keeps_an_objects_colour_that_per_channel_scaling_flips(channels):
    plain, stroma = _stained(0), _stained(400)
    each = Normalization("percentile", 1.0, 99.8)
    shared = Normalization("percentile", 1.0, 99.8, channels=channels)
    # per channel: the object's blue is stretched against each image's own blue range
    r0, _, b0 = _object_colour(*plain, each)
    r1, _, b1 = _object_colour(*stroma, each)
    assert (r0 > b0) != (r1 > b1), "the fixture should flip the colour per channel"
    for image, labels in (plain, stroma):
        r, _, b = _object_colour(image, labels, shared)
        assert r > b  # red stays redder than blue in both images


def test_white_balance_removes_a_colour_cast_that_joint_keeps():
    image, labels = _stained(0)
    cast = (image * np.array([1.0, 0.9, 0.7])).astype(np.uint8)  # a yellowish lamp
    for channels, same in (("white", True), ("joint", False)):
        norm = Normalization("percentile", 1.0, 99.8, channels=channels)
        a, b = _object_colour(image, labels, norm), _object_colour(cast, labels, norm)
        assert np.allclose(a, b, atol=0.02) is same, (channels, a, b)


def test_joint_percentiles_are_those_of_all_channels():
    image = np.random.default_rng(0).integers(0, 255, (3, 30, 30)).astype(np.uint8)
    image[2] //= 4
    lo, hi = channel_percentiles(image, 1.0, 99.0, channels="joint")
    expected = np.percentile(image.astype(np.float32), [1.0, 99.0])
    np.testing.assert_allclose(lo, expected[0])
    np.testing.assert_allclose(hi, expected[1])
    lo_each, _ = channel_percentiles(image, 1.0, 99.0)
    assert lo_each[2] < lo_each[0]  # per channel differs, as it should


def test_white_balance_points():
    """Each channel's own high percentile; one black point on the balanced values."""
    rng = np.random.default_rng(0)
    image = rng.integers(20, 255, (3, 30, 30)).astype(np.uint8)
    image[1] //= 2
    lo, hi = channel_percentiles(image, 1.0, 99.0, channels="white")
    sample = image.reshape(3, -1).astype(np.float32)
    white = np.percentile(sample, 99.0, axis=1)
    np.testing.assert_allclose(hi, white, rtol=1e-6)
    black = np.percentile(sample / white[:, None], 1.0)
    np.testing.assert_allclose(lo, black * white, rtol=1e-5)
    np.testing.assert_allclose(lo / hi, lo[0] / hi[0], rtol=1e-5)  # one black point


def test_white_balance_of_a_dark_or_flat_channel_stays_finite():
    image = np.zeros((3, 8, 8), np.uint8)
    image[0] = 100
    lo, hi = channel_percentiles(image, 1.0, 99.8, channels="white")
    assert np.all(np.isfinite(lo)) and np.all(hi > lo)


@pytest.mark.parametrize(
    ("policy", "dtype", "n_channels", "resolved"),
    [
        ("auto", np.uint8, 3, "white"),  # RGB
        ("auto", np.uint16, 3, "each"),  # three fluorescence channels
        ("auto", np.uint8, 2, "each"),
        ("auto", np.uint8, 1, "each"),
        ("each", np.uint8, 3, "each"),
        ("joint", np.uint16, 2, "joint"),
        ("white", np.uint16, 2, "white"),
    ],
)
def test_channel_policy_resolution(policy, dtype, n_channels, resolved):
    assert resolve_channels(policy, [np.zeros((n_channels, 4, 4), dtype)]) == resolved


def test_auto_is_white_only_when_every_image_is_rgb():
    rgb, grey16 = np.zeros((3, 4, 4), np.uint8), np.zeros((3, 4, 4), np.uint16)
    assert resolve_channels("auto", [rgb, rgb]) == "white"
    assert resolve_channels("auto", [rgb, grey16]) == "each"


def test_unknown_channel_policy_raises():
    with pytest.raises(InvalidInputError, match="channel policy 'rgb'"):
        resolve_channels("rgb", [np.zeros((3, 4, 4), np.uint8)])
    with pytest.raises(InvalidInputError, match="normalization channels 'auto'"):
        Normalization(channels="auto")  # a model stores the resolved policy


@pytest.mark.parametrize(("stored", "channels"), [(None, "each"), (False, "each"), (True, "joint")])
def test_older_model_dicts_read_their_channel_policy(stored, channels):
    old = {"mode": "percentile", "low": 1.0, "high": 99.8, "fixed_low": None, "fixed_high": None}
    if stored is not None:
        old["joint"] = stored  # the flag written before the white policy existed
    assert Normalization.from_dict(old).channels == channels


def _float32_percentiles(image_cf, low, high):
    """The definition: percentiles of each channel's float32 values (no subsampling here)."""
    lo, hi = [], []
    for c in range(image_cf.shape[0]):
        a, b = np.percentile(image_cf[c].astype(np.float32), [low, high])
        lo.append(a)
        hi.append(b if b > a else a + 1.0)
    return np.array(lo, np.float32), np.array(hi, np.float32)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_channel_percentiles_match_float32_to_the_bit_and_leave_the_image(dtype):
    rng = np.random.default_rng(7)
    top = 255 if dtype == np.uint8 else 4000
    for trial in range(40):
        shape = (int(rng.integers(1, 4)), *rng.integers(1, 60, 2))
        image = rng.integers(0, top, shape, endpoint=True).astype(dtype)
        if dtype in (np.float32, np.float64):
            image = image * np.asarray(rng.random(shape), dtype)
        image[0] = image[0].flat[0] if trial % 5 == 0 else image[0]  # a flat channel
        before = image.copy()
        low, high = sorted(rng.uniform(0, 100, 2))
        lo, hi = channel_percentiles(image, low, high)
        want_lo, want_hi = _float32_percentiles(image, low, high)
        assert lo.tobytes() == want_lo.tobytes() and hi.tobytes() == want_hi.tobytes()
        assert np.array_equal(image, before)  # partitioned in place only on a private copy


def _percentiles_by_partition(image_cf, low, high, channels):
    """What channel_percentiles computed before it sorted 8/16-bit samples by counting:
    percentile straight on the image's values (small images: no subsampling)."""
    n = image_cf.shape[0]
    if channels == "white":
        sample = image_cf.reshape(n, -1).astype(np.float32)
        hi = np.percentile(sample, high, axis=1).astype(np.float32)
        white = np.where(hi > 0, hi, 1.0).astype(np.float32)
        lo = (float(np.percentile(sample / white[:, None], low)) * white).astype(np.float32)
    elif channels == "each":
        return _float32_percentiles(image_cf, low, high)
    else:
        a, b = np.percentile(np.array(image_cf), [low, high])  # joint: one range
        lo, hi = np.full(n, a, np.float32), np.full(n, b, np.float32)
    return lo, np.where(hi > lo, hi, lo + 1.0).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from([np.uint8, np.uint16]),
    channels=st.sampled_from(["each", "joint", "white"]),
    n_channels=st.integers(1, 3),
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    top=st.integers(0, 65535),
    low=st.floats(0, 50),
    seed=st.integers(0, 2**16),
)
def test_counted_percentiles_are_those_of_the_values_to_the_bit(
    dtype, channels, n_channels, shape, top, low, seed
):
    """8/16-bit samples are sorted by counting before percentile: the same bits as
    percentile on the image's own order, for every channel policy."""
    top = min(top, np.iinfo(dtype).max)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, top + 1, (*shape, n_channels), endpoint=False).astype(dtype)
    image_cf = to_channel_first(image, "YXC")  # a strided, channel-last view
    got = channel_percentiles(image_cf, low, 99.8, channels=channels)
    expected = _percentiles_by_partition(image_cf, low, 99.8, channels)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(st.integers(0, 50), min_size=1, max_size=40),
    q=st.floats(0, 100),
    q2=st.floats(0, 100),
    scale=st.floats(0.01, 1000),
)
def test_percentile_of_a_histogram_is_numpys_to_the_bit(counts, q, q2, scale):
    """Percentiles are read from histograms: the same bits as numpy's percentile of the
    expanded values, at every q (ends and ties included), for one Python-float q on float32
    levels (white balance) and a list of q on integer levels (8/16-bit, each and joint)."""
    counts = np.array(counts)
    if counts.sum() == 0:
        return
    values = (np.arange(counts.size, dtype=np.float32) / np.float32(scale)).astype(np.float32)
    expected = np.percentile(np.repeat(values, counts), q)
    got = _percentile_of_histogram(values, counts, q)
    assert np.asarray(got).dtype == np.asarray(expected).dtype == np.float32
    assert got == expected
    for dtype in (np.uint8, np.uint16):
        levels = np.arange(counts.size, dtype=dtype)
        expected = np.percentile(np.repeat(levels, counts), [q, q2])
        got = _percentile_of_histogram(levels, counts, [q, q2])
        assert got.dtype == expected.dtype == np.float64
        np.testing.assert_array_equal(got, expected)
