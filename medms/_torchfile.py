"""Reading ``torch.save`` files safely: the package's one ``torch.load`` call, its hash and its key listing.

Private: :func:`medms.networks.load_weights` (bare weights) and :func:`medms.checkpoint.load_checkpoint`
(medms checkpoints) both read files through :func:`load_torch_file`, so the refusal of unsafe pickles and its
message exist once.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from typing import Any

import torch

from medms.errors import CheckpointError

__all__ = ["MAX_LISTED", "list_keys", "load_torch_file", "sha256_file"]

MAX_LISTED = 12


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (checkpoints can be large).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"abc")
        >>> sha256_file(f.name)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(chunk_size):
                digest.update(block)
    except FileNotFoundError as err:
        raise CheckpointError("weights file not found; check the path", path=path) from err
    except OSError as err:  # a folder, no permission, I/O error
        raise CheckpointError(f"cannot read the weights file ({err.strerror or err})", path=path) from err
    return digest.hexdigest()


def load_torch_file(path: str | os.PathLike[str]) -> Any:
    """Read a ``torch.save`` file on the CPU with ``weights_only=True``, with typed errors.

    Raises:
        CheckpointError: the file needs unsafe unpickling (it references Python classes or functions), or it
            is not a readable ``torch.save`` file at all.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" not in str(err).lower():  # no class/function reference: garbage, not an unsafe pickle
            raise CheckpointError(
                "not a readable torch weights file (corrupt or not written by torch.save)", path=path
            ) from err
        raise CheckpointError(
            "refused: the file needs unsafe unpickling (it may carry code); only plain weights are loaded — "
            "re-save it as a plain state dict with torch.save(model.state_dict(), path)",
            path=path,
        ) from err
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(
            f"not a readable torch weights file ({err.__class__.__name__})", path=path
        ) from err


def list_keys(keys: Iterable[str]) -> str:
    """At most :data:`MAX_LISTED` keys, comma-separated, with a count of the rest."""
    keys = list(keys)
    shown = ", ".join(keys[:MAX_LISTED])
    return shown + (f", … (+{len(keys) - MAX_LISTED} more)" if len(keys) > MAX_LISTED else "")
