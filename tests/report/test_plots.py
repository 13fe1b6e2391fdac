"""The figures: valid PNGs that show something, from plain numbers."""

from __future__ import annotations

import base64
import io

import matplotlib.image
import numpy as np
import pytest

from medms.report.plots import (
    calibration_figure,
    confusion_figure,
    png_data_uri,
    pr_figure,
    roc_figure,
    score_distribution_figure,
)

BINS = [
    {
        "lower": k / 4,
        "upper": (k + 1) / 4,
        "mean_predicted": k / 4 + 0.1,
        "fraction_positive": k / 4,
        "count": k,
    }
    for k in range(4)
]


def _decode(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return matplotlib.image.imread(io.BytesIO(png), format="png")


@pytest.mark.parametrize(
    "draw",
    [
        lambda: roc_figure([("m", [0, 0.1, 1], [0, 0.8, 1], 0.85)], operating_point=(0.1, 0.8)),
        lambda: roc_figure([("m", [0, 1], [0, 1], float("nan"))]),
        lambda: pr_figure([("m", [0, 0.5, 1], [1, 0.9, 0.5], 0.8)], prevalence=0.5),
        lambda: calibration_figure(BINS),
        lambda: calibration_figure([{**b, "count": 0, "mean_predicted": float("nan")} for b in BINS]),
        lambda: confusion_figure(["a", "b"], [[5, 1], [2, 7]]),
        lambda: confusion_figure(
            ["a", "b", "c", "d"], [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 2, 1], [0, 1, 0, 3]]
        ),
        lambda: score_distribution_figure(
            {"a": [0.1, 0.2], "b": [0.8, 0.9, 0.7]}, score_name="P(b)", threshold=0.5
        ),
    ],
)
def test_figures_are_pngs_with_content(draw) -> None:
    image = _decode(draw())
    assert image.shape[0] >= 300 and image.shape[1] >= 300
    assert image[..., :3].std() > 0.05


def test_same_numbers_give_the_same_bytes() -> None:
    assert confusion_figure(["a", "b"], [[5, 1], [2, 7]]) == confusion_figure(["a", "b"], [[5, 1], [2, 7]])


def test_confusion_figure_shades_by_row_rate() -> None:
    # The cell holding 100 % of its row is darker than the one holding 0 %.
    image = _decode(confusion_figure(["a", "b"], [[10, 0], [0, 10]]))[..., :3].mean(axis=2)
    height, width = image.shape
    diagonal = image[int(height * 0.3), int(width * 0.35)]
    off_diagonal = image[int(height * 0.3), int(width * 0.75)]
    assert diagonal < off_diagonal


def test_data_uri_round_trips() -> None:
    png = roc_figure([("m", [0, 1], [0, 1], 0.5)])
    uri = png_data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
