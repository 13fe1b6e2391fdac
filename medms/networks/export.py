"""Export a network to TorchScript or ONNX: logits only, batch size free.

The exported graph takes ``image`` (and ``spacing`` (B, spatial_dims) in mm when an example spacing is
given and the model has a scale embedding; otherwise the model's default spacing is baked in) and returns
``logits``. Input checks (channels,
size, NaN) run once on the example in eager mode; the exported graph does not repeat them.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from medms.errors import OutputError

__all__ = ["export_onnx", "export_torchscript"]


class _LogitsOnly(nn.Module):
    def __init__(self, model: nn.Module, with_spacing: bool) -> None:
        super().__init__()
        self.model = model
        self.with_spacing = with_spacing

    def forward(self, x: torch.Tensor, spacing: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(x, spacing) if self.with_spacing else self.model(x)


def _prepare(
    model: nn.Module, example: torch.Tensor, spacing: torch.Tensor | None, path: str | os.PathLike[str]
) -> tuple:
    model.eval()
    example = example.as_subclass(torch.Tensor)
    with torch.no_grad():
        model(example, spacing)  # eager pass: raises ModelInputError on a bad example
    # Only a model with a scale embedding reads spacing; the plain one would export an unused input.
    with_spacing = spacing is not None and getattr(model, "scale_embedding", None) is not None
    args = (example, spacing) if with_spacing else (example,)
    out = Path(path)
    if not out.parent.is_dir():
        raise OutputError("the output folder does not exist; create it first", path=out.parent)
    return _LogitsOnly(model, with_spacing).eval(), args, out


def export_torchscript(
    model: nn.Module,
    example: torch.Tensor,
    path: str | os.PathLike[str],
    *,
    spacing: torch.Tensor | None = None,
) -> Path:
    """Trace ``model`` on ``example`` and save TorchScript to ``path``; returns the path.

    Load it with ``torch.jit.load(path)``; call ``ts(x)`` (or ``ts(x, spacing)`` if exported with one).

    Example:
        >>> import tempfile, torch
        >>> from medms.networks import export_torchscript, multiscale_resnet50
        >>> model = multiscale_resnet50()
        >>> path = export_torchscript(model, torch.randn(1, 1, 64, 64), tempfile.mktemp(suffix=".ts"))
        >>> torch.jit.load(path)(torch.randn(3, 1, 64, 64)).shape
        torch.Size([3, 2])
    """
    wrapper, args, out = _prepare(model, example, spacing, path)
    with torch.no_grad():
        traced = torch.jit.trace(wrapper, args, check_trace=False)
    traced.save(str(out))
    return out


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    path: str | os.PathLike[str],
    *,
    spacing: torch.Tensor | None = None,
    opset_version: int = 18,
) -> Path:
    """Export ``model`` to ONNX at ``path`` (inputs ``image`` [, ``spacing``], output ``logits``, dynamic batch).

    Spatial size is fixed to the example's (resize inputs to it before inference).

    Example:
        >>> import tempfile, torch, onnxruntime
        >>> from medms.networks import export_onnx, resnet50
        >>> path = export_onnx(resnet50(), torch.randn(1, 1, 64, 64), tempfile.mktemp(suffix=".onnx"))
        >>> sess = onnxruntime.InferenceSession(str(path))
        >>> sess.run(None, {"image": torch.randn(2, 1, 64, 64).numpy()})[0].shape
        (2, 2)
    """
    wrapper, args, out = _prepare(model, example, spacing, path)
    names = ["image", "spacing"][: len(args)]
    dynamic_axes = {name: {0: "batch"} for name in [*names, "logits"]}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            args,
            str(out),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=dynamic_axes,
            opset_version=opset_version,
            dynamo=False,
        )
    return out
