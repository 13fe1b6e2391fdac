"""medms.metrics stays pure numpy/scipy/scikit-learn: no io, no torch (the house's import arrows)."""

from __future__ import annotations

import subprocess
import sys


def test_metrics_imports_neither_io_nor_torch() -> None:
    code = (
        "import sys, medms.metrics\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'medms.io', 'monai')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
