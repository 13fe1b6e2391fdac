import csv

import numpy as np
import pytest

from medms.engine.data import load_manifest_splits, load_npz_splits, split_items
from medms.errors import ConfigError, LabelError


def test_breastmnist_splits(breastmnist_npz):
    splits, names = load_npz_splits(breastmnist_npz)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [546, 78, 156]
    assert names == ["0", "1"]
    labels = [it["label"] for it in splits["test"]]
    assert labels.count(0) == 42 and labels.count(1) == 114
    assert splits["test"][0]["image"].shape == (28, 28)


def _items(n, groups=True):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        item = {"image": None, "label": int(rng.integers(0, 2)), "id": f"s{i}"}
        if groups:
            item["group"] = f"p{i // 4}"
        out.append(item)
    return out


def test_grouped_split_keeps_patients_together():
    splits = split_items(_items(200), val_fraction=0.15, test_fraction=0.15, seed=1)
    groups = {s: {it["group"] for it in v} for s, v in splits.items()}
    assert (
        not groups["train"] & groups["val"]
        and not groups["train"] & groups["test"]
        and not groups["val"] & groups["test"]
    )
    assert sum(len(v) for v in splits.values()) == 200
    for split in splits.values():  # stratified: both classes everywhere
        assert {it["label"] for it in split} == {0, 1}
    assert 20 <= len(splits["test"]) <= 40


def test_ungrouped_split_sizes_and_determinism():
    a = split_items(_items(100, groups=False), val_fraction=0.2, test_fraction=0.1, seed=3)
    b = split_items(_items(100, groups=False), val_fraction=0.2, test_fraction=0.1, seed=3)
    assert [len(a[s]) for s in ("train", "val", "test")] == [70, 20, 10]
    assert [it["id"] for it in a["val"]] == [it["id"] for it in b["val"]]


def test_single_class_is_an_error():
    items = [{"image": None, "label": 1, "id": str(i)} for i in range(20)]
    with pytest.raises(LabelError, match="single class"):
        split_items(items, val_fraction=0.2, test_fraction=0.2)


def _manifest(tmp_path, rows, header=("path", "label", "split", "patient")):
    for row in rows:
        (tmp_path / row[0]).write_bytes(b"x")
    path = tmp_path / "m.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_explicit_split_with_patient_overlap_is_an_error(tmp_path):
    path = _manifest(
        tmp_path, [("a.nii", "0", "train", "P1"), ("b.nii", "1", "val", "P1"), ("c.nii", "1", "train", "P2")]
    )
    with pytest.raises(ConfigError, match="train/val") as err:
        load_manifest_splits(path, group_column="patient")
    assert "P1" not in str(err.value)  # patient ids are never printed


def test_manifest_missing_file_names_the_row(tmp_path):
    path = _manifest(tmp_path, [("a.nii", "0", "train", "P1")])
    with open(path, "a", newline="") as fh:
        fh.write("missing.nii,1,val,P2\n")
    with pytest.raises(ConfigError, match="row 3: image not found"):
        load_manifest_splits(path, group_column="patient")


def test_manifest_unknown_label(tmp_path):
    path = _manifest(tmp_path, [("a.nii", "benign", "train", "P1"), ("b.nii", "cyst", "val", "P2")])
    with pytest.raises(LabelError, match="'cyst' is not one of"):
        load_manifest_splits(path, class_names=["benign", "malignant"])
