"""Checkpoint safety seen from ``medms predict`` (the unit tests are in tests/engine/test_checkpoint.py): a
tampered or code-carrying checkpoint is refused before anything is written or executed."""

import shutil

import numpy as np
import pytest
import torch

from medms.checkpoint import sha256_file
from medms.engine import predict
from medms.errors import CheckpointError
from medms.synthetic import write_image_dicom

MARK = "code in the checkpoint ran"


class _Evil:
    def __reduce__(self):
        return (print, (MARK,))


@pytest.fixture
def image(tmp_path):
    return write_image_dicom(np.zeros((8, 8), np.uint8), tmp_path / "a.dcm")


def test_predict_refuses_a_tampered_checkpoint_and_writes_nothing(checkpoint, image, tmp_path):
    model = tmp_path / "model.pt"
    shutil.copyfile(checkpoint, model)
    shutil.copyfile(checkpoint.with_name("model.pt.sha256"), tmp_path / "model.pt.sha256")
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in the weights
    model.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        predict(model, [image], tmp_path / "out" / "pred.csv", num_workers=0, progress=False)
    assert not (tmp_path / "out").exists()


def test_code_carrying_pickle_with_a_matching_sidecar_is_still_refused(image, tmp_path, capsys):
    # an attacker who replaces the file can rewrite its .sha256 too: weights_only loading is the real guard
    model = tmp_path / "evil.pt"
    torch.save({"format": "medms-checkpoint", "state_dict": _Evil()}, model)
    (tmp_path / "evil.pt.sha256").write_text(f"{sha256_file(model)}  evil.pt\n")
    with pytest.raises(CheckpointError, match="unsafe unpickling"):
        predict(model, [image], tmp_path / "pred.csv", num_workers=0, progress=False)
    assert MARK not in capsys.readouterr().out
    assert not (tmp_path / "pred.csv").exists()
