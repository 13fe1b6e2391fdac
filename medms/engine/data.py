"""Labelled items for training: a MedMNIST-style ``.npz`` or a CSV manifest, split without patient leakage.

An item is a dict ``{"image": <path or uint8 array>, "label": int, "id": str}``; the preprocessing preset
turns ``"image"`` into a tensor (arrays and paths go through the same ``LoadSeriesd``).

Example:
    >>> from medms.engine.data import load_npz_splits
    >>> splits, names = load_npz_splits("sample_data/medmnist/breastmnist.npz")
    >>> len(splits["train"]), len(splits["val"]), len(splits["test"]), names
    (546, 78, 156, ['0', '1'])
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medms.errors import ConfigError, LabelError

__all__ = ["load_manifest_splits", "load_npz_splits", "split_items", "write_split_file"]

SPLITS = ("train", "val", "test")
Item = dict[str, Any]


def load_npz_splits(path: str | os.PathLike[str]) -> tuple[dict[str, list[Item]], list[str]]:
    """Read ``<split>_images`` / ``<split>_labels`` arrays; labels of shape (N,) or (N, 1)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the .npz archive ({err})", path=path) from err
    splits: dict[str, list[Item]] = {}
    all_labels = []
    for split in SPLITS:
        if f"{split}_images" not in arrays or f"{split}_labels" not in arrays:
            raise ConfigError(f"the archive has no {split}_images/{split}_labels arrays", path=path)
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"].reshape(-1)
        if len(images) != len(labels):
            raise ConfigError(f"{split}: {len(images)} images but {len(labels)} labels", path=path)
        splits[split] = [
            {"image": images[i], "label": int(labels[i]), "id": f"{split}-{i:05d}"}
            for i in range(len(images))
        ]
        all_labels.append(labels)
    n_classes = int(np.concatenate(all_labels).max()) + 1
    return splits, [str(c) for c in range(n_classes)]


def load_manifest_splits(
    path: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    group_column: str | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> tuple[dict[str, list[Item]], list[str]]:
    """Read a ``path,label[,split][,<group_column>]`` CSV; relative paths resolve against the CSV's folder.

    Without a ``split`` column a stratified split is made (grouped by ``group_column`` when given, so that no
    patient lands in two splits). With one, patient overlap between splits is an error.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        rows = list(reader)
    for needed in ("path", "label", *([group_column] if group_column else [])):
        if needed not in columns:
            raise ConfigError(
                f"the manifest has no {needed!r} column (columns: {', '.join(columns)})", path=path
            )
    if not rows:
        raise ConfigError("the manifest has no rows", path=path)
    names = list(class_names) if class_names else sorted({r["label"] for r in rows}, key=_natural)
    index = {name: i for i, name in enumerate(names)}
    items: list[Item] = []
    for line, row in enumerate(rows, start=2):
        label = row["label"]
        if label not in index:
            if label.isdigit() and int(label) < len(names):
                label = names[int(label)]
            else:
                raise LabelError(f"row {line}: label {label!r} is not one of {names}", path=path)
        image = Path(row["path"])
        image = image if image.is_absolute() else path.parent / image
        if not image.exists():
            raise ConfigError(f"row {line}: image not found: {row['path']}", path=path)
        item: Item = {"image": str(image), "label": index[label], "id": row.get("id") or row["path"]}
        if group_column:
            item["group"] = row[group_column]
        if "split" in columns:
            if row["split"] not in SPLITS:
                raise ConfigError(
                    f"row {line}: split must be train, val or test, got {row['split']!r}", path=path
                )
            item["split"] = row["split"]
        items.append(item)
    if "split" in columns:
        splits = {s: [it for it in items if it["split"] == s] for s in SPLITS}
        _check_no_group_overlap(splits, path)
    else:
        splits = split_items(items, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    return splits, names


def split_items(
    items: list[Item], *, val_fraction: float, test_fraction: float, seed: int = 0
) -> dict[str, list[Item]]:
    """Stratified split into train/val/test, grouped by ``item["group"]`` when present."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit

    labels = np.array([it["label"] for it in items])
    if len(np.unique(labels)) < 2:
        raise LabelError("the labels hold a single class; a classifier needs at least two")
    remaining = np.arange(len(items))
    chosen: dict[str, np.ndarray] = {}
    for split, fraction in (("test", test_fraction), ("val", val_fraction)):
        if fraction <= 0:
            chosen[split] = np.array([], dtype=int)
            continue
        share = fraction / (len(remaining) / len(items))  # fraction of what is left
        sub_labels = labels[remaining]
        if "group" in items[0]:
            groups = np.array([items[i]["group"] for i in remaining])
            k = max(2, round(1 / share))
            splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            keep, take = next(splitter.split(remaining, sub_labels, groups))
        else:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=share, random_state=seed)
            keep, take = next(splitter.split(remaining, sub_labels))
        chosen[split] = remaining[take]
        remaining = remaining[keep]
    chosen["train"] = remaining
    return {s: [dict(items[i], split=s) for i in sorted(chosen[s])] for s in SPLITS}


def write_split_file(splits: dict[str, list[Item]], path: str | os.PathLike[str]) -> None:
    """Record which item went to which split (id, label, split[, group]) as CSV."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label", "split", "group"])
        for split in SPLITS:
            for it in splits[split]:
                writer.writerow([it["id"], it["label"], split, it.get("group", "")])


def _check_no_group_overlap(splits: dict[str, list[Item]], path: Path) -> None:
    first_split: dict[str, str] = {}
    clashes: set[tuple[str, str]] = set()
    for split in SPLITS:
        for it in splits[split]:
            group = it.get("group")
            if group is None:
                continue
            first = first_split.setdefault(group, split)
            if first != split and (first, split) not in clashes:
                clashes.add((first, split))
    if clashes:
        # group values are patient/study ids: count them, never print them
        pairs = ", ".join(f"{a}/{b}" for a, b in sorted(clashes))
        raise ConfigError(
            f"patient/study groups appear in more than one split ({pairs}); each group must stay in one split",
            path=path,
        )


def _natural(text: str) -> tuple[int, int | str]:
    return (0, int(text)) if text.isdigit() else (1, text)
