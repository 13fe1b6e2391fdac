"""The committed bundles in pipelines/: complete, schema-valid metadata, configs generated from one spec."""

from __future__ import annotations

import json

import pytest
from monai.bundle import verify_metadata, verify_net_in_out

from medms.bundles import REQUIRED_FILES, load_schema, validate_metadata, verify_bundle
from medms.bundles.layout import METADATA_SCHEMA_URL
from medms.errors import ConfigError
from tests.bundles.conftest import PIPELINES

BUNDLES = ["breastmnist_msresnet50", "ct_msresnet50_3d"]
SCHEMA = PIPELINES.parent / "medms" / "bundles" / "meta_schema_20240725.json"


@pytest.mark.parametrize("name", BUNDLES)
def test_bundle_files_and_metadata(name):
    root = PIPELINES / name
    for rel in (*REQUIRED_FILES, "models/README.md"):
        assert (root / rel).is_file(), rel
    assert (
        "Apache License" in (root / "LICENSE").read_text() and "Version 2.0" in (root / "LICENSE").read_text()
    )
    meta = json.loads((root / "configs" / "metadata.json").read_text())
    validate_metadata(meta)
    assert meta["schema"] == METADATA_SCHEMA_URL
    assert "not for diagnostic use" in meta["intended_use"]
    verify_bundle(root, check_weights=False)  # everything but the (uncommitted) weights


@pytest.mark.parametrize("name", BUNDLES)
def test_monai_verify_metadata_with_the_vendored_schema(name):
    # MONAI's own verifier, offline: the schema file exists, so nothing is downloaded
    verify_metadata(meta_file=str(PIPELINES / name / "configs" / "metadata.json"), filepath=str(SCHEMA))


@pytest.mark.parametrize("name", BUNDLES)
def test_configs_are_generated_from_the_spec(name, build_module, tmp_path):
    fresh = build_module.build(name, tmp_path / name)
    for rel in (
        "configs/train.json",
        "configs/inference.json",
        "configs/evaluate.json",
        "configs/logging.conf",
        "docs/README.md",
        "models/README.md",
        "LICENSE",
    ):
        assert (fresh / rel).read_text() == (PIPELINES / name / rel).read_text(), rel
    committed = json.loads((PIPELINES / name / "configs" / "metadata.json").read_text())
    generated = json.loads((fresh / "configs" / "metadata.json").read_text())
    versions = ("monai_version", "pytorch_version", "numpy_version", "required_packages_version")
    assert {k: v for k, v in committed.items() if k not in versions} == {
        k: v for k, v in generated.items() if k not in versions
    }


@pytest.mark.parametrize("name", BUNDLES)
def test_configs_name_medms_components_only(name):
    text = (PIPELINES / name / "configs" / "inference.json").read_text()
    config = json.loads(text)
    assert config["network_def"]["_target_"] == "medms.bundles.components.network"
    assert config["preprocessing"]["_target_"] == "medms.bundles.components.preprocessing"
    assert "monai.transforms" not in text and "monai.networks" not in text  # nothing re-listed


def test_committed_network_def_matches_metadata_shape():
    root = PIPELINES / "breastmnist_msresnet50"
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(root / "configs" / "metadata.json"),
        config_file=str(root / "configs" / "inference.json"),
        device="cpu",
    )


def test_schema_rejects_wrong_types():
    meta = json.loads((PIPELINES / BUNDLES[0] / "configs" / "metadata.json").read_text())
    meta["network_data_format"]["inputs"]["image"]["num_channels"] = "one"
    with pytest.raises(
        ConfigError,
        match=r"'one' is not of type 'integer' \(at network_data_format#inputs#image#num_channels\)",
    ):
        validate_metadata(meta)
    assert load_schema()["required"][:2] == ["schema", "version"]


def test_breastmnist_train_config_finds_the_shipped_data():
    from monai.bundle import ConfigParser

    root = PIPELINES / "breastmnist_msresnet50"
    parser = ConfigParser()
    parser.read_config(str(root / "configs" / "train.json"))
    parser["bundle_root"] = str(root)
    cfg = parser.get_parsed_content("train_config")  # a validated medms TrainConfig (files checked)
    assert cfg.preprocessing.preset == "medmnist" and cfg.model.options["spatial_dims"] == 2
