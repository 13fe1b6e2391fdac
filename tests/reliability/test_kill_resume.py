"""Crash safety with a real process: SIGKILL ``medms predict`` mid-run, rerun with ``--resume``; the final CSV
holds every series exactly once and no truncated row."""

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from medms.synthetic import write_image_dicom
from medms.tables import prediction_columns

from .conftest import CLASSES

N_SERIES = 40
UID = "1.2.826.0.1.3680043.10.778.{}"


@pytest.fixture(scope="module")
def many_series(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(0)
    for i in range(N_SERIES):
        image = rng.integers(0, 4096, size=(24, 24), dtype=np.uint16)
        write_image_dicom(
            image, folder / f"img{i:03d}.dcm", modality="CR", series_uid=UID.format(i + 1), seed=i
        )
    (folder / "broken.dcm").write_bytes(b"DICM but not really")
    return folder


def _predict_cmd(checkpoint, folder, out, *extra):
    return [
        sys.executable, "-m", "medms.cli", "predict", "--model", str(checkpoint), "--input", str(folder),
        "--output", str(out), "--batch-size", "1", "--workers", "0", "--device", "cpu", "--no-progress", *extra,
    ]  # fmt: skip


def _complete_data_lines(path) -> int:
    if not path.exists():
        return 0
    return max(path.read_bytes().count(b"\n") - 1, 0)


def test_sigkill_mid_run_then_resume_gives_each_series_once(checkpoint, many_series, tmp_path):
    out = tmp_path / "pred.csv"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        _predict_cmd(checkpoint, many_series, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 240
    try:
        while _complete_data_lines(out) < 1:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no prediction row within 240 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    before = out.read_bytes()
    n_before = before.count(b"\n") - 1
    assert 1 <= n_before < N_SERIES, "the kill must land mid-run"
    # a kill inside a write leaves a half line: add one, as a torn write would, to check that resume cuts it
    with open(out, "ab") as fh:
        fh.write(UID.format(N_SERIES).encode() + b",/torn/row,0.12")

    done = subprocess.run(
        _predict_cmd(checkpoint, many_series, out, "--resume"), env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.read_bytes().startswith(before)  # rows written before the kill are kept as they were
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, data = rows[0], rows[1:]
    assert header == prediction_columns(CLASSES)
    assert all(len(r) == len(header) for r in data)  # no truncated row
    ids = [r[0] for r in data]
    assert len(ids) == len(set(ids)) == N_SERIES
    assert set(ids) == {UID.format(i + 1) for i in range(N_SERIES)}
    assert all(r[header.index("status")] == "ok" for r in data)
    assert "/torn/row" not in out.read_text(encoding="utf-8")
    assert f"{N_SERIES - n_before} ok, 0 failed, {n_before} skipped" in done.stdout
