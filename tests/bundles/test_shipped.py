"""The committed pipelines/ bundles as a MONAI user gets them: no weights, copied anywhere, run as shipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.bundles.conftest import PIPELINES


def _run(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "monai.bundle", "run", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_missing_weights_fail_in_one_line_with_the_command_that_creates_them(tmp_path):
    root = shutil.copytree(PIPELINES / "breastmnist_msresnet50", tmp_path / "bundle")
    (tmp_path / "scans").mkdir()
    proc = _run(
        "--config_file",
        "configs/inference.json",
        "--bundle_root",
        ".",
        "--input_dir",
        str(tmp_path / "scans"),
        cwd=root,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert "models/model.pt is missing" in errors[0]
    assert "python -m monai.bundle run --config_file configs/train.json" in errors[0]
    assert "2-core CPU" in errors[0]  # how long creating them takes


def test_a_copied_bundle_trains_and_keeps_its_metadata_honest(tmp_path):
    root = shutil.copytree(PIPELINES / "breastmnist_msresnet50", tmp_path / "elsewhere" / "bm")
    before = json.loads((root / "configs" / "metadata.json").read_text())
    proc = _run(
        "--config_file",
        str(root / "configs" / "train.json"),
        "--bundle_root",
        str(root),
        "--epochs",
        "1",
        "--limit",
        "16",
        "--batch_size",
        "8",
        "--num_workers",
        "0",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = json.loads((root / "configs" / "metadata.json").read_text())
    run_metrics = json.loads((root / "runs" / "train" / "metrics.json").read_text())
    assert run_metrics["test"]["n"] == 16  # the measured metrics live in the run folder
    # the metadata records the new weights' hash, and no longer claims the published weights' metrics for them
    assert after["medms"]["weights_sha256"] != before["medms"]["weights_sha256"]
    assert before["eval_metrics"] and after["eval_metrics"] == {}
