"""Turn a ``medms train`` run into a MONAI bundle, and install trained weights into an existing bundle.

Example:
    >>> from medms.bundles import export_bundle
    >>> export_bundle("runs/bm", "bundles/bm")  # doctest: +SKIP
    PosixPath('bundles/bm')
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from medms.atomic import copy_file_atomic, write_text_atomic
from medms.bundles.layout import BundleSpec, write_bundle, write_json_file
from medms.bundles.verify import verify_bundle
from medms.checkpoint import Checkpoint
from medms.engine import open_checkpoint
from medms.errors import CheckpointError, ConfigError, OutputError
from medms.transforms.presets import preset_record

__all__ = ["bundle_readme", "export_bundle", "install_weights", "models_readme"]

log = logging.getLogger("medms.bundles.export")


def _best(run_dir: Path) -> Checkpoint:
    if run_dir.is_dir() and not (run_dir / "best.pt").is_file():
        raise CheckpointError("not a medms train run folder: best.pt is missing", path=run_dir)
    return open_checkpoint(run_dir)


def _measured_metrics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    test = data.get("test") or {}
    out: dict[str, Any] = {"source": f"medms train test split, best epoch {data.get('best_epoch')}"}
    for key in ("auc", "accuracy", "n"):
        if key in test:
            out[f"test_{key}"] = test[key]
    return out


def install_weights(run_dir: str | os.PathLike[str], bundle_root: str | os.PathLike[str]) -> str:
    """Copy a run's ``best.pt`` to ``bundle_root/models/model.pt`` and record its sha256 in
    ``configs/metadata.json``; return the sha256.

    The run's measured test metrics stay in the run folder (``metrics.json``); metrics the metadata recorded for
    other weights are removed, since they no longer describe ``models/model.pt``.

    Raises:
        CheckpointError: the run's checkpoint is missing, tampered with, or differs from the bundle's spec.
    """
    run, root = Path(run_dir), Path(bundle_root)
    ckpt = _best(run)
    meta_path = root / "configs" / "metadata.json"
    meta = verify_bundle(root, check_weights=False).metadata
    (root / "models").mkdir(exist_ok=True)
    copy_file_atomic(ckpt.path, root / "models" / "model.pt", what="bundle weights")
    if meta["medms"].get("weights_sha256") != ckpt.sha256 and meta.get("eval_metrics"):
        log.info(
            "metadata eval_metrics described other weights; removed (this run's: %s)", run / "metrics.json"
        )
        meta["eval_metrics"] = {}
    meta["medms"]["weights_sha256"] = ckpt.sha256
    write_json_file(meta_path, meta)
    verify_bundle(root)  # the installed weights must fit the bundle (classes, preset, shapes)
    return ckpt.sha256


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

    The bundle is written into a new folder beside ``output`` and verified, then swapped in: an existing bundle
    (with ``overwrite``) is replaced whole, never mixed with stale files.

    Raises:
        CheckpointError: the run has no readable checkpoint.
        OutputError: ``output`` exists and is not empty, without ``overwrite``; or ``output`` holds the run.
    """
    run, out = Path(run_dir), Path(output)
    ckpt = _best(run)
    _check_export_target(run, out, overwrite=overwrite)
    spec = _export_spec(ckpt, run, name=name, modality=modality)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(staging, 0o777 & ~mask)  # mkdtemp makes a private folder; a bundle is an ordinary one
    try:
        write_bundle(spec, staging, readme=bundle_readme(spec))
        write_text_atomic(staging / "models" / "README.md", models_readme(spec), what="bundle file")
        copy_file_atomic(ckpt.path, staging / "models" / "model.pt", what="bundle weights")
        verify_bundle(staging)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _check_export_target(run: Path, out: Path, *, overwrite: bool) -> None:
    resolved_out, resolved_run = out.resolve(), run.resolve()
    if resolved_out == resolved_run or resolved_out in resolved_run.parents:
        raise OutputError(
            "the bundle folder would replace the run it is exported from; choose another one", path=out
        )
    if out.exists() and not out.is_dir():
        raise OutputError("the bundle output must be a folder, not a file", path=out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError("the bundle folder is not empty; pass --overwrite or choose another one", path=out)


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by the finished ``staging`` folder (two renames; the old folder is removed last)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _export_spec(ckpt: Checkpoint, run: Path, *, name: str | None, modality: str | None) -> BundleSpec:
    spec = ckpt.spec
    if spec.config is None:
        raise ConfigError(
            "the checkpoint carries no training configuration; cannot write train.json", path=run
        )
    data = dataclasses.replace(spec.config.data, class_names=list(spec.class_names), limit=None)
    config = dataclasses.replace(spec.config, data=data, model=spec.model, preprocessing=spec.preprocessing)
    nd = int(spec.model.options.get("spatial_dims", 2))
    preset = spec.preprocessing.preset
    modality = modality or preset_record(preset).modalities[0]
    return BundleSpec(
        name=name or f"medms {spec.model.name} ({nd}D, {preset})",
        task=f"{nd}D classification of {modality} images into {', '.join(spec.class_names)}",
        description=f"{spec.model.name} trained with medms; exported from a medms train run.",
        config=config,
        modality=modality,
        weights_sha256=ckpt.sha256,
        eval_metrics=_measured_metrics(run),
    )


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
- Input: one {spec.input_modality} series (DICOM folder/file or NIfTI), preprocessed by the medms preset
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
| `model.pt` | `{sha}` | medms checkpoint of `{spec.network}` (weights + preset + classes), loads with `torch.load` and `weights_only=True` |
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
