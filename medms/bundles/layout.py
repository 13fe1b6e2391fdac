"""What a medms MONAI bundle holds and how its files are written: one spec → metadata + configs.

The configs of ``pipelines/`` and of ``medms bundle export`` come from the same functions here, so a bundle
never re-lists a transform or a network: its configs name :mod:`medms.bundles.components` (thin wrappers of
:func:`medms.transforms.presets.get_preset` and :func:`medms.networks.build_network`) by ``_target_`` with the
preset/network name and options as plain values.

Example:
    >>> config = TrainConfig.from_dict({
    ...     "data": {"npz": "x.npz", "class_names": ["a", "b"]},
    ...     "preprocessing": {"preset": "medmnist", "options": {"spatial_size": 32}},
    ...     "model": {"name": "multiscale_resnet50",
    ...               "options": {"spatial_dims": 2, "in_channels": 1, "num_classes": 2}}})
    >>> spec = BundleSpec(name="demo", task="t", description="d", config=config, modality="US")
    >>> inference_workflow(spec)["network_def"]["_target_"]
    'medms.bundles.components.network'
    >>> metadata(spec)["network_data_format"]["inputs"]["image"]["spatial_shape"]
    [32, 32]
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from medms.atomic import write_text_atomic
from medms.config import TrainConfig
from medms.errors import ConfigError
from medms.transforms.presets import preset_record

__all__ = [
    "CONFIG_FILES",
    "METADATA_SCHEMA_URL",
    "REQUIRED_FILES",
    "BundleSpec",
    "evaluate_workflow",
    "inference_workflow",
    "metadata",
    "train_workflow",
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
    """Everything that makes one bundle: the training configuration (data, preset, network, loop) and the
    bundle's description.

    ``config.data`` paths may be ``$`` expressions of the bundle config (``"$str(medms.datasets.breastmnist_path())"``)
    or paths relative to the bundle root. ``config.data.class_names`` must be set (the bundle's classes).
    """

    name: str
    task: str
    description: str
    config: TrainConfig
    modality: str | None = None  # default: the preset's first modality
    version: str = "0.1.0"
    weights_sha256: str | None = None
    positive_class: str | None = None  # the report's positive class (binary); default the last class
    eval_metrics: dict[str, Any] = field(default_factory=dict)
    data_source: str = ""
    #: how long configs/train.json takes with its defaults on a 2-core CPU (measured; shown when weights are missing)
    training_time: str | None = None

    def __post_init__(self) -> None:
        if not self.config.data.class_names:
            raise ConfigError("a bundle needs its class names: set config.data.class_names")

    @property
    def preset(self) -> str:
        """The preprocessing preset's name."""
        return self.config.preprocessing.preset

    @property
    def preset_options(self) -> dict[str, Any]:
        """The preprocessing preset's options."""
        return dict(self.config.preprocessing.options)

    @property
    def network(self) -> str:
        """The network factory's name."""
        return self.config.model.name

    @property
    def network_options(self) -> dict[str, Any]:
        """The network factory's options (complete: ``spatial_dims``, ``in_channels``, ``num_classes`` …)."""
        return dict(self.config.model.options)

    @property
    def class_names(self) -> list[str]:
        """The output classes, in logit order."""
        return list(self.config.data.class_names or [])

    @property
    def input_modality(self) -> str:
        """The modality the metadata declares (the spec's, else the preset's first)."""
        return self.modality or preset_record(self.preset).modalities[0]

    @property
    def spatial_shape(self) -> list[int]:
        """The network input's spatial shape (the preset record's, for the network's dimensions)."""
        options = {"spatial_dims": int(self.network_options["spatial_dims"]), **self.preset_options}
        return preset_record(self.preset).spatial_shape(options)


def _common(spec: BundleSpec) -> dict[str, Any]:
    return {
        "imports": [
            "$import os",
            "$import medms",
            "$import medms.bundles.components",
            "$import medms.datasets",
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


def inference_workflow(spec: BundleSpec) -> dict[str, Any]:
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
        "overwrite": False,
        "resume": False,
        "evaluator": {
            "_target_": "medms.bundles.components.BundlePredictor",
            "bundle_root": "@bundle_root",
            "network": "@network_def",
            "dataset": "@dataset",
            "inferer": "@inferer",
            "output": "@output_file",
            "overwrite": "@overwrite",
            "resume": "@resume",
            "batch_size": "@batch_size",
            "num_workers": "@num_workers",
            "device": "@device",
        },
        "initialize": ["$os.makedirs(@output_dir, exist_ok=True)"],
        "run": ["$@evaluator.main()"],
    }


def evaluate_workflow(spec: BundleSpec) -> dict[str, Any]:
    """``configs/evaluate.json``: predict on ``input_dir``, then the medms report against ``labels_file``."""
    config = inference_workflow(spec)
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
                "overwrite": "@overwrite",
                "n_bootstrap": "@n_bootstrap",
                "seed": "@seed",
                "positive_class": "@positive_class",
            },
            "run": ["$@evaluator.main(@report)"],
        }
    )
    return config


