"""``ozbot flows diagrams [--check]``: the product's flow diagrams, regenerated from their
tables (:mod:`bot.engine.diagrams` draws them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import flows
from bot.engine.diagrams import write_diagrams

__all__ = ["register"]


def _diagrams(args: argparse.Namespace) -> int:
    directory = Path(flows.__file__).parent
    changed = write_diagrams(flows.FLOWS, directory, check=args.check)
    for path in changed:
        print(f"{'stale' if args.check else 'wrote'} {path}")
    if args.check and changed:
        print("run `ozbot flows diagrams` to regenerate them", file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    """``ozbot flows diagrams [--check]``."""
    parser = subparsers.add_parser("flows", help="inspect the conversation flows")
    sub = parser.add_subparsers(dest="flows_command", metavar="SUBCOMMAND", required=True)
    diagrams = sub.add_parser("diagrams", help="regenerate flows/<name>.mmd from the flow tables")
    diagrams.add_argument("--check", action="store_true", help="only report stale diagrams")
    diagrams.set_defaults(handler=_diagrams)
