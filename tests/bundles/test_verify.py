"""Bad bundles are refused before any data is read; `medms bundle export` makes a working bundle."""

from __future__ import annotations

import json

import pytest

from medms.bundles import REQUIRED_FILES, open_model, verify_bundle
from medms.cli import main
from medms.engine import predict
from medms.errors import CheckpointError, ConfigError, OutputError
from tests.bundles.conftest import copy_bundle


def _edit_metadata(root, change):
    path = root / "configs" / "metadata.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize("name", REQUIRED_FILES)
def test_missing_file_is_named(trained_bundle2d, tmp_path, name):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    (root / name).unlink()
    with pytest.raises(ConfigError, match=f"{name} is missing"):
        verify_bundle(root)


def test_missing_weights_say_how_to_make_them(trained_bundle2d, tmp_path):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    (root / "models" / "model.pt").unlink()
    with pytest.raises(CheckpointError, match=r"models/model.pt is missing.*train.json"):
        verify_bundle(root)


@pytest.mark.parametrize("key", ["task", "network_data_format", "monai_version"])
def test_missing_metadata_key_is_named(trained_bundle2d, tmp_path, key):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    _edit_metadata(root, lambda m: m.pop(key))
    with pytest.raises(ConfigError, match=rf"metadata.json: '{key}' is a required property"):
        verify_bundle(root)


def test_missing_nested_metadata_key_is_named(trained_bundle2d, tmp_path):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    _edit_metadata(root, lambda m: m["network_data_format"]["inputs"]["image"].pop("num_channels"))
    with pytest.raises(
        ConfigError, match=r"'num_channels' is a required property \(at network_data_format#inputs#image\)"
    ):
        verify_bundle(root)


@pytest.mark.parametrize("config", ["train.json", "inference.json", "evaluate.json"])
def test_config_disagreeing_with_metadata_is_refused(trained_bundle2d, tmp_path, config):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    path = root / "configs" / config
    data = json.loads(path.read_text())
    data["preset_options"] = {"spatial_size": 64}
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=rf"{config}: preset_options .* differs from configs/metadata.json"):
        verify_bundle(root)


def test_sha256_mismatch_is_refused_before_any_data(trained_bundle2d, tmp_path):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    _edit_metadata(root, lambda m: m["medms"].update(weights_sha256="0" * 64))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        predict(open_model(root), [tmp_path / "no-such-input"], tmp_path / "p.csv", progress=False)
    assert not (tmp_path / "p.csv").exists()


def test_unrecorded_sha256_is_refused(trained_bundle2d, tmp_path):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    _edit_metadata(root, lambda m: m["medms"].update(weights_sha256=None))
    with pytest.raises(CheckpointError, match="records no sha256"):
        verify_bundle(root)


def test_bundle_for_another_input_shape_is_refused_before_any_data(trained_bundle2d, tmp_path, capsys):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    _edit_metadata(
        root, lambda m: m["network_data_format"]["inputs"]["image"].update(spatial_shape=[32, 32, 32])
    )
    code = main(
        [
            "predict",
            "--model",
            str(root),
            "--input",
            str(tmp_path / "missing"),
            "--output",
            str(tmp_path / "p.csv"),
            "--workers",
            "0",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "makes [32, 32] inputs but the bundle declares spatial_shape [32, 32, 32]" in err
    assert not (tmp_path / "p.csv").exists()


def test_network_not_accepting_the_declared_input_is_refused(trained_bundle2d, tmp_path):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    _edit_metadata(root, lambda m: m["network_data_format"]["inputs"]["image"].update(num_channels=3))
    with pytest.raises(CheckpointError, match=r"does not accept the declared input \(1, 3, 32, 32\)"):
        verify_bundle(root)


def test_bundle_declaring_other_classes_is_refused(trained_bundle2d, tmp_path):
    root = copy_bundle(trained_bundle2d, tmp_path / "b")
    _edit_metadata(root, lambda m: m["network_data_format"]["outputs"]["pred"].update(num_channels=3))
    with pytest.raises(CheckpointError, match="bundle declares 3 classes"):
        verify_bundle(root)


def test_cli_bundle_export_from_a_train_run(trained_bundle2d, scans2d, tmp_path, capsys):
    run = trained_bundle2d / "runs" / "train"
    out = tmp_path / "exported"
    assert main(["bundle", "export", str(run), "--output", str(out), "--name", "my model"]) == 0
    info = verify_bundle(out)
    meta = info.metadata
    assert meta["name"] == "my model" and meta["medms"]["preprocessing"]["options"] == {"spatial_size": 32}
    assert meta["eval_metrics"]["test_auc"]["value"] == pytest.approx(
        json.loads((run / "metrics.json").read_text())["test"]["auc"]["value"]
    )
    assert main(["bundle", "verify", str(out)]) == 0
    assert "bundle verified" in capsys.readouterr().out
    # a second export into the same folder is refused without --overwrite
    assert main(["bundle", "export", str(run), "--output", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    with pytest.raises(OutputError):
        from medms.bundles import export_bundle

        export_bundle(run, out)
