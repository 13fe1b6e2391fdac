"""The first lines of a torch benchmark's Markdown: machine, threads, versions, command and load.

Needs only the standard library and torch (the GPU machine may have nothing else).
"""

from __future__ import annotations

import os
import platform
import sys

import torch


def run_header(device: str) -> list[str]:
    """Header lines (then a blank line) for a run on ``device`` (``"cpu"`` or ``"cuda"``)."""
    return [
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}" + (f", GPU {torch.cuda.get_device_name()}" if device == "cuda" else ""),
        f"Command: `python {' '.join(sys.argv)}`; load average at start {os.getloadavg()[0]:.1f} "
        "(other jobs share the machine when it is above the core count)",
        "",
    ]
