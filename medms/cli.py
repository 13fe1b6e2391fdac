"""The ``medms`` command line: parses arguments, calls the Python API, prints a summary. Nothing else.

Each sub-command has an ``_add_<name>`` function (its arguments) and a ``_run_<name>`` function (the call).
Typed :class:`medms.errors.MedmsError` failures are printed as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
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


# ------------------------------------------------------------------------------------------ registry

_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_scan]


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
