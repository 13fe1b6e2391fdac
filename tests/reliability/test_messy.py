"""``medms predict`` over a messy archive export: every valid series classified, every broken one a failed row
with its typed error, every non-image file a recorded skip, and the process never crashes."""

import csv
import logging

import pytest

from medms.engine import predict
from medms.io import scan_dicom
from medms.testing.messy import FAILED_CASES, OK_CASES, SKIPPED_CASES, write_messy_tree

N_BLOCKS = 2


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_messy_tree(tmp_path_factory.mktemp("messy"), n_blocks=N_BLOCKS)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_tree_has_every_case(tree):
    assert len(tree.ok) == N_BLOCKS * len(OK_CASES) == 10
    assert len(tree.failed) == N_BLOCKS * len(FAILED_CASES) == 16
    assert len(tree.skipped) == N_BLOCKS * len(SKIPPED_CASES) == 22
    assert tree.n_files == 54


def test_scan_records_every_skip_with_its_reason(tree):
    result = scan_dicom(tree.root)
    assert {s.uid for s in result} == set(tree.ok) | set(tree.failed)
    reasons = dict(result.skipped)
    assert set(reasons) == set(tree.skipped)
    for path, (case, expected) in tree.skipped.items():
        assert expected in reasons[path], (case, reasons[path])


def test_predict_on_messy_tree_counts_exactly(tree, checkpoint, tmp_path, caplog):
    out = tmp_path / "pred.csv"
    with caplog.at_level(logging.WARNING):
        summary = predict(checkpoint, [tree.root], out, batch_size=4, num_workers=0, progress=False)
    rows = _rows(out)
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == len(by_id) == 26  # each series exactly once
    assert (summary.ok, summary.failed, summary.not_series) == (10, 16, 22)
    assert {i for i, r in by_id.items() if r["status"] == "ok"} == set(tree.ok)
    assert {i for i, r in by_id.items() if r["status"] == "failed"} == set(tree.failed)
    for uid, (case, error) in tree.failed.items():
        assert by_id[uid]["error"].startswith(f"{error}: "), (case, by_id[uid]["error"])
        assert all(by_id[uid][f"prob_{c}"] == "" for c in ("negative", "positive"))
    for uid in tree.ok:
        probs = [float(by_id[uid][f"prob_{c}"]) for c in ("negative", "positive")]
        assert abs(sum(probs) - 1.0) < 1e-4 and by_id[uid]["error"] == ""
    assert not any("internal error" in r["error"] for r in rows)
    assert sum("failed:" in r.getMessage() for r in caplog.records) == 16
