"""Multi-scale ResNet-50: outputs, equivalence with the plain model, fusion options, scale embedding."""

import json

import pytest
import torch

from medms.errors import ConfigError
from medms.networks import MultiScaleResNet, build_network, multiscale_resnet50, resnet50
from medms.networks.fusion import FUSIONS, SCALE_POOLS


@pytest.fixture(scope="module")
def default_model() -> MultiScaleResNet:
    return multiscale_resnet50().eval()


@pytest.fixture(scope="module")
def film_model() -> MultiScaleResNet:
    model = multiscale_resnet50().eval()
    # The FiLM output layer starts at zero (identity); give it weights so spacing/scale matter.
    torch.manual_seed(1)
    torch.nn.init.normal_(model.scale_embedding.mlp[-1].weight, std=0.1)
    return model


class TestDefaults:
    def test_default_options(self):
        cfg = multiscale_resnet50().config
        assert cfg == {
            "spatial_dims": 2,
            "in_channels": 1,
            "num_classes": 2,
            "levels": [2, 3, 4],
            "scales": [1.0, 0.5],
            "fusion": "learned",
            "scale_pool": "mean",
            "scale_embedding": True,
            "dropout": 0.2,
            "default_spacing": 1.0,
        }

    def test_return_all_2d(self, default_model):
        model = default_model
        with torch.no_grad():
            out = model(torch.randn(2, 1, 64, 64), return_all=True)
        assert out["logits"].shape == (2, 2)
        assert out["aux_logits"].shape == (2, 6, 2)
        assert out["level_logits"].shape == (2, 3, 2)
        assert out["scale_weights"].shape == (2, 3, 2)
        # Fresh model: uniform vote and uniform scale mean.
        assert torch.allclose(out["fusion_weights"], torch.full((2, 3), 1 / 3))
        assert torch.allclose(out["scale_weights"], torch.full((2, 3, 2), 0.5))
        # Vote = weighted mean of the level heads' log-probabilities.
        expected = torch.log_softmax(out["level_logits"], -1).mean(1)
        assert torch.allclose(out["logits"], expected, atol=1e-6)
        assert model.head_names == [
            "layer2@1",
            "layer2@0.5",
            "layer3@1",
            "layer3@0.5",
            "layer4@1",
            "layer4@0.5",
        ]

    def test_3d(self):
        model = multiscale_resnet50(spatial_dims=3, in_channels=1, num_classes=2).eval()
        with torch.no_grad():
            out = model(
                torch.randn(1, 1, 32, 32, 32), spacing=torch.tensor([[0.7, 0.7, 2.0]]), return_all=True
            )
        assert out["logits"].shape == (1, 2)
        assert out["aux_logits"].shape == (1, 6, 2)
        assert torch.isfinite(out["logits"]).all()

    def test_forward_features_and_head(self, default_model):
        model = default_model
        x = torch.randn(1, 1, 64, 64)
        with torch.no_grad():
            feats = model.forward_features(x)
            assert feats.shape == (1, 2, 512 + 1024 + 2048)
            assert torch.allclose(model.forward_head(feats), model(x))
            assert model.forward_head(feats, pre_logits=True).shape == (1, 3584)

    def test_every_parameter_gets_a_gradient(self):
        model = multiscale_resnet50(fusion="gated", scale_pool="attention").train()
        out = model(torch.randn(2, 1, 32, 32), return_all=True)
        target = torch.tensor([0, 1])
        aux = out["aux_logits"].flatten(0, 1)
        loss = torch.nn.functional.cross_entropy(
            out["logits"], target
        ) + 0.3 * torch.nn.functional.cross_entropy(aux, target.repeat_interleave(6))
        loss.backward()
        # Zero-initialised FiLM/gate layers block gradients to their inputs at step 0, not to themselves.
        no_grad = [n for n, p in model.named_parameters() if p.grad is None]
        assert no_grad == [] or all("scale_embedding.mlp.0" in n for n in no_grad)
        assert model.fusion.gate.weight.grad.abs().sum() > 0


class TestPlainEquivalence:
    @pytest.mark.parametrize("dims", [2, 3])
    def test_one_level_one_scale_is_plain(self, dims):
        torch.manual_seed(0)
        plain = resnet50(spatial_dims=dims, num_classes=3).eval()
        ms = multiscale_resnet50(
            spatial_dims=dims, num_classes=3, levels=[4], scales=[1.0], scale_embedding=False
        ).eval()
        state = {k.replace("fc.", "heads.0.1."): v for k, v in plain.state_dict().items()}
        ms.load_state_dict(state, strict=True)
        x = torch.randn(2, 1, *([32] * dims))
        with torch.no_grad():
            assert torch.allclose(ms(x), plain(x), atol=1e-6, rtol=0)

    def test_zero_init_embedding_keeps_equivalence(self):
        plain = resnet50().eval()
        ms = multiscale_resnet50(levels=[4], scales=[1.0]).eval()
        ms.load_state_dict(
            {k.replace("fc.", "heads.0.1."): v for k, v in plain.state_dict().items()}, strict=False
        )
        x = torch.randn(1, 1, 64, 64)
        with torch.no_grad():
            assert torch.allclose(ms(x, spacing=torch.tensor([[0.3, 0.3]])), plain(x), atol=1e-6, rtol=0)


