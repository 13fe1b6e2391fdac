"""The small modules that make the ResNet multi-scale: scale embedding (FiLM), scale pooling, level vote.

All of them start as the identity or a uniform average (zero-initialised last layers), so a fresh
multi-scale model behaves like an average of plain ResNet heads and learns to deviate from it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from medms.errors import ConfigError

__all__ = ["FUSIONS", "SCALE_POOLS", "LevelFusion", "ScaleEmbedding", "ScalePool"]

FUSIONS = ("learned", "mean", "gated", "concat")
SCALE_POOLS = ("mean", "max", "attention")


class ScaleEmbedding(nn.Module):
    """FiLM of pooled features by the scale looked at: ``f · (1 + γ) + β`` with ``(γ, β) = MLP(e)``.

    ``e`` = [log scale, log effective spacing per axis], effective spacing = spacing / scale (mm per pixel of
    the resized image). The last layer is zero-initialised, so the module starts as the identity.

    Example:
        >>> import torch
        >>> emb = ScaleEmbedding(spatial_dims=2, num_features=8)
        >>> f = torch.randn(3, 8)
        >>> torch.equal(emb(f, 0.5, torch.ones(3, 2)), f)
        True
    """

    def __init__(self, spatial_dims: int, num_features: int, hidden: int = 64) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(1 + spatial_dims, hidden), nn.SiLU(), nn.Linear(hidden, 2 * num_features)
        )
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, features: torch.Tensor, scale: float, spacing: torch.Tensor) -> torch.Tensor:
        log_scale = torch.full_like(spacing[:, :1], math.log(scale))
        e = torch.cat([log_scale, torch.log(spacing) - math.log(scale)], dim=1).to(features.dtype)
        gamma, beta = self.mlp(e).chunk(2, dim=1)
        return features * (1 + gamma) + beta


class ScalePool(nn.Module):
    """Pool one level's pooled features across the input scales: mean, max or attention (softmax scores).

    Input (B, S, C) → output (B, C) and the per-scale weights (B, S) (``None`` for max).
    """

    def __init__(self, mode: str, num_features: int) -> None:
        super().__init__()
        if mode not in SCALE_POOLS:
            raise ConfigError(f"scale_pool must be one of {SCALE_POOLS}, got {mode!r}")
        self.mode = mode
        self.score = nn.Linear(num_features, 1) if mode == "attention" else None
        if self.score is not None:
            nn.init.zeros_(self.score.weight)
            nn.init.zeros_(self.score.bias)

    def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.mode == "max":
            return f.amax(dim=1), None
        if self.score is None:
            w = torch.full(f.shape[:2], 1.0 / f.shape[1], device=f.device, dtype=f.dtype)
        else:
            w = torch.softmax(_wide(self.score(f).squeeze(-1)), dim=1).to(f.dtype)
        return (w.unsqueeze(-1) * f).sum(dim=1), w


class LevelFusion(nn.Module):
    """Vote of the per-level heads.

    - ``"mean"``: mean of the levels' log-probabilities;
    - ``"learned"``: softmax-weighted mean of log-probabilities with one learned weight per level;
    - ``"gated"``: per-sample softmax weights predicted from the pooled features of all levels;
    - ``"concat"``: one linear classifier on the concatenated pooled features (the heads stay auxiliary).

    ``forward(level_logits (B, L, K), pooled (B, ΣC))`` → fused logits (B, K) and weights (B, L) (``None`` for
    concat). A weighted mean of log-probabilities is a (normalisable) log-probability, so the output is used as
    logits: softmax of it is the weighted geometric mean of the heads' probabilities.
    """

    def __init__(
        self, mode: str, num_levels: int, num_features: int, num_classes: int, dropout: float
    ) -> None:
        super().__init__()
        if mode not in FUSIONS:
            raise ConfigError(f"fusion must be one of {FUSIONS}, got {mode!r}")
        self.mode = mode
        self.level_weights = nn.Parameter(torch.zeros(num_levels)) if mode == "learned" else None
        self.gate = nn.Linear(num_features, num_levels) if mode == "gated" else None
        if self.gate is not None:
            nn.init.zeros_(self.gate.weight)
            nn.init.zeros_(self.gate.bias)
        self.classifier = None
        if mode == "concat":
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(num_features, num_classes))

    def forward(
        self, level_logits: torch.Tensor, pooled: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.classifier is not None:
            return self.classifier(pooled), None
        batch, levels = level_logits.shape[:2]
        if self.level_weights is not None:
            w = torch.softmax(_wide(self.level_weights), dim=0).expand(batch, levels)
        elif self.gate is not None:
            w = torch.softmax(_wide(self.gate(pooled)), dim=1)
        else:
            w = torch.full(
                (batch, levels), 1.0 / levels, device=level_logits.device, dtype=_wide(level_logits).dtype
            )
        log_p = F.log_softmax(_wide(level_logits), dim=-1)
        fused = (w.unsqueeze(-1) * log_p).sum(dim=1)
        return fused.to(level_logits.dtype), w


def _wide(t: torch.Tensor) -> torch.Tensor:
    """``t`` in at least float32 (softmax of bf16/fp16 logits is unstable; float64 stays float64)."""
    return t.to(torch.promote_types(t.dtype, torch.float32))
