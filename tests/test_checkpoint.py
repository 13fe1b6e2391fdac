import pickle

import pytest
import torch

from medms.checkpoint import build_model, load_checkpoint, save_checkpoint
from medms.errors import CheckpointError


def _payload():
    from medms.networks import build_network

    model = build_network("resnet50", spatial_dims=2, in_channels=1, num_classes=2)
    return model, {
        "model": {"name": "resnet50", "options": model.config},
        "preprocessing": {"preset": "medmnist", "options": {"spatial_size": 32}},
        "class_names": ["a", "b"],
        "state_dict": model.state_dict(),
    }


def test_round_trip_rebuilds_the_same_model(tmp_path):
    model, payload = _payload()
    sha = save_checkpoint(payload, tmp_path / "m.pt")
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["sha256"] == sha and (tmp_path / "m.pt.sha256").read_text().startswith(sha)
    rebuilt = build_model(ckpt)
    x = torch.randn(2, 1, 64, 64)
    model.eval()
    torch.testing.assert_close(rebuilt(x), model(x))


def test_tampered_checkpoint_is_refused(tmp_path):
    _, payload = _payload()
    save_checkpoint(payload, tmp_path / "m.pt")
    data = bytearray((tmp_path / "m.pt").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "m.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        load_checkpoint(tmp_path / "m.pt")


class _Evil:
    def __reduce__(self):
        return (print, ("this code ran during unpickling",))


def test_pickle_carrying_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "medms-checkpoint", "payload": _Evil()}, path)
    with pytest.raises(CheckpointError, match="unsafe unpickling"):
        load_checkpoint(path)
    assert "this code ran" not in capsys.readouterr().out
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)


def test_not_a_medms_checkpoint(tmp_path):
    path = tmp_path / "sd.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a medms checkpoint"):
        load_checkpoint(path)


def test_other_architecture_lists_mismatches(tmp_path):
    _, payload = _payload()
    payload["model"] = {
        "name": "multiscale_resnet50",
        "options": {"spatial_dims": 2, "in_channels": 1, "num_classes": 2},
    }
    save_checkpoint(payload, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="do not match"):
        build_model(load_checkpoint(tmp_path / "m.pt"))


def test_future_format_version_is_refused(tmp_path):
    _, payload = _payload()
    save_checkpoint({**payload}, tmp_path / "m.pt")
    ckpt = torch.load(tmp_path / "m.pt", weights_only=True)
    ckpt["format_version"] = 99
    torch.save(ckpt, tmp_path / "m.pt")
    (tmp_path / "m.pt.sha256").unlink()
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(tmp_path / "m.pt")
