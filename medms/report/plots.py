"""The report's figures, drawn with matplotlib's Agg canvas and returned as PNG bytes.

Each function takes plain numbers (curve points, bin statistics, counts), never a file, so the same figure
can be drawn from a fresh evaluation or from a saved ``report.json``. No pyplot: a bare ``Figure`` with an
Agg canvas keeps no global state and needs no display.

Example:
    >>> png = roc_figure([("model", [0.0, 0.2, 1.0], [0.0, 0.7, 1.0], 0.8)], operating_point=(0.2, 0.7))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "calibration_figure",
    "confusion_figure",
    "png_data_uri",
    "pr_figure",
    "roc_figure",
    "score_distribution_figure",
]

Curve = tuple[str, Sequence[float], Sequence[float], float | None]
_SIZE = (5.0, 4.2)
_DPI = 100
_CHANCE = {"color": "0.6", "linestyle": "--", "linewidth": 1}


def _new_figure(size: tuple[float, float] = _SIZE) -> tuple[Figure, object]:
    fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software"/date metadata: the same numbers give the same bytes.
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """A ``data:`` URI that embeds PNG bytes in HTML or Markdown without an external file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _label(name: str, area: float | None, what: str) -> str:
    return name if area is None or not np.isfinite(area) else f"{name} ({what} {area:.3f})"


def roc_figure(curves: Sequence[Curve], *, operating_point: tuple[float, float] | None = None) -> bytes:
    """ROC curves ``(name, fpr, tpr, auc)`` with the chance line and the operating point (1−spec, sens)."""
    fig, ax = _new_figure()
    ax.plot([0, 1], [0, 1], **_CHANCE, label="chance")
    for name, fpr, tpr, auc in curves:
        ax.plot(fpr, tpr, linewidth=1.8, label=_label(name, auc, "AUC"))
    if operating_point is not None:
        ax.plot(*operating_point, "o", color="black", markersize=8, label="operating point", zorder=5)
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal", title="ROC curve")
    ax.set(xlabel="1 − specificity (false positive rate)", ylabel="sensitivity (true positive rate)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def pr_figure(curves: Sequence[Curve], *, prevalence: float | None = None) -> bytes:
    """Precision–recall curves ``(name, recall, precision, average_precision)`` and the prevalence line."""
    fig, ax = _new_figure()
    if prevalence is not None:
        ax.axhline(prevalence, **_CHANCE, label=f"prevalence {prevalence:.3f}")
    for name, recall, precision, ap in curves:
        ax.step(recall, precision, where="post", linewidth=1.8, label=_label(name, ap, "AP"))
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), title="Precision–recall curve")
    ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def calibration_figure(bins: Sequence[Mapping[str, float]], *, title: str = "Reliability diagram") -> bytes:
    """Reliability diagram from bins ``{lower, upper, mean_predicted, fraction_positive, count}``.

    Empty bins are skipped; the lower panel shows how many cases each bin holds.
    """
    fig = Figure(figsize=(_SIZE[0], 5.0), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    used = [b for b in bins if b.get("count", 0)]
    top.plot([0, 1], [0, 1], **_CHANCE, label="perfect calibration")
    if used:
        top.plot(
            [b["mean_predicted"] for b in used],
            [b["fraction_positive"] for b in used],
            "o-",
            linewidth=1.8,
            label="model",
        )
    top.set(xlim=(0, 1), ylim=(-0.01, 1.01), ylabel="observed fraction positive", title=title)
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    lowers = [b["lower"] for b in bins]
    widths = [b["upper"] - b["lower"] for b in bins]
    bottom.bar(lowers, [b.get("count", 0) for b in bins], width=widths, align="edge", edgecolor="white")
    bottom.set(xlabel="mean predicted probability", ylabel="cases")
    return _png(fig)


def confusion_figure(labels: Sequence[str], counts: Sequence[Sequence[int]]) -> bytes:
    """Confusion matrix (rows: true class, columns: predicted class), each cell: count and row %."""
    matrix = np.asarray(counts, dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    rates = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    size = max(3.6, 1.1 * len(labels) + 2.2)
    fig, ax = _new_figure((size, size * 0.9))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if rates[row, col] > 0.6 else "black"
        text = f"{int(value)}\n{100 * rates[row, col]:.1f}%"
        ax.text(col, row, text, ha="center", va="center", color=colour, fontsize=10)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels=list(labels), rotation=30 if len(labels) > 3 else 0)
    ax.set_yticks(ticks, labels=list(labels))
    ax.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix")
    return _png(fig)


def score_distribution_figure(
    scores: Mapping[str, Sequence[float]], *, score_name: str, threshold: float | None = None
) -> bytes:
    """Histograms of one score (e.g. ``P(malignant)``) for each true class, with the threshold."""
    fig, ax = _new_figure((_SIZE[0] + 0.6, _SIZE[1] - 0.6))
    edges = np.linspace(0.0, 1.0, 21)
    for name, values in scores.items():
        values = np.asarray(values, dtype=float)
        ax.hist(values, bins=edges, alpha=0.55, label=f"true {name} (n={values.size})", edgecolor="white")
    if threshold is not None:
        ax.axvline(
            threshold, color="black", linestyle="--", linewidth=1.2, label=f"threshold {threshold:.3g}"
        )
    ax.set(xlim=(0, 1), xlabel=score_name, ylabel="cases", title="Score distribution per true class")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)
