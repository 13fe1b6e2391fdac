"""medms checkpoints: weights plus everything needed to rebuild the exact model and its preprocessing.

A checkpoint file is a ``torch.save`` of plain containers and tensors only, so it loads with
``torch.load`` with ``weights_only=True``. Its content is described by one typed record, :class:`CheckpointSpec`
(network and preprocessing configs, class names, temperature, provenance), which every module writes and reads
through :meth:`CheckpointSpec.to_payload` / :meth:`CheckpointSpec.from_payload`. The sha256 of the file is
written beside it (``<file>.sha256``) and into the run manifest; :func:`load_checkpoint` refuses a file whose
hash does not match (tampered or truncated).

Example:
    >>> import pathlib, tempfile
    >>> from medms.config import ModelConfig, PreprocessingConfig
    >>> spec = CheckpointSpec(
    ...     model=ModelConfig("resnet50", {"spatial_dims": 2, "in_channels": 1, "num_classes": 2}),
    ...     preprocessing=PreprocessingConfig("medmnist", {"spatial_size": 32}),
    ...     class_names=["benign", "malignant"],
    ... )
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
    >>> sha = spec.save(path, spec.build_network().state_dict())
    >>> ckpt = load_checkpoint(path)
    >>> ckpt.sha256 == sha, ckpt.spec.class_names, ckpt["preprocessing"]["preset"]
    (True, ['benign', 'malignant'], 'medmnist')
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medms import __version__
from medms._torchfile import load_torch_file, sha256_file
from medms.atomic import atomic_file, write_text_atomic
from medms.config import ModelConfig, PreprocessingConfig, TrainConfig
from medms.errors import CheckpointError, MedmsError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointSpec",
    "build_model",
    "load_checkpoint",
    "load_state",
    "save_checkpoint",
    "sha256_file",
]

FORMAT = "medms-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CheckpointSpec:
    """What a checkpoint says about its weights.

    Attributes:
        model: the network factory and its options (``build_network(model.name, **model.options)``).
        preprocessing: the preset and its options (``get_preset(preprocessing.preset, **options)``).
        class_names: one name per output, in logit order.
        temperature: softmax temperature fitted on the validation split (1.0 = none).
        config: the resolved training configuration, when the weights come from ``medms train``.
        epoch: the training epoch the weights are from.
        metrics: that epoch's logged metrics (loss, validation AUC, …).
        medms_version: the medms version that wrote the file.
    """

    model: ModelConfig
    preprocessing: PreprocessingConfig
    class_names: list[str]
    temperature: float = 1.0
    config: TrainConfig | None = None
    epoch: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    medms_version: str = __version__

    def to_payload(
        self, state_dict: Mapping[str, torch.Tensor], *, train_state: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The dict written to disk (plain containers and tensors only)."""
        payload: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "medms_version": self.medms_version,
            "model": {"name": self.model.name, "options": dict(self.model.options)},
            "preprocessing": {
                "preset": self.preprocessing.preset,
                "options": dict(self.preprocessing.options),
            },
            "class_names": list(self.class_names),
            "temperature": float(self.temperature),
            "state_dict": dict(state_dict),
        }
        if self.config is not None:
            payload["config"] = self.config.to_dict()
        if self.epoch is not None:
            payload["epoch"] = int(self.epoch)
        if self.metrics:
            payload["metrics"] = dict(self.metrics)
        if train_state is not None:
            payload["train_state"] = train_state
        return payload

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], *, path: str | os.PathLike[str] | None = None
    ) -> CheckpointSpec:
        """Read the spec out of a checkpoint's dict, checking every field's type.

        Raises:
            CheckpointError: a field is missing or has the wrong type (the message names it).
        """
        for key in ("model", "preprocessing", "class_names", "state_dict"):
            if key not in payload:
                raise CheckpointError(f"checkpoint lacks the {key!r} entry", path=path)
        model = _section(payload, "model", ("name", "options"), path)
        pre = _section(payload, "preprocessing", ("preset", "options"), path)
        names = payload["class_names"]
        if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) and n for n in names):
            raise CheckpointError("checkpoint 'class_names' must be a list of at least two names", path=path)
        temperature = payload.get("temperature", 1.0)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise CheckpointError(
                f"checkpoint 'temperature' must be a number, got {temperature!r}", path=path
            )
        config = payload.get("config")
        try:
            parsed = (
                None
                if config is None
                else TrainConfig.from_dict(config, source=os.fspath(path or "checkpoint"))
            )
        except MedmsError as err:
            raise CheckpointError(
                f"checkpoint 'config' is not a valid training config ({err})", path=path
            ) from err
        return cls(
            model=ModelConfig(model["name"], dict(model["options"])),
            preprocessing=PreprocessingConfig(pre["preset"], dict(pre["options"])),
            class_names=list(names),
            temperature=float(temperature),
            config=parsed,
            epoch=payload.get("epoch"),
            metrics=dict(payload.get("metrics") or {}),
            medms_version=str(payload.get("medms_version", __version__)),
        )

    def save(
        self,
        path: str | os.PathLike[str],
        state_dict: Mapping[str, torch.Tensor],
        *,
        train_state: dict[str, Any] | None = None,
    ) -> str:
        """Write a checkpoint with these weights (see :func:`save_checkpoint`); return its sha256."""
        return _write(self.to_payload(state_dict, train_state=train_state), Path(path))

    def build_network(self) -> nn.Module:
        """The network this spec describes, freshly initialised (no weights loaded)."""
        from medms.networks import build_network

        return build_network(self.model.name, **self.model.options)

    def transform(self, *, augment: bool = False) -> Any:
        """The preprocessing pipeline (a MONAI ``Compose``) the weights were trained with."""
        from medms.transforms.presets import get_preset

        return get_preset(self.preprocessing.preset, **{**self.preprocessing.options, "augment": augment})


