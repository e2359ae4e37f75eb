"""Prediction: maps painted from per-object values, class masks, columns, suggestions, CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phenosort.errors import InvalidInputError
from phenosort.objects.table import LabelIndex, object_table
from phenosort.results import Prediction, write_table_csv

NAMES = ["dim", "bright", "striped"]
IDS = [3, 7, 42, 1000, 65_000]
PROBS = np.array(
    [
        [0.7, 0.2, 0.1],  # 3 -> dim, margin 0.5
        [0.1, 0.5, 0.4],  # 7 -> bright, margin 0.1
        [0.3, 0.3, 0.4],  # 42 -> striped, margin 0.1
        [0.45, 0.4, 0.15],  # 1000 -> dim, margin 0.05
        [0.05, 0.9, 0.05],  # 65000 -> bright, margin 0.85
    ],
    np.float32,
)


def _labels(ids=IDS, dtype=np.uint16, shape=(12, 14), seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.asarray(ids, np.int64), size=shape).astype(dtype)
    labels[rng.random(shape) < 0.4] = 0
    for k, i in enumerate(ids):  # every ID present at least once
        labels[k, 0] = i
    return labels


def _prediction(labels, probs=PROBS, rows=None, in_training=None):
    table = object_table(labels)
    if rows is not None:
        table, probs = table.subset(rows), probs[rows]
    trained = np.zeros(len(table), bool) if in_training is None else np.asarray(in_training)
    return Prediction(probs, list(NAMES), trained, table, LabelIndex.of(labels))


def _brute_map(labels, ids, values, dtype):
    out = np.zeros(labels.shape, dtype)
    for y in range(labels.shape[0]):
        for x in range(labels.shape[1]):
            v = int(labels[y, x])
            if v in ids:
                out[y, x] = values[ids.index(v)]
    return out


def test_per_object_properties():
    pred = _prediction(_labels())
    assert pred.label_id.tolist() == IDS
    assert pred.class_index.tolist() == [1, 2, 3, 1, 2]
    np.testing.assert_allclose(pred.confidence, [0.7, 0.5, 0.4, 0.45, 0.9])
    np.testing.assert_allclose(pred.margin, [0.5, 0.1, 0.1, 0.05, 0.85], atol=1e-6)
    expected_entropy = [-sum(p * np.log(p) for p in row) for row in PROBS.astype(float)]
    np.testing.assert_allclose(pred.entropy, expected_entropy, rtol=1e-5)


def test_class_map_equals_brute_force_loop():
    labels = _labels()
    classes = _prediction(labels).class_map()
    assert classes.dtype == np.uint8
    np.testing.assert_array_equal(classes, _brute_map(labels, IDS, [1, 2, 3, 1, 2], np.uint8))


def test_confidence_map():
    labels = _labels()
    conf = _prediction(labels).confidence_map()
    assert conf.dtype == np.float32
    expected = _brute_map(labels, IDS, [0.7, 0.5, 0.4, 0.45, 0.9], np.float32)
    np.testing.assert_array_equal(conf, expected)
    assert np.all(conf[labels == 0] == 0)


def test_subset_prediction_leaves_other_objects_zero():
    labels = _labels()
    pred = _prediction(labels, rows=np.array([1, 3]))
    assert pred.label_id.tolist() == [7, 1000]
    expected = _brute_map(labels, [7, 1000], [2, 1], np.uint8)
    np.testing.assert_array_equal(pred.class_map(), expected)
    conf = pred.confidence_map()
    np.testing.assert_array_equal(conf, _brute_map(labels, [7, 1000], [0.5, 0.45], np.float32))
    masks = pred.class_masks()
    np.testing.assert_array_equal(masks["dim"], np.where(labels == 1000, labels, 0))
    np.testing.assert_array_equal(masks["bright"], np.where(labels == 7, labels, 0))
    assert not masks["striped"].any()


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.uint32])
def test_class_masks_keep_original_ids(dtype):
    labels = _labels(dtype=dtype)
    before = labels.copy()
    masks = _prediction(labels).class_masks()
    assert list(masks) == NAMES
    expected_ids = {"dim": [3, 1000], "bright": [7, 65_000], "striped": [42]}
    for name, ids in expected_ids.items():
        assert masks[name].dtype == labels.dtype
        np.testing.assert_array_equal(masks[name], np.where(np.isin(labels, ids), labels, 0))
    np.testing.assert_array_equal(labels, before)


def test_class_masks_with_huge_ids_keep_them_exactly():
    ids = [5, 123_456_789, 4_000_000_000, 4_294_967_294, 4_294_967_295]
    labels = _labels(ids=ids, dtype=np.uint32)
    pred = _prediction(labels)
    assert not pred.index.direct
    assert pred.label_id.tolist() == ids
    classes = pred.class_map()
    np.testing.assert_array_equal(classes, _brute_map(labels, ids, [1, 2, 3, 1, 2], np.uint8))
    masks = pred.class_masks()
    expected_ids = {"dim": [5, 4_294_967_294], "bright": [123_456_789, 4_294_967_295]}
    expected_ids["striped"] = [4_000_000_000]
    for name, keep in expected_ids.items():
        assert masks[name].dtype == np.uint32
        np.testing.assert_array_equal(masks[name], np.where(np.isin(labels, keep), labels, 0))
    # subset on the compact path: unpredicted objects stay 0 in every mask
    sub = _prediction(labels, rows=np.array([4]))
    sub_masks = sub.class_masks()
    np.testing.assert_array_equal(sub_masks["bright"], np.where(labels == ids[4], labels, 0))
    assert not sub_masks["dim"].any() and not sub_masks["striped"].any()


def test_class_map_uses_uint16_beyond_255_classes():
    labels = np.zeros((3, 3), np.uint16)
    labels[1, 1] = 9
    probs = np.zeros((1, 300), np.float32)
    probs[0, 280] = 1.0
    names = [f"c{k}" for k in range(300)]
    pred = Prediction(probs, names, np.zeros(1, bool), object_table(labels), LabelIndex.of(labels))
    classes = pred.class_map()
    assert classes.dtype == np.uint16
    assert classes[1, 1] == 281 and classes.sum() == 281


def test_columns_2d_and_3d():
    labels = _labels()
    pred = _prediction(labels, in_training=[False, True, False, False, False])
    cols = pred.columns()
    assert list(cols) == [
        "label", "class", "class_name", "p_dim", "p_bright", "p_striped", "confidence",
        "margin", "entropy", "in_training_set", "centroid_y", "centroid_x",
        "bbox_y0", "bbox_y1", "bbox_x0", "bbox_x1", "size",
    ]  # fmt: skip
    assert cols["class_name"].tolist() == ["dim", "bright", "striped", "dim", "bright"]
    np.testing.assert_array_equal(cols["p_bright"], PROBS[:, 1])
    assert cols["in_training_set"].tolist() == [False, True, False, False, False]
    for k, i in enumerate(IDS):
        coords = np.argwhere(labels == i)
        assert cols["size"][k] == len(coords)
        assert cols["centroid_y"][k] == pytest.approx(coords[:, 0].mean())
        assert cols["bbox_x0"][k] == coords[:, 1].min()
        assert cols["bbox_x1"][k] == coords[:, 1].max() + 1
    labels3 = np.zeros((2, 3, 4), np.uint8)
    labels3[1, 2, 3] = 4
    pred3 = Prediction(
        PROBS[:1], list(NAMES), np.zeros(1, bool), object_table(labels3), LabelIndex.of(labels3)
    )
    cols3 = pred3.columns()
    assert [cols3[f"centroid_{a}"][0] for a in "zyx"] == [1.0, 2.0, 3.0]
    assert [cols3[f"bbox_{a}1"][0] for a in "zyx"] == [2, 3, 4]


def test_suggest_lowest_margin_spread_over_classes():
    pred = _prediction(_labels())
    # depth 0: dim 1000 (0.05), bright 7 (0.1), striped 42 (0.1); depth 1: dim 3, bright 65000
    assert pred.suggest(3).tolist()[0] == 1000
    assert sorted(pred.suggest(3).tolist()) == [7, 42, 1000]
    assert pred.suggest(4).tolist()[3] == 3
    assert pred.suggest(10).tolist()[3:] == [3, 65_000]
    assert pred.suggest(0).tolist() == []
    with pytest.raises(InvalidInputError, match="n must be"):
        pred.suggest(-1)


def test_suggest_spreads_before_taking_a_second_of_one_class():
    probs = np.array([[0.5, 0.5, 0.0], [0.51, 0.49, 0.0], [0.52, 0.48, 0.0], [0.0, 0.1, 0.9]])
    labels = _labels(ids=[2, 4, 6, 8])
    pred = _prediction(labels, probs=probs.astype(np.float32))
    # IDs 2, 4, 6 are all more ambiguous than 8 but all predicted 'dim'
    assert pred.suggest(2).tolist() == [2, 8]
    assert pred.suggest(4).tolist() == [2, 8, 4, 6]


def test_suggest_skips_training_objects_and_excluded():
    pred = _prediction(_labels(), in_training=[False, False, False, True, False])
    picked = pred.suggest(10, exclude=np.array([42, 999_999])).tolist()
    assert picked == [7, 3, 65_000]
    assert pred.suggest(10, exclude=[7, 3, 42, 65_000]).tolist() == []


def test_write_table_csv_refuses_to_overwrite(tmp_path):
    pred = _prediction(_labels(), rows=np.array([0, 2]))
    cols = {"image": "a.tif", **pred.columns()}
    path = write_table_csv(tmp_path / "sub" / "objects.csv", [cols])
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(cols)
    assert [r[0] for r in rows[1:]] == ["a.tif", "a.tif"]
    assert [r[1] for r in rows[1:]] == ["3", "42"]
    assert rows[1][rows[0].index("in_training_set")] == "false"
    assert rows[1][rows[0].index("p_dim")] == "0.7"
    before = path.read_bytes()
    with pytest.raises(InvalidInputError, match="already exists"):
        write_table_csv(path, [cols])
    assert path.read_bytes() == before
    write_table_csv(path, [cols, cols], overwrite=True)
    assert len(path.read_text().splitlines()) == 5


def test_write_table_csv_scalar_first_column_keeps_all_rows(tmp_path):
    path = write_table_csv(tmp_path / "t.csv", [{"image": "a", "label": np.array([1, 2, 3])}])
    assert path.read_text().splitlines() == ["image,label", "a,1", "a,2", "a,3"]


_texts = st.text(alphabet=st.sampled_from(list('ab ,"%\r\n\té')), max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 4),
    scalar=_texts,
    floats=st.lists(st.floats(width=32), min_size=4, max_size=4),
    names=st.lists(_texts, min_size=4, max_size=4),
    flags=st.lists(st.booleans(), min_size=4, max_size=4),
    ids=st.lists(st.integers(0, 2**63 - 1), min_size=4, max_size=4),
)
def test_write_table_csv_writes_what_the_csv_module_writes(
    tmp_path_factory, n, scalar, floats, names, flags, ids
):
    """The table is written with one format per row; its text is the csv module's for the
    same fields: quotes, commas, line breaks and % in names, NaN and infinities."""
    cols = {
        "im,age": scalar,
        "label": np.array(ids[:n], np.uint64),
        "class_name": np.array(names[:n], dtype=object),
        "p": np.array(floats[:n], np.float32),
        "in_training_set": np.array(flags[:n]),
    }
    path = write_table_csv(tmp_path_factory.mktemp("t") / "t.csv", [cols, cols])
    expected = io.StringIO(newline="")
    writer = csv.writer(expected)
    writer.writerow(list(cols))
    rows = [[scalar, str(i), str(name), f"{p:.6g}", "true" if flag else "false"]
            for i, name, p, flag in zip(ids[:n], names[:n], floats[:n], flags[:n])]  # fmt: skip
    writer.writerows(rows * 2)
    assert path.read_bytes().decode() == expected.getvalue()
