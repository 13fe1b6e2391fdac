"""Golden outputs: every registered network, built from a fixed seed, gives pinned logits for a fixed input.

A refactor that silently changes a model (initialisation order, layer wiring, fusion, defaults) fails here. The
forward pass runs in float64, so the pinned numbers do not depend on the CPU's summation order; the tolerance is
float64's. When a change to a model is *meant*, regenerate the pins (``python tests/networks/test_golden.py``) and
say why in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from medms.networks import NETWORKS, build_network

PINS = Path(__file__).with_name("golden_logits.json")
CASES = [(name, dims) for name in sorted(NETWORKS) for dims in (2, 3)]


def _logits(name: str, dims: int) -> list[list[float]]:
    torch.manual_seed(1234)
    model = build_network(name, spatial_dims=dims, in_channels=1, num_classes=3).eval().double()
    x = torch.randn((2, 1, *([32] * dims)), generator=torch.Generator().manual_seed(99), dtype=torch.float64)
    with torch.no_grad():
        return model(x).tolist()


def test_every_registered_network_is_pinned():
    assert set(json.loads(PINS.read_text())) == {f"{n}/{d}d" for n, d in CASES}


@pytest.mark.parametrize(("name", "dims"), CASES)
def test_logits_match_the_pins(name, dims):
    pinned = torch.tensor(json.loads(PINS.read_text())[f"{name}/{dims}d"], dtype=torch.float64)
    got = torch.tensor(_logits(name, dims), dtype=torch.float64)
    torch.testing.assert_close(got, pinned, rtol=1e-9, atol=1e-9)


if __name__ == "__main__":  # regenerate the pins
    PINS.write_text(json.dumps({f"{n}/{d}d": _logits(n, d) for n, d in CASES}, indent=1) + "\n")
    sys.exit(0)
