"""The ``ozbot`` command. Each area of the product registers its own sub-commands.

A sub-command module exposes ``register(subparsers)``, adding parsers whose ``handler`` default is
a function ``(args) -> int`` (the exit code). Errors from the :mod:`bot.errors` tree become one
clear line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bot.errors import ConfigError, OzbotError
from bot.logsafe import configure_logging
from bot.settings import read_setting

__all__ = ["main"]

# Modules that contribute sub-commands, in the order they appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.demo",
    "bot.serve",
    "bot.ozmap.cli",
    "bot.ozmap.sandbox.cli",
    "bot.flows_cli",
    "bot.agents",
    "bot.ops.settings_cli",
    "bot.nlu.cli",
    "bot.ops.migrate",
    "bot.ops.doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ozbot",
        description="Sales-and-support chatbot for fibre ISPs on OZmap.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        log_format = read_setting("log_format")
    except ConfigError as exc:
        print(f"ozbot: {exc}", file=sys.stderr)
        return 1
    configure_logging(verbose=args.verbose, log_format=log_format)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        code: int = handler(args)
    except OzbotError as exc:
        print(f"ozbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