def train_workflow(spec: BundleSpec) -> dict[str, Any]:
    """``configs/train.json``: ``medms train`` into ``run_dir``, then the best weights into ``models/``.

    The whole training loop configuration is written out (``train_config#train#lr`` …); the common settings are
    also top-level ids (``--epochs``, ``--batch_size``, ``--seed``, ``--num_workers``, ``--device``). Relative data
    paths resolve against ``bundle_root``, so a copied bundle still trains.
    """
    loop = asdict(spec.config.train)
    shortcuts = ("epochs", "batch_size", "num_workers", "seed", "device")
    data = {k: v for k, v in asdict(spec.config.data).items() if k not in ("class_names", "limit")}
    return {
        **_common(spec),
        "data": data,
        "limit": spec.config.data.limit,
        **{k: loop[k] for k in shortcuts},
        "run_dir": "$@bundle_root + '/runs/train'",
        "train_config": {
            "_target_": "medms.bundles.components.make_train_config",
            "data": "@data",
            "preset": "@preset",
            "preset_options": "@preset_options",
            "network": "@network",
            "network_options": "@network_options",
            "class_names": "@class_names",
            "limit": "@limit",
            "bundle_root": "@bundle_root",
            "train": {**loop, **{k: f"@{k}" for k in shortcuts}},
        },
        "trainer": {
            "_target_": "medms.bundles.components.train_into_bundle",
            "config": "@train_config",
            "run_dir": "@run_dir",
            "bundle_root": "@bundle_root",
            "_mode_": "callable",
        },
        "run": ["$medms.bundles.components.run_and_report(@trainer)"],
    }


def metadata(spec: BundleSpec) -> dict[str, Any]:
    """``configs/metadata.json``: MONAI's mandatory keys, the I/O format and the medms section (weights hash)."""
    import monai
    import numpy
    import pydicom
    import torch

    from medms import __version__

    nd = int(spec.network_options["spatial_dims"])
    record = preset_record(spec.preset)
    value_range = [int(v) if float(v).is_integer() else v for v in record.value_range]
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
        "image_classes": f"{spec.network_options.get('in_channels', 1)}-channel {nd}D {spec.input_modality} image",
        "label_classes": ", ".join(f"{i}: {c}" for i, c in enumerate(spec.class_names)),
        "pred_classes": ", ".join(f"{i}: {c}" for i, c in enumerate(spec.class_names)),
        "eval_metrics": dict(spec.eval_metrics),
        "intended_use": INTENDED_USE,
        "references": ["medms documentation: docs/bundles.md"],
        "network_data_format": {
            "inputs": {
                "image": {
                    "type": "image",
                    "format": record.intensity,
                    "modality": spec.input_modality,
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
            **({"training_time": spec.training_time} if spec.training_time else {}),
        },
    }


def write_bundle(spec: BundleSpec, folder: str | os.PathLike[str], *, readme: str) -> Path:
    """Write every file of the bundle except the weights (configs, logging.conf, docs/README.md, LICENSE), each
    atomically."""
    root = Path(folder)
    for sub in ("configs", "docs", "models"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    files = {
        "configs/metadata.json": metadata(spec),
        "configs/train.json": train_workflow(spec),
        "configs/inference.json": inference_workflow(spec),
        "configs/evaluate.json": evaluate_workflow(spec),
    }
    for name, content in files.items():
        write_json_file(root / name, content)
    write_text_atomic(root / "configs/logging.conf", _LOGGING_CONF, what="bundle file")
    write_text_atomic(root / "docs/README.md", readme, what="bundle file")
    license_text = resources.files("medms.bundles").joinpath("apache-2.0.txt").read_text(encoding="utf-8")
    write_text_atomic(root / "LICENSE", license_text, what="bundle file")
    return root


def write_json_file(path: Path, content: dict[str, Any]) -> None:
    """A bundle JSON file as MONAI writes them (indent 2, trailing newline), atomically."""
    write_text_atomic(path, json.dumps(content, indent=2) + "\n", what="bundle file")
