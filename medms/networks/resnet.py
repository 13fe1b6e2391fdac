"""ResNet-50 trunk (2D/3D) and the plain ResNet-50 classifier used as the baseline.

The trunk follows torchvision's ResNet-50 v1.5 exactly (7×7 stride-2 stem + max pool, bottleneck blocks
[3, 4, 6, 3], stride on the 3×3 conv, projection shortcut on the first block of each stage) so that its
state-dict keys (``conv1``, ``bn1``, ``layer1`` … ``layer4``) match torchvision and MedicalNet checkpoints.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medms.errors import ConfigError
from medms.networks._inputs import check_input

__all__ = ["Bottleneck", "ResNet", "ResNetTrunk", "resnet50"]

_STAGE_WIDTHS = (64, 128, 256, 512)
_EXPANSION = 4
RESNET50_BLOCKS = (3, 4, 6, 3)
TRUNK_PREFIXES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")


def _layers(spatial_dims: int) -> tuple[type[nn.Module], type[nn.Module], type[nn.Module], type[nn.Module]]:
    if spatial_dims == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d
    if spatial_dims == 3:
        return nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d, nn.AdaptiveAvgPool3d
    raise ConfigError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")


class Bottleneck(nn.Module):
    """1×1 → 3×3 (strided) → 1×1 bottleneck with identity or projection shortcut."""

    def __init__(self, spatial_dims: int, in_ch: int, width: int, stride: int = 1) -> None:
        super().__init__()
        conv, norm, _, _ = _layers(spatial_dims)
        out_ch = width * _EXPANSION
        self.conv1 = conv(in_ch, width, 1, bias=False)
        self.bn1 = norm(width)
        self.conv2 = conv(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = norm(width)
        self.conv3 = conv(width, out_ch, 1, bias=False)
        self.bn3 = norm(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(conv(in_ch, out_ch, 1, stride=stride, bias=False), norm(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetTrunk(nn.Module):
    """Stem and four bottleneck stages; subclasses add the heads.

    Attributes:
        feature_info: per stage ``{"num_chs", "reduction", "module"}`` (timm convention).
    """

    factory_name = "resnet_trunk"

    def __init__(
        self, spatial_dims: int, in_channels: int, blocks: tuple[int, ...] = RESNET50_BLOCKS
    ) -> None:
        super().__init__()
        conv, norm, maxpool, _ = _layers(spatial_dims)
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ConfigError(f"in_channels must be a positive integer, got {in_channels!r}")
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.conv1 = conv(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = norm(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = maxpool(kernel_size=3, stride=2, padding=1)
        in_ch, self.feature_info = 64, []
        for i, (n, width) in enumerate(zip(blocks, _STAGE_WIDTHS, strict=True)):
            stride = 1 if i == 0 else 2
            stage = [Bottleneck(spatial_dims, in_ch, width, stride)]
            in_ch = width * _EXPANSION
            stage += [Bottleneck(spatial_dims, in_ch, width) for _ in range(n - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
            self.feature_info.append({"num_chs": in_ch, "reduction": 4 * 2**i, "module": f"layer{i + 1}"})
        self.num_features = in_ch

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def stages(self, x: torch.Tensor, last: int = 4) -> list[torch.Tensor]:
        """Feature maps of layer1 … layer``last`` (a list of ``last`` tensors)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        out = []
        for i in range(1, last + 1):
            x = getattr(self, f"layer{i}")(x)
            out.append(x)
        return out

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, spatial_dims=self.spatial_dims, in_channels=self.in_channels)
        # A MetaTensor would carry its metadata machinery through every conv; the trunk only needs the data.
        return x.as_subclass(torch.Tensor) if type(x) is not torch.Tensor else x


class ResNet(ResNetTrunk):
    """Plain ResNet-50 classifier: trunk → global average pool → dropout → linear.

    Build it with :func:`resnet50`. ``forward(x)`` returns logits (B, num_classes).
    """

    factory_name = "resnet50"

    def __init__(
        self, spatial_dims: int, in_channels: int, num_classes: int, *, dropout: float = 0.0
    ) -> None:
        super().__init__(spatial_dims, in_channels)
        _check_common(num_classes, dropout)
        self.num_classes = num_classes
        self.avgpool = _layers(spatial_dims)[3](1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)
        self._init_weights()
        self._config: dict[str, Any] = {
            "spatial_dims": spatial_dims,
            "in_channels": in_channels,
            "num_classes": num_classes,
            "dropout": dropout,
        }

    @property
    def config(self) -> dict[str, Any]:
        """The exact factory arguments: ``build_network(model.factory_name, **model.config)`` rebuilds it."""
        return dict(self._config)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The layer4 feature map (B, 2048, *spatial / 32)."""
        return self.stages(self._check(x))[-1]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool the layer4 map; return the pooled features if ``pre_logits`` else logits."""
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(self.dropout(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the linear head (new random weights) for ``num_classes`` outputs."""
        _check_common(num_classes, self._config["dropout"])
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes).to(self.fc.weight.device)
        self._config["num_classes"] = num_classes

    def forward(
        self, x: torch.Tensor, spacing: torch.Tensor | None = None, return_all: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Logits (B, num_classes); ``spacing`` is accepted (and ignored) so both models share one call."""
        logits = self.forward_head(self.forward_features(x))
        if return_all:
            return {"logits": logits, "aux_logits": logits.unsqueeze(1)}
        return logits


def _check_common(num_classes: int, dropout: float) -> None:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")


def resnet50(
    spatial_dims: int = 2, in_channels: int = 1, num_classes: int = 2, *, dropout: float = 0.0
) -> ResNet:
    """Plain ResNet-50 (torchvision layout, stride-2 stem) for 2D or 3D images.

    Example:
        >>> import torch
        >>> from medms.networks import resnet50
        >>> model = resnet50(spatial_dims=2, in_channels=1, num_classes=2).eval()
        >>> model(torch.randn(1, 1, 64, 64)).shape
        torch.Size([1, 2])
    """
    return ResNet(spatial_dims, in_channels, num_classes, dropout=dropout)
