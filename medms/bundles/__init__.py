"""MONAI bundles of medms models: write, verify and export them (``pipelines/`` holds ready ones).

A medms bundle is a MONAI bundle (``configs/metadata.json``, ``configs/{train,inference,evaluate}.json``,
``configs/logging.conf``, ``docs/README.md``, ``LICENSE``, ``models/model.pt``) whose configs name medms
components by ``_target_`` and whose weights are a medms checkpoint with its sha256 in the metadata.

Example:
    >>> from medms.bundles import export_bundle, is_bundle, open_bundle
    >>> is_bundle("pipelines/breastmnist_msresnet50")  # doctest: +SKIP
    True
"""

from medms.bundles.export import export_bundle, install_weights
from medms.bundles.layout import REQUIRED_FILES, BundleSpec, write_bundle
from medms.bundles.verify import (
    BundleInfo,
    is_bundle,
    load_schema,
    open_bundle,
    open_model,
    validate_metadata,
    verify_bundle,
)

__all__ = [
    "REQUIRED_FILES",
    "BundleInfo",
    "BundleSpec",
    "export_bundle",
    "install_weights",
    "is_bundle",
    "load_schema",
    "open_bundle",
    "open_model",
    "validate_metadata",
    "verify_bundle",
    "write_bundle",
]
