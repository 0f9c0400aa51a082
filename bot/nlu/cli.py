"""``ozbot nlu test`` and ``ozbot nlu parse``: for whoever edits the examples.

``test`` trains on one part of the examples and reports on the held-out rest (see
:mod:`bot.nlu.evaluate`), as ``rasa test nlu`` does; ``--min-f1`` makes it fail (exit 1) when a
language's macro-F1 is below the figure. ``parse`` shows how one message is read.

The model is imported when a command runs, not when ``ozbot`` builds its parser: scikit-learn
takes seconds to import and other commands do not need it.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.nlu.base import Expect, Option

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """``ozbot nlu test [--seed N] [--test-fraction F] [--min-f1 X]``, ``ozbot nlu parse``."""
    parser = subparsers.add_parser("nlu", help="evaluate and try the understanding of messages")
    sub = parser.add_subparsers(dest="nlu_command", metavar="SUBCOMMAND", required=True)

    test = sub.add_parser("test", help="train on part of the examples, report on the rest")
    test.add_argument("--seed", type=int, default=None, help="split seed (default: fixed)")
    test.add_argument("--test-fraction", type=float, default=None, help="held-out share")
    test.add_argument(
        "--min-f1",
        type=float,
        default=None,
        metavar="F1",
        help="exit 1 when pt_BR's held-out macro-F1 is below this",
    )
    test.set_defaults(handler=_test)

    parse = sub.add_parser("parse", help="show how one message is understood")
    parse.add_argument("text", help="the customer's message")
    parse.add_argument(
        "--expects",
        choices=[e.value for e in Expect],
        default=Expect.NOTHING.value,
        help="what the conversation's state asks for",
    )
    parse.add_argument("--language", default=None, help="the conversation's language so far")
    parse.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="PAYLOAD=LABEL",
        help="an option the bot offered (repeat for each)",
    )
    parse.add_argument(
        "--streets",
        action="store_true",
        help="also find the offline gazetteer's street names without a street type",
    )
    parse.set_defaults(handler=_parse)


def _test(args: argparse.Namespace) -> int:
    from bot.nlu.evaluate import SEED, TEST_FRACTION, evaluate

    report = evaluate(
        seed=SEED if args.seed is None else args.seed,
        test_fraction=TEST_FRACTION if args.test_fraction is None else args.test_fraction,
    )
    print(report.render())
    if args.min_f1 is not None and report.languages["pt_BR"].macro_f1 < args.min_f1:
        print(f"\npt_BR macro-F1 below {args.min_f1}")
        return 1
    return 0


def _options(raw: list[str]) -> list[Option]:
    options = []
    for item in raw:
        payload, _, label = item.partition("=")
        options.append(Option(payload, label or payload))
    return options


def _parse(args: argparse.Namespace) -> int:
    from bot.nlu.embedded import EmbeddedUnderstander

    streets: list[str] = []
    if args.streets:
        from bot.geo.gazetteer import Gazetteer

        streets = [s.name for s in Gazetteer.from_file().streets]
    nlu = EmbeddedUnderstander(known_streets=streets)
    understood = nlu.read(
        args.text,
        expects=Expect(args.expects),
        language=args.language,
        options=_options(args.option),
    )
    print(f"intent:     {understood.intent} ({understood.confidence:.2f})")
    print(f"language:   {understood.language}")
    print("entities:" + ("" if understood.entities else "   (none)"))
    for e in understood.entities:
        span = args.text[e.start : e.end]
        print(f"  {e.kind.value:<13} {e.value!r:<32} [{e.start}:{e.end}] {span!r}")
    print("ranking:    " + ", ".join(f"{name} {score:.2f}" for name, score in understood.ranking))
    return 0
