"""The bundles run with ``python -m monai.bundle`` (subprocess) and agree with the medms API and CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from medms.bundles import verify_bundle
from medms.cli import main
from medms.engine import build_model, load_checkpoint, predict, save_checkpoint
from medms.networks.weights import sha256_file
from tests.bundles.conftest import monai_bundle


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_train_config_installs_verified_weights(trained_bundle2d):
    meta = json.loads((trained_bundle2d / "configs" / "metadata.json").read_text())
    weights = trained_bundle2d / "models" / "model.pt"
    assert meta["medms"]["weights_sha256"] == sha256_file(weights)
    assert meta["eval_metrics"]["test_n"] == 16  # measured on the (limited) test split by medms train
    assert (trained_bundle2d / "runs" / "train" / "metrics.csv").is_file()
    ckpt = load_checkpoint(weights)
    assert ckpt["preprocessing"] == {"preset": "medmnist", "options": {"spatial_size": 32}}
    assert verify_bundle(trained_bundle2d).sha256 == meta["medms"]["weights_sha256"]


@pytest.fixture(scope="module")
def api_rows(trained_bundle2d, scans2d, tmp_path_factory):
    """What ``medms.engine.predict`` writes for the scans with the bundle's weights file."""
    out = tmp_path_factory.mktemp("api") / "api.csv"
    predict(trained_bundle2d / "models" / "model.pt", [scans2d[0]], out, num_workers=0, progress=False)
    return _rows(out)


def test_inference_config_writes_the_predict_csv(trained_bundle2d, scans2d, api_rows, tmp_path):
    dicom, _ = scans2d
    out = tmp_path / "bundle_out"
    monai_bundle(
        "run",
        "--config_file",
        str(trained_bundle2d / "configs" / "inference.json"),
        "--bundle_root",
        str(trained_bundle2d),
        "--input_dir",
        str(dicom),
        "--output_dir",
        str(out),
        "--num_workers",
        "0",
    )
    bundle_rows = _rows(out / "predictions.csv")
    assert len(bundle_rows) == 6
    assert bundle_rows == api_rows  # same columns, ids, probabilities, predicted class
    card = json.loads((out / "predictions.meta.json").read_text())
    assert card["weights_sha256"] == sha256_file(trained_bundle2d / "models" / "model.pt")


def test_evaluate_config_writes_the_medms_report(trained_bundle2d, scans2d, tmp_path):
    dicom, labels = scans2d
    out = tmp_path / "eval"
    monai_bundle(
        "run",
        "--config_file",
        str(trained_bundle2d / "configs" / "evaluate.json"),
        "--bundle_root",
        str(trained_bundle2d),
        "--input_dir",
        str(dicom),
        "--labels_file",
        str(labels),
        "--output_dir",
        str(out),
        "--n_bootstrap",
        "50",
        "--num_workers",
        "0",
    )
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["metrics"]["n"] == 6
    assert {p.name for p in (out / "report").iterdir()} >= {"report.html", "report.json", "report.md"}
    assert sha256_file(trained_bundle2d / "models" / "model.pt") in (out / "report" / "report.md").read_text()


def test_ckpt_export_torchscript_matches_eager(trained_bundle2d, tmp_path):
    ts_path = tmp_path / "model.ts"
    configs = trained_bundle2d / "configs"
    monai_bundle(
        "ckpt_export",
        "network_def",
        "--filepath",
        str(ts_path),
        "--ckpt_file",
        str(trained_bundle2d / "models" / "model.pt"),
        "--meta_file",
        str(configs / "metadata.json"),
        "--config_file",
        str(configs / "inference.json"),
        "--key_in_ckpt",
        "state_dict",
        "--use_trace",
        "True",
        "--converter_kwargs",
        "{'check_trace': False}",  # compared against eager below instead
    )
    eager = build_model(load_checkpoint(trained_bundle2d / "models" / "model.pt"))
    scripted = torch.jit.load(str(ts_path))
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), eager(x), rtol=1e-4, atol=1e-5)
    extra = {"metadata.json": "", "inference.json": ""}
    torch.jit.load(str(ts_path), _extra_files=extra)
    assert json.loads(extra["metadata.json"])["network_data_format"]["inputs"]["image"]["spatial_shape"] == [
        32,
        32,
    ]


def test_verify_net_in_out(trained_bundle2d):
    configs = trained_bundle2d / "configs"
    proc = monai_bundle(
        "verify_net_in_out",
        "network_def",
        "--meta_file",
        str(configs / "metadata.json"),
        "--config_file",
        str(configs / "inference.json"),
        "--device",
        "cpu",
    )
    assert "verified with no error" in proc.stdout + proc.stderr


def test_cli_predict_accepts_a_bundle(trained_bundle2d, scans2d, api_rows, tmp_path, capsys):
    dicom, _ = scans2d
    code = main(
        [
            "predict",
            "--model",
            str(trained_bundle2d),
            "--input",
            str(dicom),
            "--output",
            str(tmp_path / "p.csv"),
            "--workers",
            "0",
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert _rows(tmp_path / "p.csv") == api_rows


@pytest.fixture(scope="module")
def bundle3d(tmp_path_factory, build_module):
    """The 3D CT bundle at 32³ with an untrained network's weights installed (sha256 in the metadata)."""
    from medms.networks import build_network

    root = tmp_path_factory.mktemp("bundle3d") / "ct_msresnet50_3d"
    spec = build_module.ct_spec(spatial_size=32, pixdim=4.0, denoise="none")
    torch.manual_seed(0)
    model = build_network(spec.network, **spec.network_options)
    spec.weights_sha256 = save_checkpoint(
        {
            "model": {"name": spec.network, "options": spec.network_options},
            "preprocessing": {"preset": spec.preset, "options": spec.preset_options},
            "class_names": spec.class_names,
            "state_dict": model.state_dict(),
        },
        root.parent / "model.pt",
    )
    build_module.build("ct_msresnet50_3d", root, spec)
    (root.parent / "model.pt").rename(root / "models" / "model.pt")
    return root


def test_3d_inference_config_on_ct_series(bundle3d, tmp_path):
    from medms.sample_data import write_ct_phantom

    for i in range(2):
        write_ct_phantom(tmp_path / "ct" / f"series{i}", shape=(40, 40, 10), spacing=(2.0, 2.0, 4.0), seed=i)
    monai_bundle(
        "run",
        "--config_file",
        str(bundle3d / "configs" / "inference.json"),
        "--bundle_root",
        str(bundle3d),
        "--input_dir",
        str(tmp_path / "ct"),
        "--output_dir",
        str(tmp_path / "out"),
        "--num_workers",
        "0",
    )
    rows = _rows(tmp_path / "out" / "predictions.csv")
    assert [r["status"] for r in rows] == ["ok", "ok"]
    probs = np.array([[float(r["prob_no_lesion"]), float(r["prob_lesion"])] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert list(rows[0]) == ["id", "source", "prob_no_lesion", "prob_lesion", "predicted", "status", "error"]
