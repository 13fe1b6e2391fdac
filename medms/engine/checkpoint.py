"""medms checkpoints: weights plus everything needed to rebuild the exact model and preprocessing.

A checkpoint is a ``torch.save`` of plain containers and tensors only, so it loads with
``torch.load(weights_only=True)``. Its sha256 is written beside it (``<file>.sha256``) and into the run
manifest; :func:`load_checkpoint` refuses a file whose hash does not match (tampered or truncated).

Example:
    >>> ckpt = load_checkpoint("medms-demo/run/best.pt")  # doctest: +SKIP
    >>> model = build_model(ckpt)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from medms import __version__
from medms.errors import CheckpointError, OutputError
from medms.networks.weights import sha256_file

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "build_model",
    "load_checkpoint",
    "load_state",
    "save_checkpoint",
    "sha256_file",
]

FORMAT = "medms-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(payload: dict[str, Any], path: str | os.PathLike[str]) -> str:
    """Write ``payload`` atomically (temp file + fsync + rename) with its ``.sha256`` sidecar; return the hash."""
    path = Path(path)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "medms_version": __version__, **payload}
    try:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OutputError(f"cannot write the checkpoint ({err.strerror or err})", path=path) from err
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        digest = sha256_file(tmp)
        os.replace(tmp, path)
        _write_text_atomic(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n")
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)  # never leave a half-written checkpoint behind
        raise OutputError(f"cannot write the checkpoint ({err.strerror or err})", path=path) from err
    return digest


def load_checkpoint(path: str | os.PathLike[str], *, expected_sha256: str | None = None) -> dict[str, Any]:
    """Load a medms checkpoint safely and check its integrity.

    The hash is checked against ``expected_sha256`` when given, else against the ``.sha256`` sidecar when present.
    Adds ``"sha256"`` and ``"path"`` to the returned dict.

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
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            "refused: the file needs unsafe unpickling (it may carry code); only plain weights are loaded "
            f"({str(err).splitlines()[0]})",
            path=path,
        ) from err
    except (RuntimeError, EOFError, OSError) as err:
        raise CheckpointError(f"not a readable PyTorch checkpoint ({err})", path=path) from err
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
    for key in ("model", "preprocessing", "class_names", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"checkpoint lacks the {key!r} entry", path=path)
    payload["sha256"] = digest
    payload["path"] = str(path)
    return payload


def build_model(checkpoint: dict[str, Any]) -> torch.nn.Module:
    """Rebuild the network a checkpoint was trained with and load its weights (strict)."""
    from medms.networks import build_network

    spec = checkpoint["model"]
    return load_state(build_network(spec["name"], **spec["options"]), checkpoint)


def load_state(model: torch.nn.Module, checkpoint: dict[str, Any]) -> torch.nn.Module:
    """Load a checkpoint's weights into ``model`` (strict) and put it in eval mode.

    Raises:
        CheckpointError: listing the missing and unexpected keys (the checkpoint is another architecture).
    """
    try:
        result = model.load_state_dict(checkpoint["state_dict"], strict=False)
    except RuntimeError as err:  # shape mismatches are raised even when strict=False
        shapes = "; ".join(line.strip() for line in str(err).splitlines()[1:9] if line.strip())
        raise CheckpointError(
            f"weights do not match the network's shapes: {shapes or err}", path=checkpoint.get("path")
        ) from err
    problems = [
        *(f"missing {k}" for k in result.missing_keys),
        *(f"unexpected {k}" for k in result.unexpected_keys),
    ]
    if problems:
        shown = "; ".join(problems[:8]) + (f"; … {len(problems) - 8} more" if len(problems) > 8 else "")
        raise CheckpointError(
            f"weights do not match the {checkpoint['model']['name']} architecture: {shown}",
            path=checkpoint.get("path"),
        )
    model.eval()
    return model


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
