"""Series-level predictions to study or patient level, by an id column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from medms.errors import ConfigError, DataError, LabelError
from medms.metrics._checks import check_probs

__all__ = ["aggregate"]


def aggregate(
    ids: Sequence[object] | np.ndarray,
    probs: np.ndarray,
    how: str = "max",
    labels: Sequence[object] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine the rows that share an id (e.g. the series of one study) into one row per id.

    - ``how="mean"``: the average of the rows' probabilities.
    - ``how="max"``: binary - the highest positive-class probability (the study is as suspicious as
      its most suspicious series); multi-class - each class's highest probability, renormalised so
      the row sums to 1.

    Ids come back in order of first appearance. A 1-D ``probs`` (positive-class probability) comes
    back 1-D. With ``labels``, each id's label is returned too; rows of one id must agree on it.

    Example:
        >>> ids, p, y = aggregate(["s1", "s1", "s2"], np.array([0.2, 0.7, 0.4]), "max", labels=[1, 1, 0])
        >>> ids.tolist(), p.tolist(), y.tolist()
        (['s1', 's2'], [0.7, 0.4], [1, 0])
    """
    if how not in ("max", "mean"):
        raise ConfigError(f"aggregation must be 'max' or 'mean', got {how!r}")
    one_dim = np.ndim(probs) == 1
    p = check_probs(probs)
    id_values = np.asarray(ids, dtype=object).ravel()
    if id_values.size != p.shape[0]:
        raise DataError(f"{id_values.size} ids for {p.shape[0]} prediction rows")
    codes, uniques = pd.factorize(pd.Series(id_values), sort=False)
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        raise DataError(f"{missing.size} rows have no id (rows {missing[:5].tolist()}); fill the id column")

    frame = pd.DataFrame(p).groupby(codes, sort=True)
    if how == "mean":
        out = frame.mean().to_numpy()
    elif p.shape[1] == 2:
        top = frame[1].max().to_numpy()
        out = np.column_stack([1.0 - top, top])
    else:
        out = frame.max().to_numpy()
        out = out / out.sum(axis=1, keepdims=True)
    result_ids = np.asarray(uniques, dtype=object)
    result_p = out[:, 1] if one_dim else out
    if labels is None:
        return result_ids, result_p
    lab = pd.Series(np.asarray(labels, dtype=object).ravel())
    if lab.size != p.shape[0]:
        raise LabelError(f"{lab.size} labels for {p.shape[0]} prediction rows")
    per_id = lab.groupby(codes, sort=True).nunique(dropna=False)
    conflict = np.flatnonzero(per_id.to_numpy() > 1)
    if conflict.size:
        shown = ", ".join(str(uniques[i]) for i in conflict[:5])
        raise LabelError(
            f"{conflict.size} ids have rows with different labels (e.g. {shown}); fix the labels"
        )
    first = lab.groupby(codes, sort=True).first().to_numpy()
    return result_ids, result_p, np.asarray(first.tolist())
