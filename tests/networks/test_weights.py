"""Safe weight loading: sha256, strict key checks, unsafe pickles refused, torchvision/MedicalNet adapters."""

import hashlib
import pickle

import pytest
import torch

from medms.errors import CheckpointError
from medms.networks import load_weights, multiscale_resnet50, resnet50, sha256_file
from tests._tolerance import assert_close_model


class _Payload:  # a Python object: torch.load(weights_only=True) must refuse to rebuild it
    def __init__(self):
        self.value = 1


@pytest.fixture(scope="module")
def plain_state():
    torch.manual_seed(0)
    return resnet50(num_classes=2).state_dict()


class TestLoadWeights:
    def test_round_trip_and_sha256(self, tmp_path, plain_state):
        path = tmp_path / "w.pt"
        torch.save(plain_state, path)
        model = resnet50()
        digest = load_weights(model, path)
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest() == sha256_file(path)
        assert torch.equal(model.state_dict()["layer3.1.conv2.weight"], plain_state["layer3.1.conv2.weight"])

    @pytest.mark.parametrize("wrap", ["state_dict", "model", "module."])
    def test_wrapped_and_ddp_prefixed(self, tmp_path, plain_state, wrap):
        obj = (
            {f"module.{k}": v for k, v in plain_state.items()}
            if wrap == "module."
            else {wrap: plain_state, "epoch": torch.tensor(3)}
        )
        torch.save(obj, tmp_path / "w.pt")
        model = resnet50()
        load_weights(model, tmp_path / "w.pt")
        assert torch.equal(model.state_dict()["fc.weight"], plain_state["fc.weight"])

    def test_other_architecture_lists_keys(self, tmp_path, plain_state):
        torch.save(plain_state, tmp_path / "w.pt")
        with pytest.raises(
            CheckpointError, match=r"11 missing: .*heads\.0\.1\.weight.*2 unexpected: fc\.weight, fc\.bias"
        ) as err:
            load_weights(multiscale_resnet50(), tmp_path / "w.pt")
        assert str(tmp_path / "w.pt") in str(err.value)

    def test_shape_mismatch_listed(self, tmp_path, plain_state):
        torch.save(plain_state, tmp_path / "w.pt")
        with pytest.raises(CheckpointError, match=r"2 shape mismatch: fc\.weight \(2, 2048\)≠\(5, 2048\)"):
            load_weights(resnet50(num_classes=5), tmp_path / "w.pt")

    def test_non_strict_loads_what_matches(self, tmp_path, plain_state):
        torch.save(plain_state, tmp_path / "w.pt")
        model = resnet50(num_classes=5)
        before = model.fc.weight.clone()
        load_weights(model, tmp_path / "w.pt", strict=False)
        assert torch.equal(model.fc.weight, before)
        assert torch.equal(model.conv1.weight, plain_state["conv1.weight"])

    def test_unsafe_pickle_refused(self, tmp_path):
        torch.save({"conv1.weight": torch.zeros(1), "obj": _Payload()}, tmp_path / "evil.pt")
        with pytest.raises(CheckpointError, match="unsafe unpickling"):
            load_weights(resnet50(), tmp_path / "evil.pt")

    def test_raw_pickle_with_global_refused(self, tmp_path):
        (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Payload(), protocol=2))
        with pytest.raises(CheckpointError, match=r"refused|not a readable"):
            load_weights(resnet50(), tmp_path / "evil.pkl")

    @pytest.mark.parametrize("obj", [[torch.zeros(2)], {"lr": 0.1}, {}])
    def test_not_a_state_dict(self, tmp_path, obj):
        torch.save(obj, tmp_path / "w.pt")
        with pytest.raises(CheckpointError, match="not a state dict"):
            load_weights(resnet50(), tmp_path / "w.pt")

    def test_garbage_and_missing_file(self, tmp_path):
        (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
        with pytest.raises(CheckpointError, match="not a readable torch weights file"):
            load_weights(resnet50(), tmp_path / "junk.pt")
        with pytest.raises(CheckpointError, match="not found"):
            load_weights(resnet50(), tmp_path / "nope.pt")
        with pytest.raises(CheckpointError, match="cannot read the weights file"):
            load_weights(resnet50(), tmp_path)

    def test_unknown_adapter(self, tmp_path, plain_state):
        torch.save(plain_state, tmp_path / "w.pt")
        with pytest.raises(CheckpointError, match="unknown adapter"):
            load_weights(resnet50(), tmp_path / "w.pt", adapter="timm")


class TestAdapters:
    def test_torchvision_rgb_stem_to_grey(self, tmp_path):
        # A torchvision-layout ImageNet model: 3 input channels, 1000 classes (built here, nothing downloaded).
        torch.manual_seed(0)
        rgb = resnet50(in_channels=3, num_classes=1000).eval()
        torch.save(rgb.state_dict(), tmp_path / "tv.pt")
        grey = multiscale_resnet50(in_channels=1, num_classes=2).eval()
        load_weights(grey, tmp_path / "tv.pt", adapter="torchvision")
        x = torch.randn(1, 1, 64, 64)
        with torch.no_grad():
            # The summed stem sees a grey image as the RGB model sees it repeated on three channels.
            assert_close_model(grey.stages(x)[-1], rgb.stages(x.repeat(1, 3, 1, 1))[-1], rgb)
        assert torch.equal(
            grey.state_dict()["layer2.0.bn1.running_mean"], rgb.state_dict()["layer2.0.bn1.running_mean"]
        )

    def test_torchvision_into_3d_refused(self, tmp_path):
        torch.save(resnet50(in_channels=3, num_classes=1000).state_dict(), tmp_path / "tv.pt")
        with pytest.raises(CheckpointError, match="torchvision weights are 2D"):
            load_weights(resnet50(spatial_dims=3), tmp_path / "tv.pt", adapter="torchvision")

    def test_medicalnet_3d(self, tmp_path):
        # MedicalNet's file layout: {"state_dict": {"module.<key>": ...}} with a segmentation head conv_seg.
        torch.manual_seed(0)
        trunk = resnet50(spatial_dims=3, in_channels=1).state_dict()
        state = {f"module.{k}": v for k, v in trunk.items() if not k.startswith("fc.")}
        state["module.conv_seg.0.weight"] = torch.zeros(32, 2048, 3, 3, 3)
        torch.save({"state_dict": state}, tmp_path / "resnet_50.pth")
        model = multiscale_resnet50(spatial_dims=3, in_channels=2)
        digest = load_weights(model, tmp_path / "resnet_50.pth", adapter="medicalnet")
        assert len(digest) == 64
        assert torch.equal(model.state_dict()["layer4.2.conv3.weight"], trunk["layer4.2.conv3.weight"])
        assert torch.allclose(model.conv1.weight.sum(1), trunk["conv1.weight"][:, 0])

    def test_medicalnet_missing_trunk_key(self, tmp_path):
        trunk = resnet50(spatial_dims=3).state_dict()
        del trunk["layer1.0.conv1.weight"]
        torch.save({"state_dict": trunk}, tmp_path / "m.pth")
        with pytest.raises(CheckpointError, match=r"1 missing: layer1\.0\.conv1\.weight"):
            load_weights(resnet50(spatial_dims=3), tmp_path / "m.pth", adapter="medicalnet")
