"""Plain ResNet-50: torchvision layout, timm face, config round trip."""

import json

import pytest
import torch

from medms.errors import ConfigError
from medms.networks import ResNet, build_network, resnet50


class TestPlainResNet50:
    def test_torchvision_parameter_count_and_keys(self):
        # torchvision.models.resnet50() has exactly 25,557,032 parameters (3 channels in, 1000 classes).
        model = resnet50(in_channels=3, num_classes=1000)
        assert sum(p.numel() for p in model.parameters()) == 25_557_032
        keys = model.state_dict().keys()
        assert {
            "conv1.weight",
            "bn1.running_var",
            "layer1.0.downsample.0.weight",
            "layer4.2.bn3.bias",
            "fc.bias",
        } <= set(keys)
        assert len(keys) == 320  # torchvision resnet50 state dict incl. num_batches_tracked

    @pytest.mark.parametrize(("dims", "size"), [(2, 64), (3, 32)])
    def test_logits_shape_and_features(self, dims, size):
        model = resnet50(spatial_dims=dims, in_channels=2, num_classes=3).eval()
        x = torch.randn(2, 2, *([size] * dims))
        with torch.no_grad():
            feats = model.forward_features(x)
            logits = model(x)
        assert feats.shape == (2, 2048, *([size // 32] * dims))
        assert logits.shape == (2, 3)
        assert torch.allclose(model.forward_head(feats), logits)
        assert model.forward_head(feats, pre_logits=True).shape == (2, 2048)

    def test_feature_info(self):
        info = resnet50().feature_info
        assert [f["num_chs"] for f in info] == [256, 512, 1024, 2048]
        assert [f["reduction"] for f in info] == [4, 8, 16, 32]
        assert [f["module"] for f in info] == ["layer1", "layer2", "layer3", "layer4"]

    def test_stem_is_stride_two(self):
        # MONAI's ResNet uses a stride-1 stem; ours (torchvision) halves the size twice before layer1.
        maps = resnet50().stages(torch.randn(1, 1, 64, 64))
        assert [m.shape[-1] for m in maps] == [16, 8, 4, 2]

    def test_return_all_has_one_head(self):
        out = resnet50().eval()(torch.randn(1, 1, 32, 32), return_all=True)
        assert out["aux_logits"].shape == (1, 1, 2)
        assert torch.equal(out["aux_logits"][:, 0], out["logits"])

    def test_reset_classifier(self):
        model = resnet50(num_classes=2)
        model.reset_classifier(5)
        assert model.fc.out_features == 5
        assert model.config["num_classes"] == 5
        assert model.eval()(torch.randn(1, 1, 32, 32)).shape == (1, 5)

    def test_config_round_trip_through_json(self):
        model = resnet50(spatial_dims=3, in_channels=2, num_classes=4, dropout=0.1)
        options = json.loads(json.dumps(model.config))
        rebuilt = build_network(model.factory_name, **options)
        assert isinstance(rebuilt, ResNet)
        assert rebuilt.config == model.config

    @pytest.mark.parametrize(
        "kwargs",
        [{"spatial_dims": 1}, {"in_channels": 0}, {"num_classes": 0}, {"dropout": 1.0}],
    )
    def test_bad_options(self, kwargs):
        with pytest.raises(ConfigError):
            resnet50(**kwargs)

    def test_build_network_errors(self):
        with pytest.raises(ConfigError, match="unknown network"):
            build_network("vgg16")
        with pytest.raises(ConfigError, match="bad options"):
            build_network("resnet50", levels=[2, 3])
