"""What produced an output: versions, git commit, device, time — written next to every run's outputs.

Example:
    >>> from medms.provenance import environment
    >>> info = environment()
    >>> info["medms"] == __version__ and "torch" in info and "git_commit" in info
    True
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from medms import __version__
from medms.atomic import write_json_atomic

__all__ = ["environment", "write_run_manifest"]

_PACKAGES = (
    "monai",
    "torch",
    "numpy",
    "pydicom",
    "scikit-learn",
    "scipy",
    "scikit-image",
    "nibabel",
    "pandas",
    "matplotlib",
)


def environment() -> dict[str, Any]:
    """Versions of medms and its main dependencies, the git commit of the source tree (if any), Python, host."""
    versions: dict[str, str | None] = {"medms": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    versions["platform"] = platform.platform()
    versions["git_commit"] = _git_commit()
    return versions


def write_run_manifest(folder: str | os.PathLike[str], **entries: Any) -> Path:
    """Write ``run_manifest.json`` (environment + UTC time + the given entries: config, seed, device, sha256 …)."""
    manifest = {
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "environment": environment(),
        **entries,
    }
    path = Path(folder) / "run_manifest.json"
    write_json_atomic(path, manifest)
    return path


def _git_commit() -> str | None:
    source = Path(__file__).resolve().parent.parent
    if not (source / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
