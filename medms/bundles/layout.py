"""What a medms MONAI bundle holds and how its files are written: one spec → metadata + configs.

The configs of ``pipelines/`` and of ``medms bundle export`` come from the same functions here, so a bundle
never re-lists a transform or a network: its configs name :mod:`medms.bundles.components` (thin wrappers of
:func:`medms.transforms.presets.get_preset` and :func:`medms.networks.build_network`) by ``_target_`` with the
preset/network name and options as plain values.

Example:
    >>> spec = BundleSpec(name="demo", task="t", description="d", modality="US",
    ...                   preset="medmnist", preset_options={"spatial_size": 32},
    ...                   network="multiscale_resnet50",
    ...                   network_options={"spatial_dims": 2, "in_channels": 1, "num_classes": 2},
    ...                   class_names=["a", "b"], data={"npz": "x.npz"})
    >>> inference_config(spec)["network_def"]["_target_"]
    'medms.bundles.components.network'
    >>> metadata(spec)["network_data_format"]["inputs"]["image"]["spatial_shape"]
    [32, 32]
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_FILES",
    "METADATA_SCHEMA_URL",
    "REQUIRED_FILES",
    "BundleSpec",
    "evaluate_config",
    "inference_config",
    "metadata",
    "train_config",
    "write_bundle",
]

#: Files every medms bundle holds besides the weights (MONAI's required files plus our three workflows).
REQUIRED_FILES = (
    "configs/metadata.json",
    "configs/inference.json",
    "configs/train.json",
    "configs/evaluate.json",
    "configs/logging.conf",
    "docs/README.md",
    "LICENSE",
)
CONFIG_FILES = ("train.json", "inference.json", "evaluate.json")
#: The schema URL MONAI model-zoo bundles name; medms validates against its vendored copy (no download).
METADATA_SCHEMA_URL = (
    "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json"
)
INTENDED_USE = "Research only; not a medical device, not for diagnostic use or treatment decisions."

_LOGGING_CONF = """[loggers]
keys=root

[handlers]
keys=consoleHandler

[formatters]
keys=fullFormatter

[logger_root]
level=INFO
handlers=consoleHandler

[handler_consoleHandler]
class=StreamHandler
level=INFO
formatter=fullFormatter
args=(sys.stdout,)

[formatter_fullFormatter]
format=%(asctime)s - %(name)s - %(levelname)s - %(message)s
"""


@dataclass
class BundleSpec:
    """Everything that makes one bundle: the preprocessing preset, the network, the classes and the data."""

    name: str
    task: str
    description: str
    modality: str
    preset: str
    preset_options: dict[str, Any]
    network: str
    network_options: dict[str, Any]
    class_names: list[str]
    data: dict[str, Any]  # medms TrainConfig "data" section (npz or manifest; paths may be "$" expressions)
    version: str = "0.1.0"
    train: dict[str, Any] = field(
        default_factory=lambda: {
            "epochs": 30,
            "batch_size": 64,
            "num_workers": 2,
            "seed": 0,
            "device": "auto",
        }
    )
    weights_sha256: str | None = None
    positive_class: str | None = None  # the report's positive class (binary); default the last class
    eval_metrics: dict[str, Any] = field(default_factory=dict)
    data_source: str = ""

    @property
    def spatial_shape(self) -> list[int]:
        """The network input's spatial shape: the preset's ``spatial_size`` for the network's dimensions."""
        nd = int(self.network_options["spatial_dims"])
        size = self.preset_options.get("spatial_size")
        if size is None:
            import inspect

            from medms.transforms.presets import PRESETS

            size = inspect.signature(PRESETS[self.preset]).parameters["spatial_size"].default
        return [int(size)] * nd if isinstance(size, int) else [int(s) for s in size]