def test_option_lists_are_covered():
    assert set(FUSIONS) == {"learned", "mean", "gated", "concat"}
    assert set(SCALE_POOLS) == {"mean", "max", "attention"}


class TestOptions:
    @pytest.mark.parametrize(
        ("fusion", "scale_pool"),
        # Every fusion and every scale pool at least once (fusion and pooling do not interact).
        [("learned", "attention"), ("mean", "max"), ("gated", "mean"), ("concat", "attention")],
    )
    def test_every_option_runs(self, fusion, scale_pool):
        model = multiscale_resnet50(fusion=fusion, scale_pool=scale_pool, scales=[1.0, 0.75]).eval()
        with torch.no_grad():
            out = model(torch.randn(2, 1, 32, 32), return_all=True)
        assert out["logits"].shape == (2, 2)
        assert out["aux_logits"].shape == (2, 6, 2)
        assert ("fusion_weights" in out) == (fusion != "concat")
        assert ("scale_weights" in out) == (scale_pool != "max")
        if "fusion_weights" in out:
            assert torch.allclose(out["fusion_weights"].sum(1), torch.ones(2))

    def test_max_pool_takes_the_larger_scale_features(self):
        model = multiscale_resnet50(scale_pool="max", levels=[3, 4], scale_embedding=False).eval()
        with torch.no_grad():
            feats = model.forward_features(torch.randn(1, 1, 64, 64))
            pooled = model.forward_head(feats, pre_logits=True)
        assert torch.equal(pooled, feats.amax(1))

    def test_half_scale_is_box_average(self, default_model):
        model = default_model
        x = torch.arange(16.0).reshape(1, 1, 4, 4)
        assert model._resize(x, 0.5)[0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]

    def test_three_scales(self):
        model = multiscale_resnet50(scales=[1.0, 0.5, 0.25]).eval()
        with torch.no_grad():
            out = model(torch.randn(1, 1, 64, 64), return_all=True)
        assert out["aux_logits"].shape == (1, 9, 2)

    def test_reset_classifier(self):
        model = multiscale_resnet50(fusion="concat")
        model.reset_classifier(4)
        assert model.config["num_classes"] == 4
        assert model.eval()(torch.randn(1, 1, 32, 32)).shape == (1, 4)

    def test_config_round_trip_through_json(self):
        model = multiscale_resnet50(
            spatial_dims=3, num_classes=3, levels=(3, 4), fusion="gated", scales=(1.0,)
        )
        options = json.loads(json.dumps(model.config))
        assert build_network("multiscale_resnet50", **options).config == model.config

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"levels": [4, 2]}, "levels"),
            ({"levels": [5]}, "levels"),
            ({"levels": []}, "levels"),
            ({"scales": [1.0, 2.0]}, "scales"),
            ({"scales": [0.5, 0.5]}, "scales"),
            ({"fusion": "vote"}, "fusion must be one of"),
            ({"scale_pool": "sum"}, "scale_pool must be one of"),
            ({"default_spacing": 0}, "default_spacing"),
            ({"levles": [2]}, "unknown multiscale_resnet50 option"),
        ],
    )
    def test_bad_options(self, kwargs, match):
        with pytest.raises(ConfigError, match=match):
            multiscale_resnet50(**kwargs)


class TestScaleEmbedding:
    def test_spacing_changes_the_output(self, film_model):
        model = film_model
        x = torch.randn(1, 1, 32, 32)
        with torch.no_grad():
            default = model(x)
            explicit_default = model(x, spacing=torch.tensor([[1.0, 1.0]]))
            other = model(x, spacing=torch.tensor([[0.5, 0.5]]))
        assert torch.allclose(default, explicit_default)
        assert not torch.allclose(default, other)

    def test_metatensor_affine_is_used(self, film_model):
        monai_data = pytest.importorskip("monai.data")
        model = film_model
        x = torch.randn(1, 1, 32, 32)
        meta = monai_data.MetaTensor(x.clone(), affine=torch.diag(torch.tensor([0.5, 0.8, 1.0, 1.0])))
        with torch.no_grad():
            from_meta = model(meta)
            explicit = model(x, spacing=torch.tensor([[0.5, 0.8]]))
        assert type(from_meta) is torch.Tensor
        assert torch.allclose(from_meta, explicit)

    def test_spacing_ignored_without_embedding(self):
        model = multiscale_resnet50(scale_embedding=False).eval()
        x = torch.randn(1, 1, 32, 32)
        with torch.no_grad():
            assert torch.equal(model(x), model(x, spacing=torch.tensor([[0.1, 0.1]])))
