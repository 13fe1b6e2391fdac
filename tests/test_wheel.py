"""An installed wheel works on its own: ``medms demo`` from a fresh virtual environment, outside the source tree.

The wheel is built from this checkout (no build isolation, nothing downloaded); the new environment gets only the
wheel and sees the already installed dependencies (torch, MONAI, …) through a path entry, never this source tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, env={**env, "PYTHONWARNINGS": "ignore"}, **kw
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_demo_runs_from_a_wheel_in_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        tmp_path,
    )
    wheel = next(dist.glob("medms-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path
        ).stdout.strip()
    )
    # the dependencies already installed here, as a plain path entry (its .pth files, e.g. the editable
    # install of this checkout, are not processed)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run(
        [
            str(python),
            "-c",
            "import medms, medms.datasets as d; print(medms.__file__); print(d.breastmnist_path())",
        ],
        work,
    )
    assert all(line.startswith(str(site)) for line in where.stdout.split()), (
        where.stdout
    )  # not this source tree
    demo = [
        str(env_dir / "bin" / "medms"),
        "demo",
        "--epochs",
        "1",
        "--size",
        "32",
        "--workers",
        "0",
        "--no-progress",
    ]
    _run(demo, work, timeout=1200)
    report = json.loads((work / "medms-demo" / "report" / "report.json").read_text())
    assert report["metrics"]["n"] == 156
