"""The callables a medms bundle config names by ``_target_``: thin faces of the package's own builders.

They take the preset/network *name and options* as two plain config values (what a checkpoint stores), so a
config never re-lists transforms or layers and MONAI's ``ConfigParser`` can instantiate them.

Example:
    >>> from monai.bundle import ConfigParser
    >>> parser = ConfigParser({"network_def": {"_target_": "medms.bundles.components.network",
    ...     "name": "resnet50", "options": {"spatial_dims": 2, "num_classes": 3}}})
    >>> parser.get_parsed_content("network_def").config["num_classes"]
    3
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from monai.data import Dataset
from monai.transforms import Compose, apply_transform
from torch import nn

from medms.config import TrainConfig
from medms.errors import MedmsError

__all__ = [
    "BundlePredictor",
    "SeriesDataset",
    "make_train_config",
    "network",
    "preprocessing",
    "run_and_report",
    "train_into_bundle",
]


def _fail(err: MedmsError) -> NoReturn:
    """Under ``python -m monai.bundle``: one line on stderr and exit status 2 — what the medms command line does —
    instead of MONAI's traceback. Called from Python (``ConfigWorkflow.run()``): the error is raised as it is."""
    if not _from_bundle_cli():
        raise err
    print(f"medms bundle: error: {err}", file=sys.stderr)
    raise SystemExit(2)


def _from_bundle_cli() -> bool:
    parts = Path(sys.argv[0] if sys.argv else "").parts
    return parts[-3:] == ("monai", "bundle", "__main__.py")


def run_and_report(step: Callable[[], Any]) -> None:
    """Run a bundle step (``trainer``), print its one-line summary, and turn a medms error into one line."""
    try:
        print(step())
    except MedmsError as err:
        _fail(err)


def network(name: str, options: dict[str, Any] | None = None) -> nn.Module:
    """``medms.networks.build_network(name, **options)`` in eval mode (the bundle's ``network_def``)."""
    from medms.networks import build_network

    return build_network(name, **dict(options or {})).eval()


def preprocessing(preset: str, options: dict[str, Any] | None = None, *, augment: bool = False) -> Compose:
    """``medms.transforms.presets.get_preset(preset, **options)`` (the bundle's ``preprocessing``).

    Example:
        >>> preprocessing("medmnist", {"spatial_size": 32}).transforms[-1].__class__.__name__
        'EnsureTyped'
    """
    from medms.transforms.presets import get_preset

    return get_preset(preset, **{**dict(options or {}), "augment": augment})


def make_train_config(
    *,
    data: dict[str, Any],
    preset: str,
    preset_options: dict[str, Any],
    network: str,
    network_options: dict[str, Any],
    class_names: list[str] | None,
    train: dict[str, Any],
    limit: int | None = None,
    bundle_root: str | os.PathLike[str] | None = None,
) -> TrainConfig:
    """A validated :class:`medms.config.TrainConfig` from a bundle's train.json values; relative data paths
    resolve against ``bundle_root`` (a copied bundle still finds its data)."""
    raw_data = {**data, "class_names": class_names}
    if limit is not None:
        raw_data["limit"] = int(limit)
    if bundle_root is not None:
        for key in ("npz", "manifest"):
            value = raw_data.get(key)
            if value is not None and not Path(value).is_absolute():
                raw_data[key] = str(Path(bundle_root) / value)
    return TrainConfig.from_dict(
        {
            "data": raw_data,
            "preprocessing": {"preset": preset, "options": dict(preset_options)},
            "model": {"name": network, "options": dict(network_options)},
            "train": dict(train),
        },
        source="configs/train.json",
    )


def train_into_bundle(
    config: TrainConfig, run_dir: str | os.PathLike[str], bundle_root: str | os.PathLike[str]
) -> str:
    """Train with :func:`medms.engine.train` into ``run_dir`` and install the best weights as the bundle's
    ``models/model.pt`` (its sha256 recorded in ``configs/metadata.json``; the measured test metrics stay in the
    run folder, ``run_dir/metrics.json``).

    Returns a one-line summary.
    """
    from medms.bundles.export import install_weights
    from medms.engine import train

    result = train(config, run_dir, overwrite=True, progress=False)
    digest = install_weights(result.output, bundle_root)
    return f"trained {Path(run_dir)} (best epoch {result.best_epoch}); models/model.pt sha256 {digest}"


