"""TorchScript and ONNX exports agree numerically with eager mode."""

import pytest
import torch

from medms.errors import ModelInputError
from medms.networks import export_onnx, export_torchscript, multiscale_resnet50, resnet50
from tests._tolerance import assert_close_model

ort = pytest.importorskip("onnxruntime")

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = multiscale_resnet50(num_classes=3).eval()
    torch.nn.init.normal_(m.scale_embedding.mlp[-1].weight, std=0.1)  # make spacing matter
    return m


def test_torchscript_with_spacing_input_matches_eager(model, tmp_path):
    spacing = torch.tensor([[0.5, 0.5]])
    path = export_torchscript(model, torch.randn(1, 1, 32, 32), tmp_path / "m.ts", spacing=spacing)
    ts = torch.jit.load(str(path))
    x, s = torch.randn(2, 1, 32, 32), torch.tensor([[0.3, 0.3], [2.0, 2.0]])
    with torch.no_grad():
        assert_close_model(ts(x, s), model(x, s), model)


def test_onnx_matches_eager_with_dynamic_batch(model, tmp_path):
    spacing = torch.tensor([[1.0, 1.0]])
    path = export_onnx(model, torch.randn(1, 1, 32, 32), tmp_path / "m.onnx", spacing=spacing)
    x, s = torch.randn(4, 1, 32, 32), torch.tensor([[0.3, 0.3], [1.0, 1.0], [2.0, 2.0], [0.7, 0.5]])
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"image": x.numpy(), "spacing": s.numpy()})
    with torch.no_grad():
        assert_close_model(got, model(x, s), model)


def test_plain_exports_without_spacing_input(tmp_path):
    model = resnet50().eval()
    spacing = torch.tensor([[1.0, 2.0]])
    path = export_onnx(model, torch.randn(1, 1, 32, 32), tmp_path / "p.onnx", spacing=spacing)
    x = torch.randn(2, 1, 32, 32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["image"]  # the plain model does not read spacing
    (got,) = sess.run(None, {"image": x.numpy()})
    with torch.no_grad():
        assert_close_model(got, model(x), model)


def test_bad_example_raises_before_export(model, tmp_path):
    with pytest.raises(ModelInputError, match="input channel"):
        export_onnx(model, torch.randn(1, 2, 32, 32), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
