"""The bundles run with ``python -m monai.bundle`` (subprocess) and agree with the medms API and CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from medms.bundles import verify_bundle
from medms.checkpoint import build_model, load_checkpoint
from medms.cli import main
from medms.engine import predict
from medms.networks.weights import sha256_file
from tests._tolerance import assert_close_model
from tests.bundles.conftest import monai_bundle


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_train_config_installs_verified_weights(trained_bundle2d):
    meta = json.loads((trained_bundle2d / "configs" / "metadata.json").read_text())
    weights = trained_bundle2d / "models" / "model.pt"
    assert meta["medms"]["weights_sha256"] == sha256_file(weights)
    # measured on the (limited) test split by medms train; kept in the run folder, not the tracked metadata
    run_metrics = json.loads((trained_bundle2d / "runs" / "train" / "metrics.json").read_text())
    assert run_metrics["test"]["n"] == 16
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
        assert_close_model(scripted(x), eager(x), eager)
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
    """The 3D CT bundle at 32³, trained for one epoch by its own configs/train.json on eight phantom CT series
    (four with lesions) listed in a manifest with explicit splits."""
    from medms.synthetic import write_ct_phantom

    base = tmp_path_factory.mktemp("bundle3d")
    root = base / "ct_msresnet50_3d"
    spec = build_module.ct_spec(spatial_size=32, pixdim=4.0, denoise="none")
    build_module.build("ct_msresnet50_3d", root, spec)
    rows = ["path,label,split"]
    for i, split in enumerate(["train", "train", "train", "train", "val", "val", "test", "test"]):
        label = "lesion" if i % 2 else "no_lesion"
        write_ct_phantom(
            base / "ct" / f"s{i}",
            shape=(40, 40, 10),
            spacing=(2.0, 2.0, 4.0),
            seed=i,
            **({} if label == "lesion" else {"lesions": ()}),
        )
        rows.append(f"ct/s{i},{label},{split}")
    (base / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    monai_bundle(
        "run",
        "--config_file",
        str(root / "configs" / "train.json"),
        "--bundle_root",
        str(root),
        "--data#manifest",
        str(base / "manifest.csv"),
        "--epochs",
        "1",
        "--batch_size",
        "2",
        "--num_workers",
        "0",
    )
    return root


def test_3d_train_config_installs_verified_weights(bundle3d):
    meta = json.loads((bundle3d / "configs" / "metadata.json").read_text())
    assert meta["medms"]["weights_sha256"] == sha256_file(bundle3d / "models" / "model.pt")
    assert json.loads((bundle3d / "runs" / "train" / "metrics.json").read_text())["test"]["n"] == 2
    ckpt = load_checkpoint(bundle3d / "models" / "model.pt")
    assert ckpt["model"]["options"]["spatial_dims"] == 3
    assert verify_bundle(bundle3d).sha256 == meta["medms"]["weights_sha256"]


def test_3d_inference_config_on_ct_series(bundle3d, tmp_path):
    from medms.synthetic import write_ct_phantom

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


def _infer_workflow(bundle, config, input_dir, output_dir):
    """MONAI's ``ConfigWorkflow`` on a bundle config, as an inference workflow, initialised."""
    from monai.bundle import ConfigWorkflow

    workflow = ConfigWorkflow(
        config_file=str(bundle / "configs" / config),
        workflow_type="infer",
        bundle_root=str(bundle),
        input_dir=str(input_dir),
        output_dir=str(output_dir),
        num_workers=0,
    )
    workflow.initialize()
    return workflow


@pytest.mark.parametrize("config", ["inference.json", "evaluate.json"])
def test_configs_have_monai_inference_workflow_properties(trained_bundle2d, scans2d, config, tmp_path):
    workflow = _infer_workflow(trained_bundle2d, config, scans2d[0], tmp_path)
    assert workflow.check_properties() == []
    dataset = workflow.dataset
    assert len(dataset) == 6
    item = dataset[0]
    assert tuple(item["image"].shape) == (1, 32, 32)  # the bundle's preprocessing, declared input shape
    assert item["id"].startswith("1.2.826.0.1.3680043.10.997.")


def test_config_workflow_run_in_python_equals_the_api(trained_bundle2d, scans2d, api_rows, tmp_path):
    workflow = _infer_workflow(trained_bundle2d, "inference.json", scans2d[0], tmp_path)
    workflow.run()
    assert _rows(tmp_path / "predictions.csv") == api_rows
    # the workflow's own network_def holds the bundle's weights after the run
    ckpt = load_checkpoint(trained_bundle2d / "models" / "model.pt")
    for name, value in workflow.network_def.state_dict().items():
        torch.testing.assert_close(value, ckpt["state_dict"][name])


def test_dataset_of_a_missing_folder_is_a_typed_error(trained_bundle2d, tmp_path):
    from medms.errors import SeriesSelectionError

    workflow = _infer_workflow(trained_bundle2d, "inference.json", tmp_path / "nowhere", tmp_path / "out")
    assert workflow.check_properties() == []  # checking the workflow reads no data
    with pytest.raises(RuntimeError) as info:  # MONAI wraps errors raised inside config expressions
        workflow.run()
    assert isinstance(info.value.__cause__, SeriesSelectionError)
    assert "nowhere: input not found" in str(info.value.__cause__)
    assert not (tmp_path / "out" / "predictions.csv").exists()


def test_cli_predict_reads_hashes_and_builds_a_bundle_once(trained_bundle2d, scans2d, tmp_path, monkeypatch):
    import medms.checkpoint as checkpoint_module

    counts = {"hash": 0, "load": 0, "build": 0}

    def counting(key, fn):
        def wrapper(*args, **kwargs):
            counts[key] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(checkpoint_module, "sha256_file", counting("hash", checkpoint_module.sha256_file))
    monkeypatch.setattr(
        checkpoint_module, "load_torch_file", counting("load", checkpoint_module.load_torch_file)
    )
    spec_cls = checkpoint_module.CheckpointSpec
    monkeypatch.setattr(spec_cls, "build_network", counting("build", spec_cls.build_network))
    dicom, _ = scans2d
    args = [
        "predict",
        "--model",
        str(trained_bundle2d),
        "--input",
        str(dicom),
        "--output",
        str(tmp_path / "p.csv"),
    ]
    assert main([*args, "--workers", "0", "--no-progress"]) == 0
    assert counts == {"hash": 1, "load": 1, "build": 1}
