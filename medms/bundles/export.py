"""Turn a ``medms train`` run into a MONAI bundle, and install trained weights into an existing bundle.

Example:
    >>> from medms.bundles import export_bundle
    >>> export_bundle("runs/bm", "bundles/bm")  # doctest: +SKIP
    PosixPath('bundles/bm')
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from medms.bundles.layout import BundleSpec, write_bundle
from medms.bundles.verify import verify_bundle
from medms.errors import CheckpointError, ConfigError, OutputError

__all__ = ["bundle_readme", "export_bundle", "install_weights", "models_readme"]


def _best(run_dir: Path) -> Path:
    from medms.engine.predict import resolve_checkpoint

    if run_dir.is_dir() and not (run_dir / "best.pt").is_file():
        raise CheckpointError("not a medms train run folder: best.pt is missing", path=run_dir)
    return resolve_checkpoint(run_dir)


def _measured_metrics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    test = data.get("test") or {}
    out: dict[str, Any] = {"source": f"medms train test split, best epoch {data.get('best_epoch')}"}
    if "auc" in test:
        out["test_auc"] = test["auc"]
    if "accuracy" in test:
        out["test_accuracy"] = test["accuracy"]
    if "n" in test:
        out["test_n"] = test["n"]
    return out


def install_weights(run_dir: str | os.PathLike[str], bundle_root: str | os.PathLike[str]) -> str:
    """Copy a run's ``best.pt`` to ``bundle_root/models/model.pt``; record its sha256 (and the run's measured
    test metrics) in ``configs/metadata.json``; return the sha256.

    Raises:
        CheckpointError: the run's checkpoint is missing, tampered with, or differs from the bundle's spec.
    """
    from medms.engine.checkpoint import load_checkpoint

    run, root = Path(run_dir), Path(bundle_root)
    ckpt = load_checkpoint(_best(run))
    meta_path = root / "configs" / "metadata.json"
    meta = verify_bundle(root, check_weights=False).metadata
    (root / "models").mkdir(exist_ok=True)
    target = root / "models" / "model.pt"
    tmp = target.with_name("model.pt.tmp")
    shutil.copyfile(ckpt["path"], tmp)
    os.replace(tmp, target)
    meta["medms"]["weights_sha256"] = ckpt["sha256"]
    metrics = _measured_metrics(run)
    if metrics:
        meta["eval_metrics"] = metrics
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    verify_bundle(root)  # the installed weights must fit the bundle (classes, preset, shapes)
    return ckpt["sha256"]


def export_bundle(
    run_dir: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    name: str | None = None,
    modality: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a MONAI bundle for a ``medms train`` run (its ``best.pt``): configs, metadata, docs, LICENSE and
    ``models/model.pt`` with its sha256 in the metadata. The bundle then runs with ``python -m monai.bundle``
    and with ``medms predict --model OUTPUT``.

    Raises:
        CheckpointError: the run has no readable checkpoint.
        OutputError: ``output`` exists and is not empty, without ``overwrite``.
    """
    run, out = Path(run_dir), Path(output)
    from medms.engine.checkpoint import load_checkpoint

    ckpt = load_checkpoint(_best(run))
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError("the bundle folder is not empty; pass --overwrite or choose another one", path=out)
    config = ckpt.get("config") or {}
    data = {k: v for k, v in (config.get("data") or {}).items() if k in ("npz", "manifest", "group_column")}
    if not data:
        raise ConfigError(
            "the checkpoint carries no training data section; cannot write train.json", path=run
        )
    options = dict(ckpt["model"]["options"])
    nd = int(options.get("spatial_dims", 2))
    preset = ckpt["preprocessing"]["preset"]
    modality = modality or (
        "CT" if preset == "ct_volume" else "US" if preset in ("ultrasound", "medmnist") else "OT"
    )
    spec = BundleSpec(
        name=name or f"medms {ckpt['model']['name']} ({nd}D, {preset})",
        task=f"{nd}D classification of {modality} images into {', '.join(ckpt['class_names'])}",
        description=f"{ckpt['model']['name']} trained with medms; exported from a medms train run.",
        modality=modality,
        preset=preset,
        preset_options=dict(ckpt["preprocessing"]["options"]),
        network=ckpt["model"]["name"],
        network_options=options,
        class_names=list(ckpt["class_names"]),
        data=data,
        train={
            k: (config.get("train") or {}).get(k, d)
            for k, d in (
                ("epochs", 30),
                ("batch_size", 64),
                ("num_workers", 2),
                ("seed", 0),
                ("device", "auto"),
            )
        },
        weights_sha256=ckpt["sha256"],
        eval_metrics=_measured_metrics(run),
    )
    write_bundle(spec, out, readme=bundle_readme(spec))
    (out / "models" / "README.md").write_text(models_readme(spec), encoding="utf-8")
    shutil.copyfile(ckpt["path"], out / "models" / "model.pt")
    verify_bundle(out)
    return out