def _common(spec: BundleSpec) -> dict[str, Any]:
    return {
        "imports": [
            "$import os",
            "$import medms.bundles.components",
            "$import medms.engine",
            "$import medms.report",
        ],
        "bundle_root": ".",
        "device": "auto",
        "num_workers": 2,
        "preset": spec.preset,
        "preset_options": dict(spec.preset_options),
        "network": spec.network,
        "network_options": dict(spec.network_options),
        "class_names": list(spec.class_names),
        "network_def": {
            "_target_": "medms.bundles.components.network",
            "name": "@network",
            "options": "@network_options",
        },
        "preprocessing": {
            "_target_": "medms.bundles.components.preprocessing",
            "preset": "@preset",
            "options": "@preset_options",
        },
    }


def inference_config(spec: BundleSpec) -> dict[str, Any]:
    """``configs/inference.json``: every series under ``input_dir`` → ``output_file`` (medms predictions CSV).

    It holds MONAI's inference-workflow ids (``bundle_root``, ``device``, ``dataset_dir``, ``dataset``,
    ``evaluator``, ``network_def``, ``inferer``, ``preprocessing``), so ``ConfigWorkflow(...,
    workflow_type="infer")`` accepts it; ``evaluator.run()`` is the ``medms predict`` loop on those parts.
    """
    return {
        **_common(spec),
        "input_dir": "$@bundle_root + '/input'",
        "dataset_dir": "@input_dir",
        "dataset": {
            "_target_": "medms.bundles.components.SeriesDataset",
            "inputs": ["@dataset_dir"],
            "transform": "@preprocessing",
        },
        "inferer": {"_target_": "monai.inferers.SimpleInferer"},
        "output_dir": "$@bundle_root + '/eval'",
        "output_file": "$@output_dir + '/predictions.csv'",
        "batch_size": 16,
        "overwrite": True,
        "evaluator": {
            "_target_": "medms.bundles.components.BundlePredictor",
            "bundle_root": "@bundle_root",
            "network": "@network_def",
            "dataset": "@dataset",
            "inferer": "@inferer",
            "output": "@output_file",
            "overwrite": "@overwrite",
            "batch_size": "@batch_size",
            "num_workers": "@num_workers",
            "device": "@device",
        },
        "initialize": ["$os.makedirs(@output_dir, exist_ok=True)"],
        "run": ["$print(@evaluator.run().format())"],
    }


def evaluate_config(spec: BundleSpec) -> dict[str, Any]:
    """``configs/evaluate.json``: predict on ``input_dir``, then the medms report against ``labels_file``."""
    config = inference_config(spec)
    config.update(
        {
            "labels_file": "$@bundle_root + '/input/labels.csv'",
            "report_dir": "$@output_dir + '/report'",
            "n_bootstrap": 2000,
            "seed": 0,
            # the report's positive class (binary tasks only)
            "positive_class": (spec.positive_class or spec.class_names[-1])
            if len(spec.class_names) == 2
            else None,
            "report": {
                "_target_": "medms.report.evaluate",
                "_mode_": "callable",
                "predictions": "@output_file",
                "labels": "@labels_file",
                "output": "@report_dir",
                "overwrite": True,
                "n_bootstrap": "@n_bootstrap",
                "seed": "@seed",
                "positive_class": "@positive_class",
            },
            "run": ["$print(@evaluator.run().format())", "$print(@report().summary())"],
        }
    )
    return config


def train_config(spec: BundleSpec) -> dict[str, Any]:
    """``configs/train.json``: ``medms train`` into ``run_dir``, then the best weights into ``models/``."""
    t = spec.train
    return {
        **_common(spec),
        "data": dict(spec.data),
        "limit": None,
        "epochs": t["epochs"],
        "batch_size": t["batch_size"],
        "num_workers": t["num_workers"],
        "seed": t["seed"],
        "run_dir": "$@bundle_root + '/runs/train'",
        "train_config": {
            "_target_": "medms.bundles.components.train_config",
            "data": "@data",
            "preset": "@preset",
            "preset_options": "@preset_options",
            "network": "@network",
            "network_options": "@network_options",
            "class_names": "@class_names",
            "limit": "@limit",
            "train": {
                "epochs": "@epochs",
                "batch_size": "@batch_size",
                "num_workers": "@num_workers",
                "seed": "@seed",
                "device": "@device",
            },
        },
        "trainer": {
            "_target_": "medms.bundles.components.train_into_bundle",
            "config": "@train_config",
            "run_dir": "@run_dir",
            "bundle_root": "@bundle_root",
        },
        "run": ["$print(@trainer)"],
    }


