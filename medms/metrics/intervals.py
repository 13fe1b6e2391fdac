"""Confidence-interval machinery: Wilson score intervals and a vectorised stratified bootstrap."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from scipy.stats import norm

from medms.errors import ConfigError
from medms.metrics.estimate import Estimate

__all__ = [
    "bootstrap_estimate",
    "bootstrap_samples",
    "bootstrap_weights",
    "percentile_interval",
    "proportion",
    "wilson_interval",
    "z_value",
]

WILSON = "Wilson score"
# Bootstrap weight matrices are built in chunks of about this many cells to bound memory.
_MAX_CELLS = 1_000_000


def z_value(level: float) -> float:
    """Two-sided standard-normal quantile for a confidence ``level`` in (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"confidence level must be in (0, 1), got {level}")
    return float(norm.ppf(0.5 + level / 2.0))


def wilson_interval(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Unlike the textbook Wald interval it stays inside [0, 1] and keeps its coverage near 0 and 1.
    Returns (nan, nan) when ``n`` is 0.

    Example:
        >>> low, high = wilson_interval(45, 50)
        >>> round(low, 3), round(high, 3)
        (0.786, 0.957)
    """
    z = z_value(level)
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    # At 0 or n successes the exact bound is 0 or 1; rounding would otherwise leave ~1e-17 off.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def proportion(successes: int, n: int, level: float, *, empty_note: str) -> Estimate:
    """A proportion with its Wilson interval; NaN with ``empty_note`` when the denominator is 0."""
    if n == 0:
        return Estimate.undefined(WILSON, empty_note)
    low, high = wilson_interval(successes, n, level)
    return Estimate(successes / n, low, high, WILSON)


def bootstrap_weights(
    strata: np.ndarray, n_bootstrap: int, rng: np.random.Generator, *, cells_per_case: int = 1
) -> Iterator[np.ndarray]:
    """Yield chunks of bootstrap resampling weights, shape (chunk, n), stratified by ``strata``.

    Weight ``w[b, i]`` is how many times case ``i`` appears in resample ``b``. Each stratum (usually the
    true class) is resampled within itself, so every resample keeps the observed class counts and
    two-class metrics stay defined. Using weights rather than index arrays lets every metric be computed
    for all resamples at once with matrix products and cumulative sums. ``cells_per_case`` tells how
    many array cells the statistic spends per case, to keep each chunk's memory bounded.
    """
    if n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    n = strata.size
    members = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    chunk = max(1, min(n_bootstrap, _MAX_CELLS // max(n * cells_per_case, 1)))
    done = 0
    while done < n_bootstrap:
        b = min(chunk, n_bootstrap - done)
        # Each resample draws every stratum's size from that stratum, with replacement; counting the
        # draws per row gives the multiplicities (far faster than rng.multinomial over many categories).
        drawn = np.hstack([idx[rng.integers(0, idx.size, size=(b, idx.size))] for idx in members])
        drawn += np.arange(b)[:, None] * n
        weights = np.bincount(drawn.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        done += b
        yield weights


def bootstrap_samples(
    statistic: Callable[[np.ndarray], dict[str, np.ndarray]],
    strata: np.ndarray,
    n_bootstrap: int,
    seed: int,
    *,
    cells_per_case: int = 1,
) -> dict[str, np.ndarray]:
    """Evaluate a vectorised ``statistic(weights) -> {name: (chunk,) array}`` over all resamples."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    for weights in bootstrap_weights(strata, n_bootstrap, rng, cells_per_case=cells_per_case):
        for name, values in statistic(weights).items():
            parts.setdefault(name, []).append(np.asarray(values, dtype=np.float64))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float, int]:
    """Percentile interval of the finite bootstrap ``samples``; also returns how many were undefined."""
    z_value(level)  # validates level
    finite = samples[np.isfinite(samples)]
    n_undefined = int(samples.size - finite.size)
    if finite.size == 0:
        return math.nan, math.nan, n_undefined
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high), n_undefined


def bootstrap_estimate(value: float, samples: np.ndarray, level: float, note: str | None = None) -> Estimate:
    """Point ``value`` with the percentile interval of its bootstrap ``samples``."""
    method = f"stratified bootstrap percentile ({samples.size} resamples)"
    if not math.isfinite(value):
        return Estimate.undefined(method, note or "undefined on these data")
    low, high, n_undefined = percentile_interval(samples, level)
    if n_undefined:
        extra = f"undefined in {n_undefined} of {samples.size} resamples (interval from the others)"
        note = f"{note}; {extra}" if note else extra
    return Estimate(float(value), low, high, method, note)
