import csv
import json
import os
import re
import subprocess
import sys

import pytest
import torch

from medms.checkpoint import load_checkpoint
from medms.config import TrainConfig
from medms.engine import train
from medms.errors import LabelError, OutputError


def epochs_logged(run_dir):
    with open(run_dir / "metrics.csv", newline="") as fh:
        return [int(r["epoch"]) for r in csv.DictReader(fh)]


def tiny_config(npz, **train_options):
    return TrainConfig.from_dict(
        {
            "data": {"npz": str(npz), "limit": 24, "class_names": ["malignant", "benign"]},
            "preprocessing": {"preset": "medmnist", "options": {"spatial_size": 32}},
            "model": {"name": "multiscale_resnet50", "options": {}},
            "train": {"epochs": 1, "batch_size": 8, "num_workers": 0, "seed": 7, **train_options},
        }
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory, breastmnist_npz):
    out = tmp_path_factory.mktemp("run")
    return train(tiny_config(breastmnist_npz, epochs=2), out, progress=False)


def test_run_folder_contents(run):
    out = run.output
    for name in (
        "best.pt",
        "last.pt",
        "best.pt.sha256",
        "metrics.csv",
        "split.csv",
        "config.json",
        "run_manifest.json",
        "test_predictions.csv",
        "test_labels.csv",
        "metrics.json",
    ):
        assert (out / name).is_file(), name
    assert epochs_logged(out) == [1, 2]
    with open(out / "metrics.csv", newline="") as fh:
        assert all(0.0 <= float(r["val_auc"]) <= 1.0 for r in csv.DictReader(fh))
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["weights_sha256"] == run.sha256 == load_checkpoint(out / "best.pt")["sha256"]
    assert manifest["seed"] == 7 and manifest["environment"]["torch"] == torch.__version__
    ckpt = load_checkpoint(out / "best.pt")
    assert ckpt["class_names"] == ["malignant", "benign"] and ckpt["temperature"] > 0
    assert ckpt["preprocessing"] == {"preset": "medmnist", "options": {"spatial_size": 32}}
    with open(out / "test_predictions.csv", newline="") as fh:
        preds = list(csv.DictReader(fh))
    assert len(preds) == 24 and all(r["status"] == "ok" for r in preds)
    assert all(abs(float(r["prob_malignant"]) + float(r["prob_benign"]) - 1) < 1e-5 for r in preds)


def test_interrupted_and_resumed_run_matches_a_straight_run_exactly(run, tmp_path, breastmnist_npz):
    cfg = tiny_config(breastmnist_npz, epochs=2)
    train(cfg, tmp_path, progress=False, epochs_this_call=1)
    assert epochs_logged(tmp_path) == [1]
    resumed = train(cfg, tmp_path, resume=True, progress=False)
    assert epochs_logged(tmp_path) == [1, 2]
    # same seed on CPU → same weights, also across an interruption
    a = load_checkpoint(run.last_checkpoint)["state_dict"]
    b = load_checkpoint(resumed.last_checkpoint)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_existing_output_is_not_overwritten(run, breastmnist_npz):
    before = (run.output / "best.pt").read_bytes()
    with pytest.raises(OutputError, match="not empty"):
        train(tiny_config(breastmnist_npz), run.output, progress=False)
    assert (run.output / "best.pt").read_bytes() == before


def test_unwritable_output(tmp_path, breastmnist_npz):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(OutputError):
        train(tiny_config(breastmnist_npz), target / "sub", progress=False)


def test_single_class_labels(tmp_path):
    import numpy as np

    npz = tmp_path / "one.npz"
    imgs = np.zeros((10, 28, 28), np.uint8)
    np.savez(
        npz,
        **{f"{s}_images": imgs for s in ("train", "val", "test")},
        **{f"{s}_labels": np.ones(10, np.uint8) for s in ("train", "val", "test")},
    )
    with pytest.raises(LabelError, match="single class"):
        train(TrainConfig.from_dict({"data": {"npz": str(npz)}}), tmp_path / "out", progress=False)


@pytest.mark.slow
def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path, breastmnist_npz):
    cfg = tiny_config(breastmnist_npz).to_dict()
    cfg["train"]["device"] = "cpu"
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29533",
        "-m",
        "medms.cli",
        "train",
        "--config",
        str(cfg_path),
        "--output",
        str(tmp_path / "run"),
        "--no-progress",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hashes = dict(re.findall(r"rank (\d) final weights sha256 ([0-9a-f]{64})", proc.stderr + proc.stdout))
    assert set(hashes) == {"0", "1"}, proc.stderr[-3000:]
    assert hashes["0"] == hashes["1"]
    assert (tmp_path / "run" / "best.pt").is_file()
