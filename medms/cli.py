"""The ``medms`` command line: parses arguments, calls the Python API, prints a summary. Nothing else.

Each sub-command has an ``_add_<name>`` function (its arguments) and a ``_run_<name>`` function (the call).
Typed :class:`medms.errors.MedmsError` failures are printed as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from medms import __version__
from medms.errors import MedmsError

# ----------------------------------------------------------------------------------------------- scan


def _add_scan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="list the DICOM series under a file or folder (headers only)")
    p.add_argument("path", help="a DICOM file or a folder tree")
    p.add_argument("--show-skipped", action="store_true", help="also list skipped files and why")
    p.set_defaults(func=_run_scan)


def _run_scan(args: argparse.Namespace) -> int:
    from medms.io import scan_dicom

    result = scan_dicom(args.path)
    print(result.format_table(show_skipped=args.show_skipped))
    return 0


# ---------------------------------------------------------------------------------------------- train


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network from a YAML/JSON config (also under torchrun for DDP)")
    p.add_argument("--config", required=True, help="training config (YAML or JSON; see docs/training.md)")
    p.add_argument("--output", required=True, help="run folder (checkpoints, metrics, manifest)")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt")
    p.add_argument(
        "--overwrite", action="store_true", help="replace the outputs of an earlier run in RUN_DIR"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from medms.engine import train

    result = train(
        args.config, args.output, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress
    )
    if result.test_metrics:
        auc = result.test_metrics["auc"]
        print(f"test AUC {auc['value']:.3f} (95% CI {auc['low']:.3f}–{auc['high']:.3f})")
    print(f"best epoch {result.best_epoch}, validation AUC {result.val_auc:.3f} → {result.best_checkpoint}")
    return 0


# -------------------------------------------------------------------------------------------- predict


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="classify DICOM series / NIfTI files into a predictions CSV")
    p.add_argument(
        "--model", required=True, help="checkpoint file, medms train run folder or MONAI bundle folder"
    )
    p.add_argument(
        "--input",
        required=True,
        action="append",
        help="folder, DICOM/NIfTI file or CSV manifest (repeatable)",
    )
    p.add_argument("--output", required=True, help="predictions CSV to write")
    p.add_argument("--resume", action="store_true", help="skip ids already in OUTPUT and append the rest")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--workers", type=int, default=2, help="parallel loading processes")
    p.add_argument("--tta", action="store_true", help="flip test-time augmentation")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    from medms.bundles import is_bundle, open_bundle
    from medms.engine import predict

    network = None
    model = args.model
    if is_bundle(model):  # verified, read and hashed once; its network is used as built
        info = open_bundle(model)
        model, network = info.checkpoint, info.model
    summary = predict(
        model,
        args.input,
        args.output,
        resume=args.resume,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        num_workers=args.workers,
        tta_flip=args.tta,
        device=args.device,
        progress=not args.no_progress,
        network=network,
    )
    print(summary.format())
    return 0


# ----------------------------------------------------------------------------------------------- demo


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train, predict (through DICOM) and report on the shipped BreastMNIST")
    p.add_argument("--output", default="medms-demo", help="folder for everything the demo writes")
    p.add_argument(
        "--data", default=None, help="BreastMNIST .npz (default: sample_data/medmnist/breastmnist.npz)"
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--size", type=int, default=64, help="input size in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo in OUTPUT")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from medms.demo import run_demo

    result = run_demo(
        args.output,
        data=args.data,
        epochs=args.epochs,
        spatial_size=args.size,
        seed=args.seed,
        num_workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    print(f"trained: {result.train.best_checkpoint} (sha256 {result.train.sha256[:16]}…)")
    print(f"predicted: {result.predict.format()}")
    print(result.report.summary())
    print(f"open the report: {result.report.html}")
    return 0


# ------------------------------------------------------------------------------------------- evaluate


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="diagnostic metrics with confidence intervals → report.html/.json/.md (docs/report.md)",
    )
    p.add_argument("--predictions", required=True, help="predictions CSV (docs/formats.md)")
    p.add_argument("--labels", required=True, help="labels CSV: id,label[,extra columns]")
    p.add_argument("--output", required=True, help="folder for report.html, report.json and report.md")
    p.add_argument(
        "--threshold", type=float, default=None, help="fixed decision threshold (binary; default 0.5)"
    )
    p.add_argument(
        "--threshold-from",
        default=None,
        metavar="VAL.csv",
        help="validation predictions CSV to choose the threshold on (its labels in --labels)",
    )
    p.add_argument(
        "--threshold-method",
        choices=("youden", "sensitivity", "specificity"),
        default=None,
        help="how --threshold-from chooses the threshold (default youden)",
    )
    p.add_argument("--target", type=float, default=None, help="target sensitivity/specificity in [0, 1]")
    p.add_argument(
        "--positive-class",
        default=None,
        metavar="NAME",
        help="the class whose probability is the score (binary; default the second class)",
    )
    p.add_argument(
        "--subgroup", action="extend", nargs="+", default=[], metavar="COLUMN", help="labels column(s)"
    )
    p.add_argument(
        "--compare", default=None, metavar="OTHER.csv", help="another model's predictions, same cases"
    )
    p.add_argument(
        "--aggregate-by", default=None, metavar="COLUMN", help="labels column to aggregate series by"
    )
    p.add_argument(
        "--aggregate", choices=("max", "mean"), default="max", help="how series probabilities combine"
    )
    p.add_argument("--level", type=float, default=0.95, help="confidence level of the intervals")
    p.add_argument("--n-bootstrap", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in OUTPUT")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from medms.report import evaluate

    result = evaluate(
        args.predictions,
        args.labels,
        args.output,
        threshold=args.threshold,
        threshold_from=args.threshold_from,
        threshold_method=args.threshold_method,
        target=args.target,
        subgroup=args.subgroup,
        compare=args.compare,
        aggregate_by=args.aggregate_by,
        aggregate=args.aggregate,
        level=args.level,
        n_bootstrap=args.n_bootstrap,
        seed=args.seed,
        overwrite=args.overwrite,
        positive_class=args.positive_class,
    )
    print(result.summary())
    return 0


# --------------------------------------------------------------------------------------------- bundle


def _add_bundle(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bundle", help="MONAI bundles: export a medms train run, verify a bundle (docs/bundles.md)"
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = actions.add_parser("export", help="turn a medms train run into a MONAI bundle")
    e.add_argument("run_dir", metavar="RUN_DIR", help="medms train run folder (its best.pt)")
    e.add_argument("--output", required=True, help="bundle folder to write")
    e.add_argument("--name", default=None, help="bundle name in the metadata")
    e.add_argument("--modality", default=None, help="input modality in the metadata (CT, MR, US, ...)")
    e.add_argument("--overwrite", action="store_true", help="write into a non-empty OUTPUT")
    v = actions.add_parser("verify", help="check a bundle: files, metadata schema, weights sha256, shapes")
    v.add_argument("bundle", metavar="BUNDLE", help="bundle folder")
    p.set_defaults(func=_run_bundle)


def _run_bundle(args: argparse.Namespace) -> int:
    from medms.bundles import export_bundle, verify_bundle

    if args.action == "export":
        out = export_bundle(
            args.run_dir, args.output, name=args.name, modality=args.modality, overwrite=args.overwrite
        )
        print(f"bundle written: {out} (models/model.pt sha256 {verify_bundle(out).sha256[:16]}…)")
    else:
        info = verify_bundle(args.bundle)
        print(f"bundle verified: {info.root} (models/model.pt sha256 {info.sha256[:16]}…)")
    return 0


# ------------------------------------------------------------------------------------------ registry

_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_scan,
    _add_train,
    _add_predict,
    _add_demo,
    _add_evaluate,
    _add_bundle,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``medms`` command (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(prog="medms", description="Medical scan classification with MONAI.")
    parser.add_argument("--version", action="version", version=f"medms {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medms`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except MedmsError as err:
        print(f"medms {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"medms {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
