"""Input checks and spacing look-up shared by the plain and the multi-scale network.

Only torch is imported here: a MONAI ``MetaTensor`` is recognised by duck typing on ``.affine`` so that
``import medms.networks`` never pulls in MONAI (the GPU benchmark machine runs without it).
"""

from __future__ import annotations

import torch

from medms.errors import ModelInputError

#: Total stride of the ResNet trunk (stem conv 2 × max pool 2 × three stride-2 stages).
TOTAL_STRIDE = 32

#: Spacing (mm per pixel/voxel) assumed when neither ``spacing=`` nor a MetaTensor affine gives one.
DEFAULT_SPACING_MM = 1.0


def _skip_value_checks() -> bool:
    # Value checks need a host sync and data-dependent control flow, which tracing, ONNX export and
    # torch.compile cannot represent; those paths check their example input once in eager mode instead.
    return torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()


def check_input(x: torch.Tensor, *, spatial_dims: int, in_channels: int) -> None:
    """Raise :class:`ModelInputError` unless ``x`` is a finite (B, C, *spatial) batch the trunk accepts."""
    if not isinstance(x, torch.Tensor):
        raise ModelInputError(f"expected a torch.Tensor, got {type(x).__name__}")
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return  # export checks its example eagerly first; traced shapes here would become constants
    expected_ndim = spatial_dims + 2
    if x.ndim != expected_ndim:
        layout = "(B, C, H, W)" if spatial_dims == 2 else "(B, C, D, H, W)"
        raise ModelInputError(
            f"expected a {expected_ndim}-D batch {layout} for spatial_dims={spatial_dims}, got shape "
            f"{tuple(x.shape)}; add the batch/channel axis or build the network with the right spatial_dims"
        )
    if x.shape[1] != in_channels:
        raise ModelInputError(
            f"expected {in_channels} input channel(s), got {x.shape[1]} (shape {tuple(x.shape)}); "
            f"build the network with in_channels={x.shape[1]} or fix the channel axis"
        )
    small = [int(s) for s in x.shape[2:] if s < TOTAL_STRIDE]
    if small:
        raise ModelInputError(
            f"spatial size {tuple(x.shape[2:])} is smaller than the network's total stride {TOTAL_STRIDE}; "
            f"resize or pad the image to at least {TOTAL_STRIDE} per axis (64 recommended)"
        )
    if not x.is_floating_point():
        raise ModelInputError(f"expected a floating-point tensor, got dtype {x.dtype}")
    # Meta tensors (FLOP counting, shape inference) carry no values to check.
    if x.device.type != "meta" and not _skip_value_checks() and not bool(torch.isfinite(x).all()):
        raise ModelInputError(
            "input contains NaN or Inf values; check the preprocessing (windowing, normalisation)"
        )


def resolve_spacing(
    x: torch.Tensor, spacing: torch.Tensor | None, *, spatial_dims: int, default: float
) -> torch.Tensor:
    """Return the (B, spatial_dims) spacing in mm: ``spacing`` if given, else the MetaTensor affine, else ``default``.

    Example:
        >>> import torch
        >>> resolve_spacing(torch.zeros(2, 1, 32, 32), None, spatial_dims=2, default=1.0).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    batch = x.shape[0]
    if spacing is not None and (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
        return spacing.to(torch.float32).expand(batch, -1)  # an export input, checked on the example eagerly
    if spacing is None:
        affine = getattr(x, "affine", None)
        if isinstance(affine, torch.Tensor):
            spacing = spacing_from_affine(affine, spatial_dims=spatial_dims)
        else:
            return torch.full((batch, spatial_dims), float(default), device=x.device, dtype=torch.float32)
    spacing = torch.as_tensor(spacing, dtype=torch.float32, device=x.device)
    if spacing.ndim == 1:
        spacing = spacing.unsqueeze(0).expand(batch, -1)
    if spacing.ndim != 2 or spacing.shape[1] != spatial_dims or spacing.shape[0] not in (1, batch):
        raise ModelInputError(
            f"spacing must have shape ({batch}, {spatial_dims}) or ({spatial_dims},), got {tuple(spacing.shape)}"
        )
    valid = (
        spacing.device.type == "meta"
        or _skip_value_checks()
        or bool((spacing > 0).all() & spacing.isfinite().all())
    )
    if not valid:
        raise ModelInputError("spacing must be positive and finite (mm per pixel/voxel)")
    return spacing.expand(batch, -1)


def spacing_from_affine(affine: torch.Tensor, *, spatial_dims: int) -> torch.Tensor:
    """Pixel/voxel spacing (column norms of the affine's linear part) as (B, spatial_dims) or (1, spatial_dims)."""
    affine = torch.as_tensor(affine, dtype=torch.float32)
    if affine.ndim == 2:
        affine = affine.unsqueeze(0)
    if affine.ndim != 3 or affine.shape[-1] < spatial_dims + 1:
        raise ModelInputError(f"cannot read spacing from an affine of shape {tuple(affine.shape)}")
    return torch.linalg.vector_norm(affine[:, :-1, :spatial_dims], dim=1)