class SeriesDataset(Dataset):
    """The bundle's ``dataset``: every series under ``inputs`` found as ``medms predict`` finds them (DICOM
    folders/files, NIfTI, a CSV manifest), each item ``{"image": path(s), "id": …, "source": …}`` passed through
    ``transform`` (the bundle's ``preprocessing``) when read.

    The inputs are searched on first use, not when the config is parsed, so a workflow can be checked
    (``ConfigWorkflow.check_properties``) before the data exists.

    Example:
        >>> ds = SeriesDataset(["sample_data/dicom"], transform=None)  # doctest: +SKIP
        >>> len(ds), ds[0]["id"]  # doctest: +SKIP
    """

    def __init__(self, inputs: Sequence[str | os.PathLike[str]], transform: Callable | None = None) -> None:
        super().__init__(data=[], transform=transform)
        self.inputs = [str(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
        self._items: list[Any] | None = None
        self.skipped: list[tuple[str, str]] = []

    @property
    def items(self) -> list[Any]:
        """The discovered :class:`medms.io.WorkItem` list (raises ``SeriesSelectionError`` when the
        inputs are missing or hold nothing to classify)."""
        if self._items is None:
            from medms.io.discover import discover

            self._items, self.skipped = discover(self.inputs)
            self.data = [
                {
                    "image": it.loader_input(),
                    "id": it.id,
                    "source": it.source,
                }
                for it in self._items
            ]
        return self._items

    def __len__(self) -> int:
        return len(self.items)

    def _transform(self, index: int) -> Any:
        self.items  # noqa: B018 - discover on first access
        data = dict(self.data[index])
        return apply_transform(self.transform, data) if self.transform is not None else data


class BundlePredictor:
    """The bundle's ``evaluator`` (MONAI's inference-workflow engine id): ``run()`` verifies the bundle, loads
    ``models/model.pt`` into the config's ``network_def`` and runs the ``medms predict`` loop over ``dataset``
    with its transform and the config's ``inferer``, writing the predictions CSV (same format, crash-safe,
    resumable, failures recorded per series).

    Example:
        >>> from monai.bundle import ConfigWorkflow
        >>> wf = ConfigWorkflow("configs/inference.json", workflow_type="infer")  # doctest: +SKIP
        >>> wf.initialize(); wf.evaluator.run().ok  # doctest: +SKIP
    """

    def __init__(
        self,
        bundle_root: str | os.PathLike[str],
        network: nn.Module,
        dataset: SeriesDataset,
        output: str | os.PathLike[str],
        inferer: Callable[..., Any] | None = None,
        *,
        batch_size: int = 16,
        num_workers: int = 2,
        device: str = "auto",
        overwrite: bool = False,
        resume: bool = False,
        tta_flip: bool = False,
        progress: bool = False,
    ) -> None:
        self.bundle_root, self.network, self.dataset = Path(bundle_root), network, dataset
        self.output, self.inferer = Path(output), inferer
        self.options: dict[str, Any] = {
            "batch_size": int(batch_size),
            "num_workers": int(num_workers),
            "device": device,
            "overwrite": bool(overwrite),
            "resume": bool(resume),
            "tta_flip": bool(tta_flip),
            "progress": bool(progress),
        }

    def run(self) -> Any:
        """Predict every series of the dataset; returns the :class:`medms.engine.PredictSummary`."""
        from medms.bundles.verify import open_bundle
        from medms.checkpoint import load_state
        from medms.engine import predict_items

        # files, metadata, sha256, shapes: before any data is read; the checkpoint it loaded is reused
        ckpt = open_bundle(self.bundle_root).checkpoint
        load_state(self.network, ckpt)
        items = self.dataset.items
        return predict_items(
            self.network,
            ckpt,
            items,
            self.dataset.transform,
            self.output,
            not_series=len(self.dataset.skipped),
            inferer=self.inferer,
            **self.options,
        )

    def main(self, report: Callable[[], Any] | None = None) -> None:
        """What the bundle's ``run`` does: :meth:`run`, then ``report()`` if given (the evaluate workflow),
        printing their summaries; a medms error (e.g. ``models/model.pt`` missing) is one line and exit status 2.
        """
        try:
            print(self.run().format())
            if report is not None:
                print(report().summary())
        except MedmsError as err:
            _fail(err)