@dataclass(frozen=True, eq=False)
class Checkpoint(Mapping[str, Any]):
    """A loaded, verified checkpoint: its spec, weights, file and sha256.

    It also reads as the mapping stored on disk (``ckpt["model"]["options"]``, ``ckpt["state_dict"]``,
    ``ckpt["sha256"]``) for scripts written against the file format.
    """

    spec: CheckpointSpec
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    sha256: str
    path: Path
    train_state: dict[str, Any] | None = field(default=None, repr=False)

    def build_model(self) -> nn.Module:
        """Rebuild the network and load these weights (strict), in eval mode."""
        return load_state(self.spec.build_network(), self)

    def _mapping(self) -> dict[str, Any]:
        payload = self.spec.to_payload(self.state_dict, train_state=self.train_state)
        return {**payload, "sha256": self.sha256, "path": str(self.path)}

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


def save_checkpoint(payload: Mapping[str, Any], path: str | os.PathLike[str]) -> str:
    """Write a checkpoint dict atomically (temp file + fsync + rename) with its ``.sha256`` sidecar.

    ``payload`` holds at least ``model``, ``preprocessing``, ``class_names`` and ``state_dict`` (the file format,
    docs/training.md); it is checked through :class:`CheckpointSpec` before anything is written. Returns the
    sha256 of the file.
    """
    spec = CheckpointSpec.from_payload(payload)
    state = payload["state_dict"]
    return spec.save(path, state, train_state=payload.get("train_state"))


def _write(payload: dict[str, Any], path: Path) -> str:
    with atomic_file(path, what="checkpoint") as fh:
        torch.save(payload, fh)
    digest = sha256_file(path)
    write_text_atomic(
        path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n", what="checkpoint hash"
    )
    return digest


def load_checkpoint(path: str | os.PathLike[str], *, expected_sha256: str | None = None) -> Checkpoint:
    """Load a medms checkpoint safely and check its integrity.

    The hash is checked against ``expected_sha256`` when given, else against the ``.sha256`` sidecar when
    present. The file is read and hashed once.

    Raises:
        CheckpointError: missing file, hash mismatch, unsafe or non-medms content, incompatible format.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint file not found", path=path)
    digest = sha256_file(path)
    sidecar = path.with_name(path.name + ".sha256")
    if expected_sha256 is None and sidecar.is_file():
        expected_sha256 = sidecar.read_text(encoding="utf-8").split()[0]
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise CheckpointError(
            f"sha256 mismatch: file has {digest[:16]}…, expected {expected_sha256[:16]}…; "
            "the checkpoint was modified or truncated — refusing to load it",
            path=path,
        )
    payload = load_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            "not a medms checkpoint (no 'format' marker); to load bare weights into a network use "
            "medms.networks.load_weights",
            path=path,
        )
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint format version {payload.get('format_version')} (medms {payload.get('medms_version')}) "
            f"is not supported by medms {__version__} (format {FORMAT_VERSION}); retrain or export with this version",
            path=path,
        )
    spec = CheckpointSpec.from_payload(payload, path=path)
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("checkpoint 'state_dict' must map names to tensors", path=path)
    return Checkpoint(spec, state, digest, path, payload.get("train_state"))


def build_model(checkpoint: Checkpoint) -> nn.Module:
    """Rebuild the network a checkpoint was trained with and load its weights (strict), in eval mode."""
    return checkpoint.build_model()


def load_state(model: nn.Module, checkpoint: Checkpoint) -> nn.Module:
    """Load a checkpoint's weights into ``model`` (strict) and put it in eval mode.

    Raises:
        CheckpointError: listing the missing and unexpected keys (the checkpoint is another architecture).
    """
    try:
        result = model.load_state_dict(checkpoint.state_dict, strict=False)
    except RuntimeError as err:  # shape mismatches are raised even when strict=False
        shapes = "; ".join(line.strip() for line in str(err).splitlines()[1:9] if line.strip())
        raise CheckpointError(
            f"weights do not match the network's shapes: {shapes or err}", path=checkpoint.path
        ) from err
    problems = [
        *(f"missing {k}" for k in result.missing_keys),
        *(f"unexpected {k}" for k in result.unexpected_keys),
    ]
    if problems:
        shown = "; ".join(problems[:8]) + (f"; … {len(problems) - 8} more" if len(problems) > 8 else "")
        raise CheckpointError(
            f"weights do not match the {checkpoint.spec.model.name} architecture: {shown}",
            path=checkpoint.path,
        )
    model.eval()
    return model


def _section(
    payload: Mapping[str, Any], key: str, fields: tuple[str, str], path: str | os.PathLike[str] | None
) -> dict[str, Any]:
    section = payload[key]
    name, options = fields
    if (
        not isinstance(section, dict)
        or not isinstance(section.get(name), str)
        or not isinstance(section.get(options, {}), dict)
    ):
        raise CheckpointError(
            f"checkpoint '{key}' must be {{'{name}': str, '{options}': dict}}, got {section!r:.80}", path=path
        )
    return {name: section[name], options: section.get(options, {})}
