"""Bad input → ModelInputError saying expected vs got; spacing look-up."""

import pytest
import torch

from medms.errors import ModelInputError
from medms.networks import multiscale_resnet50, resnet50
from medms.networks._inputs import resolve_spacing, spacing_from_affine


@pytest.fixture(scope="module")
def model():
    return multiscale_resnet50(in_channels=1).eval()


class TestBadInput:
    def test_wrong_channels(self, model):
        with pytest.raises(ModelInputError, match=r"expected 1 input channel\(s\), got 3"):
            model(torch.randn(1, 3, 64, 64))

    def test_wrong_dims(self, model):
        with pytest.raises(ModelInputError, match=r"expected a 4-D batch .* got shape \(1, 64, 64\)"):
            model(torch.randn(1, 64, 64))

    def test_3d_model_given_2d(self):
        with pytest.raises(ModelInputError, match="expected a 5-D batch"):
            resnet50(spatial_dims=3)(torch.randn(1, 1, 64, 64))

    def test_smaller_than_total_stride(self, model):
        with pytest.raises(
            ModelInputError, match=r"\(28, 64\) is smaller than the network's total stride 32"
        ):
            model(torch.randn(1, 1, 28, 64))

    @pytest.mark.parametrize("bad", [float("nan"), float("inf")])
    def test_non_finite(self, model, bad):
        x = torch.zeros(1, 1, 32, 32)
        x[0, 0, 3, 4] = bad
        with pytest.raises(ModelInputError, match="NaN or Inf"):
            model(x)

    def test_integer_dtype(self, model):
        with pytest.raises(ModelInputError, match="floating-point"):
            model(torch.zeros(1, 1, 32, 32, dtype=torch.uint8))

    def test_not_a_tensor(self, model):
        with pytest.raises(ModelInputError, match="got ndarray"):
            model(torch.zeros(1, 1, 32, 32).numpy())

    def test_bad_spacing(self, model):
        x = torch.zeros(2, 1, 32, 32)
        with pytest.raises(ModelInputError, match=r"spacing must have shape \(2, 2\)"):
            model(x, spacing=torch.ones(2, 3))
        with pytest.raises(ModelInputError, match="positive"):
            model(x, spacing=torch.tensor([[1.0, 0.0], [1.0, 1.0]]))


class TestSpacing:
    def test_default_when_unknown(self):
        s = resolve_spacing(torch.zeros(3, 1, 8, 8, 8), None, spatial_dims=3, default=1.0)
        assert s.tolist() == [[1.0, 1.0, 1.0]] * 3

    def test_vector_broadcast_to_batch(self):
        s = resolve_spacing(torch.zeros(2, 1, 8, 8), torch.tensor([0.5, 0.7]), spatial_dims=2, default=1.0)
        assert torch.allclose(s, torch.tensor([[0.5, 0.7], [0.5, 0.7]]))

    def test_from_affine_column_norms(self):
        # Rotated 0.8 × 0.8 × 2.5 mm grid (LPS→RAS flips the sign, not the length).
        c, s = 0.6, 0.8
        affine = torch.tensor(
            [[-0.8 * c, -0.8 * s, 0, 10], [-0.8 * s, 0.8 * c, 0, 20], [0, 0, 2.5, 30], [0, 0, 0, 1]]
        )
        assert torch.allclose(spacing_from_affine(affine, spatial_dims=3), torch.tensor([[0.8, 0.8, 2.5]]))
        batch = torch.stack([affine, torch.eye(4)])
        assert torch.allclose(spacing_from_affine(batch, spatial_dims=2), torch.tensor([[0.8, 0.8], [1, 1]]))

    def test_read_from_metatensor(self):
        monai_data = pytest.importorskip("monai.data")
        affine = torch.diag(torch.tensor([0.5, 0.25, 1.0, 1.0]))
        x = monai_data.MetaTensor(torch.zeros(1, 1, 32, 32), affine=affine)
        assert torch.allclose(
            resolve_spacing(x, None, spatial_dims=2, default=1.0), torch.tensor([[0.5, 0.25]])
        )
