"""Multi-class metrics: confusion matrix, one-vs-rest AUC averages and argmax-prediction metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medms.errors import ConfigError
from medms.metrics._checks import check_class_names, check_labels, check_probs
from medms.metrics.estimate import Estimate
from medms.metrics.intervals import bootstrap_estimate, bootstrap_samples, proportion
from medms.metrics.roc import RankedCases

__all__ = ["auc_averages", "confusion_matrix", "multiclass_metrics", "one_vs_rest", "rates_from_confusion"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, labels: Sequence[str]) -> dict[str, list]:
    """K x K confusion matrix: rows are the true class, columns the predicted class.

    ``"normalized"`` divides each row by its total (so the diagonal is each class's sensitivity);
    a row with no cases is NaN.

    Example:
        >>> cm = confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), labels=["a", "b", "c"])
        >>> cm["counts"]
        [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    """
    names = [str(c) for c in labels]
    k = len(names)
    t = check_labels(y_true, k)
    p = check_labels(y_pred, k, n=t.size)
    counts = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalized = counts / counts.sum(axis=1, keepdims=True)
    return {"labels": names, "counts": counts.tolist(), "normalized": normalized.tolist()}


def rates_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy, macro F1, MCC and kappa from confusion matrices (..., K, K).

    Balanced accuracy and macro F1 average over the classes present among the true labels.
    """
    cm = np.asarray(cm, dtype=np.float64)
    total = cm.sum(axis=(-2, -1))
    diag = np.diagonal(cm, axis1=-2, axis2=-1)
    true_k, pred_k = cm.sum(axis=-1), cm.sum(axis=-2)
    present = true_k > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(present, diag / true_k, 0.0)
        f1 = np.where(present, 2.0 * diag / (true_k + pred_k), 0.0)
        n_present = present.sum(axis=-1)
        expected = np.sum(true_k * pred_k, axis=-1)
        correct = diag.sum(axis=-1)
        mcc_den = np.sqrt((total**2 - np.sum(pred_k**2, axis=-1)) * (total**2 - np.sum(true_k**2, axis=-1)))
        return {
            "accuracy": correct / total,
            "balanced_accuracy": recall.sum(axis=-1) / n_present,
            "macro_f1": f1.sum(axis=-1) / n_present,
            "mcc": (correct * total - expected) / mcc_den,
            "kappa": (correct / total - expected / total**2) / (1.0 - expected / total**2),
        }


def multiclass_metrics(
    y_true: np.ndarray, probs: np.ndarray, *, level: float = 0.95, n_bootstrap: int = 2000, seed: int = 0
) -> dict[str, Estimate]:
    """Metrics of the argmax prediction: accuracy (Wilson), balanced accuracy, macro F1, MCC, kappa.

    Example:
        >>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2]])
        >>> round(multiclass_metrics(np.array([0, 1, 2, 2]), p, n_bootstrap=50)["accuracy"].value, 2)
        0.75
    """
    p = check_probs(probs)
    k = p.shape[1]
    y = check_labels(y_true, k, n=p.shape[0])
    pred = np.argmax(p, axis=1)
    cell = np.eye(k * k)[y * k + pred]  # (n, K*K): which confusion cell each case falls in
    point = rates_from_confusion(np.bincount(y * k + pred, minlength=k * k).reshape(k, k))
    names = ("balanced_accuracy", "macro_f1", "mcc", "kappa")

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        rates = rates_from_confusion((weights @ cell).reshape(-1, k, k))
        return {name: rates[name] for name in names}

    samples = bootstrap_samples(statistic, y, n_bootstrap, seed)
    out = {"accuracy": proportion(int(np.sum(pred == y)), y.size, level, empty_note="no cases")}
    for name in names:
        note = "every case was called the same class" if not np.isfinite(point[name]) else None
        out[name] = bootstrap_estimate(float(point[name]), samples[name], level, note)
    return out


def one_vs_rest(
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    micro: bool = True,
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, object]:
    """One-vs-rest AUC and average precision: per class and macro/micro/weighted averages, bootstrapped.

    All values come from one stratified bootstrap, so the per-class and averaged intervals are
    consistent with one another. Macro is the plain mean over classes, weighted uses each class's
    share of cases, micro pools every (case, class) pair into one binary problem (skipped with
    ``micro=False``). A class with no cases (or only cases) has no one-vs-rest value and is left out
    of the averages, which the note says. Returns ``{"auc": {"macro", "micro", "weighted"},
    "average_precision": {...}, "per_class_auc": [Estimate], "per_class_average_precision": [Estimate]}``.

    Example:
        >>> y = np.repeat([0, 1, 2], 20)
        >>> p = np.random.default_rng(0).dirichlet([1, 1, 1], 60) + 2 * np.eye(3)[y]
        >>> ovr = one_vs_rest(y, p / p.sum(1, keepdims=True), n_bootstrap=100)
        >>> sorted(ovr["auc"]), ovr["auc"]["macro"].value > 0.9
        (['macro', 'micro', 'weighted'], True)
    """
    p = check_probs(probs)
    k = p.shape[1]
    y = check_labels(y_true, k, n=p.shape[0])
    names = check_class_names(class_names if class_names is not None else range(k), k)
    onehot = np.eye(k, dtype=bool)[y]
    share = onehot.mean(axis=0)
    defined = np.flatnonzero((share > 0) & (share < 1))
    note = None
    if defined.size < k:
        missing = [names[j] for j in range(k) if j not in defined]
        note = (
            f"no one-vs-rest value for {', '.join(missing)} (no cases or only cases); averaged over the rest"
        )
    kinds = ("auc", "ap")
    ranked = {j: RankedCases(onehot[:, j], p[:, j]) for j in defined}
    pooled_ranked = RankedCases(onehot.ravel(), p.ravel()) if micro else None

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        nan = np.full(weights.shape[0], np.nan)
        per = {kind: np.full((k, weights.shape[0]), np.nan) for kind in kinds}
        for j in defined:
            per["auc"][j], per["ap"][j] = ranked[j].auc_ap(weights)
        out = {f"{kind}_class{j}": per[kind][j] for kind in kinds for j in range(k)}
        for kind in kinds:
            values = per[kind][defined]
            out[f"{kind}_macro"] = values.mean(axis=0) if defined.size else nan
            out[f"{kind}_weighted"] = share[defined] @ values / share[defined].sum() if defined.size else nan
        if pooled_ranked is not None:
            out["auc_micro"], out["ap_micro"] = pooled_ranked.auc_ap(np.repeat(weights, k, axis=1))
        return out

    point = {name: float(v[0]) for name, v in statistic(np.ones((1, y.size))).items()}
    samples = bootstrap_samples(statistic, y, n_bootstrap, seed, cells_per_case=k + 1 if micro else 1)
    averages = ("macro", "micro", "weighted") if micro else ("macro", "weighted")
    result: dict[str, object] = {}
    for kind, label in (("auc", "auc"), ("ap", "average_precision")):
        result[label] = {
            avg: bootstrap_estimate(point[f"{kind}_{avg}"], samples[f"{kind}_{avg}"], level, note)
            for avg in averages
        }
        result[f"per_class_{label}"] = [
            bootstrap_estimate(
                point[f"{kind}_class{j}"],
                samples[f"{kind}_class{j}"],
                level,
                None if j in defined else "only one class present in one-vs-rest",
            )
            for j in range(k)
        ]
    return result


def auc_averages(
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    metric: str = "auc",
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Macro, micro and prevalence-weighted one-vs-rest ROC AUC with stratified bootstrap intervals.

    ``metric="average_precision"`` gives the same three averages of average precision instead.
    See :func:`one_vs_rest` for the definitions.

    Example:
        >>> y = np.repeat([0, 1, 2], 20)
        >>> p = np.random.default_rng(0).dirichlet([1, 1, 1], 60) + 2 * np.eye(3)[y]
        >>> avg = auc_averages(y, p / p.sum(1, keepdims=True), n_bootstrap=100)
        >>> sorted(avg), avg["macro"].value > 0.9
        (['macro', 'micro', 'weighted'], True)
    """
    if metric not in ("auc", "average_precision"):
        raise ConfigError(f"metric must be 'auc' or 'average_precision', got {metric!r}")
    result = one_vs_rest(
        y_true, probs, class_names=class_names, level=level, n_bootstrap=n_bootstrap, seed=seed
    )
    return result[metric]  # type: ignore[return-value]