def metadata(spec: BundleSpec) -> dict[str, Any]:
    """``configs/metadata.json``: MONAI's mandatory keys, the I/O format and the medms section (weights hash)."""
    import monai
    import numpy
    import pydicom
    import torch

    from medms import __version__

    nd = int(spec.network_options["spatial_dims"])
    value_range = [-1, 1] if spec.preset == "medmnist" else [0, 1]
    return {
        "schema": METADATA_SCHEMA_URL,
        "version": spec.version,
        "changelog": {spec.version: "medms bundle"},
        "monai_version": monai.__version__,
        "pytorch_version": torch.__version__.split("+")[0],
        "numpy_version": numpy.__version__,
        "required_packages_version": {"medms": __version__, "pydicom": pydicom.__version__},
        "name": spec.name,
        "task": spec.task,
        "description": spec.description,
        "authors": "medms developers",
        "copyright": "Copyright (c) medms developers",
        "data_source": spec.data_source,
        "data_type": "dicom",
        "image_classes": f"{spec.network_options.get('in_channels', 1)}-channel {nd}D {spec.modality} image",
        "label_classes": ", ".join(f"{i}: {c}" for i, c in enumerate(spec.class_names)),
        "pred_classes": ", ".join(f"{i}: {c}" for i, c in enumerate(spec.class_names)),
        "eval_metrics": dict(spec.eval_metrics),
        "intended_use": INTENDED_USE,
        "references": ["medms documentation: docs/bundles.md"],
        "network_data_format": {
            "inputs": {
                "image": {
                    "type": "image",
                    "format": "hounsfield" if spec.modality == "CT" else "magnitude",
                    "modality": spec.modality,
                    "num_channels": int(spec.network_options.get("in_channels", 1)),
                    "spatial_shape": spec.spatial_shape,
                    "dtype": "float32",
                    "value_range": value_range,
                    "is_patch_data": False,
                    "channel_def": {"0": "image"},
                }
            },
            "outputs": {
                "pred": {
                    "type": "logits",
                    "format": "classes",
                    "num_channels": len(spec.class_names),
                    "spatial_shape": [1],
                    "dtype": "float32",
                    "value_range": [],  # logits are unbounded; the schema allows numbers only
                    "is_patch_data": False,
                    "channel_def": {str(i): c for i, c in enumerate(spec.class_names)},
                }
            },
        },
        "medms": {
            "weights_file": "models/model.pt",
            "weights_sha256": spec.weights_sha256,
            "class_names": list(spec.class_names),
            "preprocessing": {"preset": spec.preset, "options": dict(spec.preset_options)},
            "model": {"name": spec.network, "options": dict(spec.network_options)},
        },
    }


def write_bundle(spec: BundleSpec, folder: str | os.PathLike[str], *, readme: str) -> Path:
    """Write every file of the bundle except the weights (configs, logging.conf, docs/README.md, LICENSE)."""
    root = Path(folder)
    (root / "configs").mkdir(parents=True, exist_ok=True)
    (root / "docs").mkdir(exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    files = {
        "configs/metadata.json": metadata(spec),
        "configs/train.json": train_config(spec),
        "configs/inference.json": inference_config(spec),
        "configs/evaluate.json": evaluate_config(spec),
    }
    for name, content in files.items():
        (root / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    (root / "configs/logging.conf").write_text(_LOGGING_CONF, encoding="utf-8")
    (root / "docs/README.md").write_text(readme, encoding="utf-8")
    license_text = resources.files("medms.bundles").joinpath("apache-2.0.txt").read_text(encoding="utf-8")
    (root / "LICENSE").write_text(license_text, encoding="utf-8")
    return root
