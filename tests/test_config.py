import json

import pytest

from medms.config import TrainConfig
from medms.errors import ConfigError


def test_defaults_and_values(tmp_path):
    npz = tmp_path / "d.npz"
    npz.write_bytes(b"")
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(
        "data:\n  npz: d.npz\ntrain:\n  epochs: 3\n  lr: 1e-4\nmodel:\n  options: {levels: [3, 4]}\n"
    )
    cfg = TrainConfig.from_file(cfg_file)
    assert cfg.data.npz == str(npz.resolve())  # relative to the config file
    assert cfg.train.epochs == 3 and cfg.train.lr == pytest.approx(1e-4)
    assert cfg.model.name == "multiscale_resnet50" and cfg.model.options == {"levels": [3, 4]}
    assert json.loads(json.dumps(cfg.to_dict()))["train"]["epochs"] == 3


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"data": {"npz": "x", "nzp": 1}}, r"unknown key.*data\.nzp"),
        ({"data": {"npz": "x"}, "trian": {}}, "unknown key.*trian"),
        ({"data": {"npz": "x"}, "train": {"epochs": "3"}}, r"train\.epochs must be int"),
        ({"data": {"npz": "x"}, "train": {"epochs": 0}}, r"train\.epochs"),
        ({"data": {"npz": "x"}, "train": {"class_balance": "smote"}}, "class_balance"),
        ({"data": {"npz": "x", "manifest": "y"}}, "exactly one"),
        ({"data": {}}, "exactly one"),
        ({"data": {"npz": "x"}, "model": []}, "must be a mapping"),
    ],
)
def test_invalid_configs_are_rejected_before_training(raw, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict(raw)


def test_missing_data_file_named(tmp_path):
    cfg_file = tmp_path / "c.json"
    cfg_file.write_text(json.dumps({"data": {"manifest": "nope.csv"}}))
    with pytest.raises(ConfigError, match=r"nope\.csv"):
        TrainConfig.from_file(cfg_file)


def test_unparsable_file(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainConfig.from_file(cfg_file)