_NO_METRICS = (
    "No weights are shipped, so no metrics are claimed here: after training, `configs/metadata.json` "
    "`eval_metrics` holds the test-split AUC with its 95% CI measured by `medms train`, and "
    "`configs/evaluate.json` writes the full medms report (metrics with CIs) for a labelled set."
)


def _metrics_markdown(metrics: dict[str, Any], weights_sha256: str | None) -> str:
    """The measured ``eval_metrics`` as a Markdown table (estimate, 95% CI, method), or a note that none exist."""
    names = {"auc": "ROC AUC", "ppv": "PPV", "npv": "NPV"}
    rows = [
        (names.get(key.removeprefix("test_"), key.removeprefix("test_").replace("_", " ")), value)
        for key, value in metrics.items()
        if isinstance(value, dict) and {"value", "low", "high"} <= set(value)
    ]
    if not rows:
        return _NO_METRICS
    lines = ["| metric (test) | estimate | 95% CI | method |", "|---|---|---|---|"]
    for name, v in rows:
        ci = "—" if v["low"] is None else f"{v['low']:.3f}–{v['high']:.3f}"
        lines.append(f"| {name} | {v['value']:.3f} | {ci} | {v.get('method', '')} |")
    whose = (
        "These numbers belong to the weights whose sha256 `models/README.md` lists"
        if weights_sha256
        else "The weights these numbers come from are not recommended, so no hash is recorded"
    )
    how = (
        f"n = {metrics.get('test_n')}; {metrics.get('source', '')}. {whose}; weights you train yourself get "
        "their own hash and metrics (the train config records both in `configs/metadata.json`)."
    )
    return "\n".join(lines) + "\n\n" + how


def bundle_readme(spec: BundleSpec, *, how_to_train: str = "") -> str:
    """``docs/README.md`` of a bundle: what it is, how to run it, measured metrics, intended use."""
    measured = _metrics_markdown(spec.eval_metrics, spec.weights_sha256)
    shape = "×".join(str(s) for s in spec.spatial_shape)
    return f"""# {spec.name}

{spec.description}

- Task: {spec.task}. Classes: {", ".join(spec.class_names)}.
- Input: one {spec.modality} series (DICOM folder/file or NIfTI), preprocessed by the medms preset
  `{spec.preset}` with options `{json.dumps(spec.preset_options)}` → a {shape} float32 tensor.
- Network: `{spec.network}` (`network_def`), options `{json.dumps(spec.network_options)}`; outputs logits.
- **Intended use: research only — not a medical device, not for diagnostic use.**

## Run

```bash
python -m monai.bundle run --config_file configs/train.json --bundle_root .     # trains, installs models/model.pt
python -m monai.bundle run --config_file configs/inference.json --bundle_root . --input_dir SCANS
python -m monai.bundle run --config_file configs/evaluate.json --bundle_root . --input_dir SCANS --labels_file labels.csv
python -m monai.bundle verify_net_in_out network_def --meta_file configs/metadata.json --config_file configs/inference.json
python -m monai.bundle ckpt_export network_def --filepath models/model.ts --ckpt_file models/model.pt \\
    --meta_file configs/metadata.json --config_file configs/inference.json --key_in_ckpt state_dict --use_trace True
medms predict --model . --input SCANS --output predictions.csv                   # the same predictions
```
{how_to_train}
The predictions CSV has the columns of `medms predict` (docs/formats.md of medms); the report is
`medms evaluate`'s (HTML, JSON, Markdown). The weights `models/model.pt` are a medms checkpoint whose sha256
is recorded in `configs/metadata.json` (`medms#weights_sha256`) and checked before use.

## Measured metrics

{measured}

## License

Apache-2.0 (see LICENSE). Research use only.
"""


def models_readme(spec: BundleSpec) -> str:
    """``models/README.md``: what weights file is expected, its sha256 and how to produce it."""
    sha = spec.weights_sha256 or "(none yet: recorded in configs/metadata.json when the weights are produced)"
    return f"""# models/

| file | sha256 | what |
|---|---|---|
| `model.pt` | `{sha}` | medms checkpoint of `{spec.network}` (weights + preset + classes), loads with `torch.load(weights_only=True)` |
| `model.ts` | — | optional TorchScript export (`python -m monai.bundle ckpt_export`, see docs/README.md) |

The weights are not committed (a ResNet-50 is ≈ 100 MB). Produce them with either

```bash
python -m monai.bundle run --config_file configs/train.json --bundle_root .
# or
medms train --config CONFIG --output RUN && medms bundle export RUN --output THIS_FOLDER --overwrite
```

Both write `model.pt` and record its sha256 in `configs/metadata.json` (`medms#weights_sha256`); medms refuses
weights whose hash does not match.
"""
