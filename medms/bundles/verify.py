"""Open a medms MONAI bundle: check it before anything is read (files, metadata against the vendored schema,
weights sha256, shapes), reading and hashing its weights once.

Example:
    >>> from medms.bundles import open_bundle, open_model
    >>> info = open_bundle("pipelines/breastmnist_msresnet50")  # doctest: +SKIP
    >>> info.weights, info.sha256, info.checkpoint.spec.class_names  # doctest: +SKIP
    >>> ckpt = open_model("runs/bm")  # a bundle, a train run folder or a checkpoint file  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from torch import nn

from medms.checkpoint import Checkpoint, load_checkpoint
from medms.errors import CheckpointError, ConfigError, MedmsError

#: The vendored upstream schema file (MONAI's own meta_schema_20240725.json, see docs/bundles.md).
SCHEMA_FILE = "meta_schema_20240725.json"

__all__ = [
    "SCHEMA_FILE",
    "BundleInfo",
    "is_bundle",
    "load_schema",
    "open_bundle",
    "open_model",
    "validate_metadata",
    "verify_bundle",
]

WEIGHTS = "models/model.pt"


@dataclass(frozen=True)
class BundleInfo:
    """A verified bundle: its folder, metadata, weights file, their sha256, the loaded checkpoint and the network
    holding its weights (``None`` when the weights were not checked)."""

    root: Path
    metadata: dict[str, Any]
    weights: Path
    sha256: str
    checkpoint: Checkpoint | None = field(default=None, repr=False, compare=False)
    model: nn.Module | None = field(default=None, repr=False, compare=False)


def is_bundle(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder with ``configs/metadata.json`` (a MONAI bundle layout)."""
    return (Path(path) / "configs" / "metadata.json").is_file()


def load_schema() -> dict[str, Any]:
    """MONAI's bundle metadata JSON schema ``meta_schema_20240725.json``, vendored verbatim with medms
    (MONAI's verifier would download it)."""
    text = resources.files("medms.bundles").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def validate_metadata(metadata: dict[str, Any], *, path: str | os.PathLike[str] = "metadata.json") -> None:
    """Validate ``metadata`` against the vendored schema; :class:`ConfigError` names the key at fault.

    Example:
        >>> validate_metadata({"version": "0.1.0"})
        Traceback (most recent call last):
        ...
        medms.errors.ConfigError: metadata.json: 'schema' is a required property (at <top>)
    """
    import jsonschema

    validator = jsonschema.Draft201909Validator(load_schema())
    # best_match descends into anyOf branches (a tensor description is one branch of the schema's "argument")
    err = jsonschema.exceptions.best_match(validator.iter_errors(metadata))
    if err is not None:
        where = "#".join(str(p) for p in err.absolute_path) or "<top>"
        raise ConfigError(f"{err.message} (at {where})", path=path)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError("bundle file missing", path=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"not a readable JSON file ({err})", path=path) from err
    if not isinstance(data, dict):
        raise ConfigError("must hold a JSON object", path=path)
    return data


def open_model(model: str | os.PathLike[str] | Checkpoint) -> Checkpoint:
    """A loaded checkpoint from a MONAI bundle folder (verified by :func:`open_bundle`), a ``medms train`` run
    folder, a checkpoint file, or an already loaded :class:`~medms.checkpoint.Checkpoint`.

    Raises:
        CheckpointError, ConfigError: see :func:`open_bundle` and :func:`medms.engine.open_checkpoint`.
    """
    from medms.engine import open_checkpoint

    if not isinstance(model, Checkpoint) and is_bundle(model):
        return open_bundle(model).checkpoint  # type: ignore[return-value] - weights are checked
    return open_checkpoint(model)


def open_bundle(path: str | os.PathLike[str]) -> BundleInfo:
    """Verify a medms bundle (weights included) and return it with its loaded checkpoint and built network.

    The weights file is read and hashed once; pass ``info.checkpoint`` (and ``info.model``) on instead of the path.
    """
    return verify_bundle(path, check_weights=True)


