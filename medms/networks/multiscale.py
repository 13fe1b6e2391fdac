"""Multi-scale ResNet-50: an input pyramid through one shared trunk, heads on several stages, and a vote.

Data flow for an input ``x`` (B, C, *spatial) and scales ``s₁ … s_S``, levels ``l₁ … l_L``::

    x ─resize(s)─▶ trunk ─▶ layer l maps ─GAP─▶ f[l, s] ─FiLM(log s, spacing/s)─▶ f[l, s]
    f[l, ·] ─scale pool (mean | max | attention)─▶ g[l] ─head l─▶ level logits z[l]
    z[·] ─vote (learned | mean | gated | concat)─▶ logits
    head l (f[l, s]) for every (l, s) ─▶ aux_logits (deep supervision)

With one level (4) and one scale (1.0) and no scale embedding it is exactly the plain :class:`ResNet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medms.errors import ConfigError
from medms.networks._inputs import DEFAULT_SPACING_MM, resolve_spacing
from medms.networks.fusion import LevelFusion, ScaleEmbedding, ScalePool
from medms.networks.resnet import ResNetTrunk, _check_common, _layers

__all__ = ["MultiScaleResNet", "multiscale_resnet50"]


class MultiScaleResNet(ResNetTrunk):
    """ResNet-50 trunk with multi-level heads and a shared-weight input pyramid. Build it with
    :func:`multiscale_resnet50`; see that function for the options.
    """

    factory_name = "multiscale_resnet50"

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        num_classes: int,
        *,
        levels: Sequence[int] = (2, 3, 4),
        scales: Sequence[float] = (1.0, 0.5),
        fusion: str = "learned",
        scale_pool: str = "mean",
        scale_embedding: bool = True,
        dropout: float = 0.2,
        default_spacing: float = DEFAULT_SPACING_MM,
    ) -> None:
        super().__init__(spatial_dims, in_channels)
        _check_common(num_classes, dropout)
        levels, scales = _check_levels(levels), _check_scales(scales)
        if not float(default_spacing) > 0:
            raise ConfigError(f"default_spacing must be > 0 mm, got {default_spacing!r}")
        self.levels, self.scales, self.num_classes = levels, scales, num_classes
        self.level_channels = [self.feature_info[lv - 1]["num_chs"] for lv in levels]
        total = sum(self.level_channels)
        self.avgpool = _layers(spatial_dims)[3](1)
        self.scale_embedding = ScaleEmbedding(spatial_dims, total) if scale_embedding else None
        self.scale_pools = nn.ModuleList(ScalePool(scale_pool, c) for c in self.level_channels)
        self.heads = nn.ModuleList(_head(c, num_classes, dropout) for c in self.level_channels)
        self.fusion = self._fusion(fusion, num_classes, dropout)
        self._init_weights()
        self._config: dict[str, Any] = {
            "spatial_dims": spatial_dims,
            "in_channels": in_channels,
            "num_classes": num_classes,
            "levels": list(levels),
            "scales": list(scales),
            "fusion": fusion,
            "scale_pool": scale_pool,
            "scale_embedding": bool(scale_embedding),
            "dropout": float(dropout),
            "default_spacing": float(default_spacing),
        }

    @property
    def config(self) -> dict[str, Any]:
        """The exact factory arguments: ``build_network(model.factory_name, **model.config)`` rebuilds it."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self._config.items()}

    @property
    def head_names(self) -> list[str]:
        """Names of the ``aux_logits`` heads in order, e.g. ``["layer2@1", "layer2@0.5", ...]``."""
        return [f"layer{lv}@{s:g}" for lv in self.levels for s in self.scales]

    def forward_features(self, x: torch.Tensor, spacing: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled (and scale-modulated) features per scale: (B, S, ΣC) with ΣC = sum of the levels' channels."""
        data = self._check(x)
        if self.scale_embedding is not None:
            spacing = resolve_spacing(
                x, spacing, spatial_dims=self.spatial_dims, default=self._config["default_spacing"]
            )
        per_scale = []
        for s in self.scales:
            maps = self.stages(self._resize(data, s), last=self.levels[-1])
            f = torch.cat([torch.flatten(self.avgpool(maps[lv - 1]), 1) for lv in self.levels], dim=1)
            if self.scale_embedding is not None:
                f = self.scale_embedding(f, s, spacing)
            per_scale.append(f)
        return torch.stack(per_scale, dim=1)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """From :meth:`forward_features` output: scale-pooled features (B, ΣC) if ``pre_logits`` else logits."""
        out = self._heads(x)
        return out["pooled"] if pre_logits else out["logits"]

    def forward(
        self, x: torch.Tensor, spacing: torch.Tensor | None = None, return_all: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Logits (B, K); with ``return_all`` a dict (see :func:`multiscale_resnet50` for its keys)."""
        out = self._heads(self.forward_features(x, spacing))
        if not return_all:
            return out["logits"]
        out.pop("pooled")
        return out

    def reset_classifier(self, num_classes: int) -> None:
        """New random heads (and fusion) for ``num_classes`` outputs; trunk and scale modules are kept."""
        _check_common(num_classes, self._config["dropout"])
        device = next(self.parameters()).device
        dropout = self._config["dropout"]
        self.heads = nn.ModuleList(_head(c, num_classes, dropout) for c in self.level_channels).to(device)
        self.fusion = self._fusion(self._config["fusion"], num_classes, dropout)
        if self.fusion is not None:
            self.fusion.to(device)
        self.num_classes = num_classes
        self._config["num_classes"] = num_classes

    def _fusion(self, mode: str, num_classes: int, dropout: float) -> LevelFusion | None:
        fusion = LevelFusion(mode, len(self.levels), sum(self.level_channels), num_classes, dropout)
        # A vote of one is that head itself: no fusion parameters, so one level == the plain ResNet.
        return fusion if len(self.levels) > 1 else None

    def _resize(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        if scale == 1.0:
            return x
        factor = round(1.0 / scale)
        if abs(factor * scale - 1.0) < 1e-6:
            # Integer down-sampling: box averaging is exact anti-aliasing, cheap and exports everywhere.
            pool = F.avg_pool2d if self.spatial_dims == 2 else F.avg_pool3d
            return pool(x, factor)
        mode = "bilinear" if self.spatial_dims == 2 else "trilinear"
        return F.interpolate(x, scale_factor=scale, mode=mode, align_corners=False)

    def _heads(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled, level_logits, aux, scale_w = [], [], [], []
        for f, pool, head in zip(
            feats.split(self.level_channels, dim=2), self.scale_pools, self.heads, strict=True
        ):
            g, w = pool(f)
            pooled.append(g)
            level_logits.append(head(g))
            aux.append(head(f))
            if w is not None:
                scale_w.append(w)
        z = torch.stack(level_logits, dim=1)
        g_all = torch.cat(pooled, dim=1)
        out: dict[str, torch.Tensor] = {}
        if self.fusion is None:
            out["logits"] = z[:, 0]
        else:
            out["logits"], fusion_w = self.fusion(z, g_all)
            if fusion_w is not None:
                out["fusion_weights"] = fusion_w
        out["aux_logits"] = torch.stack(aux, dim=1).flatten(1, 2)
        out["level_logits"] = z
        if scale_w:
            out["scale_weights"] = torch.stack(scale_w, dim=1)
        out["pooled"] = g_all
        return out


def _head(num_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(num_features, num_classes))


def _check_levels(levels: Sequence[int]) -> tuple[int, ...]:
    out = tuple(levels)
    if (
        not out
        or any(not isinstance(v, int) or v not in (1, 2, 3, 4) for v in out)
        or list(out) != sorted(set(out))
    ):
        raise ConfigError(
            f"levels must be increasing stage numbers from 1..4, e.g. (2, 3, 4); got {levels!r}"
        )
    return out


def _check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(s) for s in scales)
    if not out or any(not 0.0 < s <= 1.0 for s in out) or len(set(out)) != len(out):
        raise ConfigError(f"scales must be distinct values in (0, 1], e.g. (1.0, 0.5); got {scales!r}")
    return out


def multiscale_resnet50(
    spatial_dims: int = 2, in_channels: int = 1, num_classes: int = 2, **options: Any
) -> MultiScaleResNet:
    """Multi-scale ResNet-50 for 2D or 3D images (defaults: the recommended model).

    Options (all JSON-serialisable; ``model.config`` returns them):
        levels (2, 3, 4): stages with a head (global average pool → dropout → linear).
        scales (1.0, 0.5): input pyramid through the shared trunk (1/n: n-box averaging, else linear resize).
        fusion "learned": vote of the level heads — "learned" | "mean" | "gated" | "concat".
        scale_pool "mean": pooling of a level's features across scales — "mean" | "max" | "attention".
        scale_embedding True: FiLM of the pooled features by [log scale, log(spacing / scale)].
        dropout 0.2: before every linear head.
        default_spacing 1.0: mm per pixel/voxel when neither ``spacing=`` nor a MetaTensor affine gives one.

    ``model(x, spacing=None, return_all=False)`` returns logits (B, K). With ``return_all=True`` a dict:
    ``logits`` (B, K); ``aux_logits`` (B, L·S, K) per head in :attr:`~MultiScaleResNet.head_names` order;
    ``level_logits`` (B, L, K); ``fusion_weights`` (B, L) (not for "concat" or one level); ``scale_weights``
    (B, L, S) (not for "max").

    Example:
        >>> import torch
        >>> from medms.networks import multiscale_resnet50
        >>> model = multiscale_resnet50(spatial_dims=2, in_channels=1, num_classes=2).eval()
        >>> out = model(torch.randn(2, 1, 64, 64), return_all=True)
        >>> out["logits"].shape, out["aux_logits"].shape
        (torch.Size([2, 2]), torch.Size([2, 6, 2]))
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown multiscale_resnet50 option(s) {unknown}; known: {list(_OPTIONS)}")
    return MultiScaleResNet(spatial_dims, in_channels, num_classes, **options)


_OPTIONS = ("levels", "scales", "fusion", "scale_pool", "scale_embedding", "dropout", "default_spacing")
