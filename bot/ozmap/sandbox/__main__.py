"""``python -m bot.ozmap.sandbox [options]``: the same as ``ozbot sandbox [options]``."""

from __future__ import annotations

import argparse
import sys

from bot.errors import OzbotError
from bot.ozmap.sandbox.cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.ozmap.sandbox", description="Run the OZmap-compatible sandbox."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except OzbotError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
