"""Networks: the multi-scale ResNet-50 (2D and 3D), its plain baseline, safe weight loading and export.

Depends on torch only (no MONAI, no pydicom at import time).

Example:
    >>> import torch
    >>> from medms.networks import multiscale_resnet50
    >>> model = multiscale_resnet50(spatial_dims=2, in_channels=1, num_classes=2).eval()
    >>> model(torch.randn(1, 1, 64, 64)).shape
    torch.Size([1, 2])
"""

from medms.networks._inputs import DEFAULT_SPACING_MM, TOTAL_STRIDE
from medms.networks.export import export_onnx, export_torchscript
from medms.networks.multiscale import MultiScaleResNet, multiscale_resnet50
from medms.networks.registry import NETWORKS, build_network
from medms.networks.resnet import ResNet, resnet50
from medms.networks.weights import load_weights, sha256_file

__all__ = [
    "DEFAULT_SPACING_MM",
    "NETWORKS",
    "TOTAL_STRIDE",
    "MultiScaleResNet",
    "ResNet",
    "build_network",
    "export_onnx",
    "export_torchscript",
    "load_weights",
    "multiscale_resnet50",
    "resnet50",
    "sha256_file",
]
