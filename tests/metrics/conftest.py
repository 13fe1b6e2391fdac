"""Simulated data shared by the metrics tests."""

from __future__ import annotations

import numpy as np
import pytest


def binormal(rng: np.random.Generator, n_neg: int, n_pos: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores with negatives ~ N(0, 1) and positives ~ N(shift, 1); true AUC = Phi(shift/sqrt 2)."""
    y = np.r_[np.zeros(n_neg, dtype=int), np.ones(n_pos, dtype=int)]
    score = np.r_[rng.normal(0.0, 1.0, n_neg), rng.normal(shift, 1.0, n_pos)]
    return y, score


def softmax_probs(rng: np.random.Generator, y: np.ndarray, k: int, signal: float = 1.0) -> np.ndarray:
    """Probabilities (n, k) whose rows sum to 1 and lean towards the true class."""
    logits = rng.normal(size=(y.size, k)) + signal * np.eye(k)[y]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
