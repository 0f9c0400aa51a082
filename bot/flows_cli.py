"""``ozbot flows diagrams [--check] [--out DIR]``: the product's flow diagrams, regenerated from
their tables (:mod:`bot.engine.diagrams` draws them).

They are written beside the flows (``flows/<name>.mmd``) in a source checkout. An installed
package's directory is usually not the user's to write (site-packages owned by root, a
read-only image, a zip): there they go to the current directory, or to ``--out``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import flows
from bot.engine.diagrams import write_diagrams

__all__ = ["register"]


def _directory(args: argparse.Namespace) -> Path:
    """Where the diagrams are read (``--check``) or written."""
    if args.out is not None:
        return Path(args.out)
    package = Path(flows.__file__).parent
    if args.check or os.access(package, os.W_OK):
        return package
    here = Path.cwd()
    print(
        f"{package} is not writable (an installed package): writing the diagrams to {here}; "
        "--out DIR chooses another directory",
        file=sys.stderr,
    )
    return here


def _diagrams(args: argparse.Namespace) -> int:
    directory = _directory(args)
    if not args.check:
        directory.mkdir(parents=True, exist_ok=True)
    changed = write_diagrams(flows.FLOWS, directory, check=args.check)
    for path in changed:
        print(f"{'stale' if args.check else 'wrote'} {path}")
    if args.check and changed:
        print("run `ozbot flows diagrams` to regenerate them", file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    """``ozbot flows diagrams [--check] [--out DIR]``."""
    parser = subparsers.add_parser("flows", help="inspect the conversation flows")
    sub = parser.add_subparsers(dest="flows_command", metavar="SUBCOMMAND", required=True)
    diagrams = sub.add_parser(
        "diagrams",
        help="regenerate flows/<name>.mmd from the flow tables (in an installed package whose "
        "directory is not writable: in the current directory)",
    )
    diagrams.add_argument("--check", action="store_true", help="only report stale diagrams")
    diagrams.add_argument(
        "--out", metavar="DIR", help="the directory to write (or, with --check, to compare) them in"
    )
    diagrams.set_defaults(handler=_diagrams)