def verify_bundle(path: str | os.PathLike[str], *, check_weights: bool = True) -> BundleInfo:
    """Verify a medms bundle and return where its weights are.

    Checks, in order and before any data is processed: the required files; ``configs/metadata.json``
    against the vendored MONAI schema and its ``medms`` section; the train, inference and evaluate configs
    naming the same preset and network as the metadata; the weights' sha256 against the metadata (``check_weights``); the
    checkpoint's network and preprocessing against the metadata, and one forward pass of a zero input of the
    metadata's ``network_data_format`` shape (as ``python -m monai.bundle verify_net_in_out`` does).

    Raises:
        ConfigError: a missing file or key, an invalid metadata or config value (the file is named).
        CheckpointError: missing weights, sha256 mismatch, or weights made for another input shape/classes.
    """
    from medms.bundles.layout import CONFIG_FILES, REQUIRED_FILES

    root = Path(path)
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise ConfigError(f"not a complete medms bundle: {name} is missing", path=root)
    meta_path = root / "configs" / "metadata.json"
    meta = _read_json(meta_path)
    validate_metadata(meta, path=meta_path)
    section = meta.get("medms")
    if not isinstance(section, dict):
        raise ConfigError("the 'medms' section is missing; export the bundle with medms", path=meta_path)
    for key in ("weights_sha256", "class_names", "preprocessing", "model"):
        if key not in section:
            raise ConfigError(f"key medms#{key} is missing", path=meta_path)
    for name in CONFIG_FILES:
        _check_config_agrees(root / "configs" / name, section)
    weights = root / WEIGHTS
    if not check_weights:
        return BundleInfo(root, meta, weights, "")
    if not weights.is_file():
        took = section.get("training_time")
        raise CheckpointError(
            f"{WEIGHTS} is missing (weights are not shipped); create it with `python -m monai.bundle run "
            f"--config_file configs/train.json --bundle_root {root}`"
            + (f" ({took})" if took else "")
            + " or `medms bundle export RUN_DIR --output BUNDLE` (see models/README.md)",
            path=root,
        )
    expected = section["weights_sha256"]
    if not isinstance(expected, str) or len(expected) != 64:
        raise CheckpointError(
            "configs/metadata.json records no sha256 (medms#weights_sha256) for models/model.pt; "
            "refusing unverified weights — install them with the train config or `medms bundle export`",
            path=root,
        )
    ckpt = load_checkpoint(weights, expected_sha256=expected)  # CheckpointError on a mismatch
    _check_checkpoint_agrees(ckpt, section, meta, weights)
    model = ckpt.build_model()
    _check_net_in_out(model, meta, weights)
    return BundleInfo(root, meta, weights, ckpt.sha256, ckpt, model)


def _check_config_agrees(config_path: Path, section: dict[str, Any]) -> None:
    config = _read_json(config_path)
    expected = {
        "preset": section["preprocessing"].get("preset"),
        "preset_options": section["preprocessing"].get("options"),
        "network": section["model"].get("name"),
        "network_options": section["model"].get("options"),
    }
    for key, value in expected.items():
        if key not in config:
            raise ConfigError(f"key {key!r} is missing", path=config_path)
        if config[key] != value:
            raise ConfigError(
                f"{key} = {config[key]!r} differs from configs/metadata.json (medms section: {value!r})",
                path=config_path,
            )
    if "network_def" not in config:
        raise ConfigError("key 'network_def' is missing (MONAI's network id)", path=config_path)


def _check_checkpoint_agrees(
    ckpt: Checkpoint, section: dict[str, Any], meta: dict[str, Any], weights: Path
) -> None:
    spec = ckpt.spec
    pairs = [
        ("model", {"name": spec.model.name, "options": spec.model.options}, section["model"]),
        (
            "preprocessing",
            {"preset": spec.preprocessing.preset, "options": spec.preprocessing.options},
            section["preprocessing"],
        ),
        ("class_names", list(spec.class_names), list(section["class_names"])),
    ]
    for key, have, want in pairs:
        if have != want:
            raise CheckpointError(
                f"the weights were made for another {key} ({have!r}) than configs/metadata.json says ({want!r})",
                path=weights,
            )
    size = spec.preprocessing.options.get("spatial_size")
    image = meta["network_data_format"]["inputs"]["image"]
    if size is not None:
        nd = int(spec.model.options.get("spatial_dims", len(image["spatial_shape"])))
        shape = [int(size)] * nd if isinstance(size, int) else [int(s) for s in size]
        if shape != list(image["spatial_shape"]):
            raise CheckpointError(
                f"the weights' preprocessing makes {shape} inputs but the bundle declares "
                f"spatial_shape {image['spatial_shape']}",
                path=weights,
            )


def _check_net_in_out(model: nn.Module, meta: dict[str, Any], weights: Path) -> None:
    import torch

    fmt = meta["network_data_format"]
    image, pred = fmt["inputs"]["image"], fmt["outputs"]["pred"]
    if not all(isinstance(s, int) for s in image["spatial_shape"]):
        raise ConfigError(
            "network_data_format#inputs#image#spatial_shape must be integers for a classifier",
            path=weights.parents[1] / "configs" / "metadata.json",
        )
    x = torch.zeros(1, int(image["num_channels"]), *image["spatial_shape"])
    try:
        with torch.no_grad():
            out = model(x)
    except (MedmsError, RuntimeError, ValueError) as err:
        raise CheckpointError(
            f"the network does not accept the declared input {tuple(x.shape)}: {err}", path=weights
        ) from err
    if out.ndim != 2 or out.shape[1] != int(pred["num_channels"]):
        raise CheckpointError(
            f"the network gives outputs of shape {tuple(out.shape)}, the bundle declares "
            f"{pred['num_channels']} classes",
            path=weights,
        )
