"""report.html in a real browser (headless Chromium): it renders, its images decode, the console stays quiet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from medms.report import evaluate

from .conftest import binary_scores, make_binary_case, write_predictions

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="headless Chromium not installed (Debian package 'chromium')"
    ),
]
# Chromium's own log lines look like "[pid:tid:time:INFO:CONSOLE:12] "message", source: file:///... (12)".
CONSOLE_LINE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(.*)")
WINDOW = (1200, 2400)
TIMEOUT_S = 120
# Reports each image's load state into the DOM; the report itself carries no script (its CSP forbids one).
PROBE = (
    "<script>window.addEventListener('load', function () {"
    "document.body.setAttribute('data-images', JSON.stringify(Array.from(document.images).map("
    "function (i) { return [i.complete, i.naturalWidth, i.naturalHeight]; })));});</script>"
)


def _chromium(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        url,
    ]
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"Chromium did not finish within {TIMEOUT_S} s: {err}")


def _console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in map(CONSOLE_LINE.search, stderr.splitlines()) if m]


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    case = make_binary_case(tmp_path_factory.mktemp("browser"))
    folder = case["dir"]
    _, other = binary_scores(40, seed=9, signal=0.1)
    write_predictions(folder / "other.csv", case["ids"], other)
    result = evaluate(
        folder / "test.csv",
        folder / "labels.csv",
        folder / "report",
        threshold_from=folder / "val.csv",
        subgroup=["site"],
        compare=folder / "other.csv",
        n_bootstrap=30,
    )
    return result.html


def test_report_renders_without_console_errors(report_html: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    run = _chromium(tmp_path, report_html.as_uri(), f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 0, f"no screenshot; Chromium said:\n{run.stderr[-2000:]}"
    image = matplotlib.image.imread(shot)[..., :3]
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    assert image.std() > 0.05, "the page rendered as one flat colour"
    # Figures are drawn in more than the page's few flat colours.
    assert np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0).shape[0] > 50
    assert _console_messages(run.stderr) == []


def test_embedded_images_decode_in_the_browser(report_html: Path, tmp_path: Path) -> None:
    html = report_html.read_text(encoding="utf-8")
    expected = html.count("<img ")
    probe = tmp_path / "probe.html"
    # Only the CSP meta is dropped so that the probe script may run; the images are the report's own bytes.
    probe.write_text(
        re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html).replace(
            "</body>", PROBE + "</body>"
        ),
        encoding="utf-8",
    )
    run = _chromium(tmp_path, probe.as_uri(), "--dump-dom")
    found = re.search(r'data-images="([^"]*)"', run.stdout)
    assert found, f"probe did not run; Chromium said:\n{run.stderr[-2000:]}"
    images = json.loads(found.group(1).replace("&quot;", '"'))
    assert expected == 6 and len(images) == expected
    for complete, width, height in images:
        assert complete and width > 300 and height > 300


def test_console_check_catches_errors(tmp_path: Path) -> None:
    # Negative control: the same check must see an error when a page has one.
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><title>x</title><script>console.error('boom'); notDefined();</script>")
    messages = _console_messages(_chromium(tmp_path, page.as_uri(), "--dump-dom").stderr)
    assert any("boom" in m for m in messages)
    assert any("notDefined" in m for m in messages)
