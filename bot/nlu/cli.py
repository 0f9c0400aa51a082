"""``ozbot nlu test`` and ``ozbot nlu parse``: for whoever edits the examples.

``test`` trains on one part of the examples and reports on the held-out rest (see
:mod:`bot.nlu.evaluate`), as ``rasa test nlu`` does; ``--folds K [--repeats R]`` runs a
stratified k-fold instead and prints each language's mean and minimum macro-F1 over the folds;
``--min-f1`` makes it fail (exit 1) when a language's macro-F1 (with ``--folds``, its lowest
fold's) is below the figure; ``--set NAME=VALUE`` trains with another model setting
(:class:`bot.nlu.model.Settings`: ``c``, ``sharpness``, ``class_weight``, ``analyzers``), to
measure a variant with the same command and split as the shipped model. ``parse`` shows how
one message is read.

The model is imported when a command runs, not when ``ozbot`` builds its parser: scikit-learn
takes seconds to import and other commands do not need it.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.nlu.base import Expect, Option

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """``ozbot nlu test [--seed N] [--test-fraction F | --folds K [--repeats R]] [--min-f1 X]
    [--set NAME=VALUE ...]``, ``ozbot nlu parse``."""
    parser = subparsers.add_parser("nlu", help="evaluate and try the understanding of messages")
    sub = parser.add_subparsers(dest="nlu_command", metavar="SUBCOMMAND", required=True)

    test = sub.add_parser("test", help="train on part of the examples, report on the rest")
    test.add_argument("--seed", type=int, default=None, help="split seed (default: fixed)")
    how = test.add_mutually_exclusive_group()
    how.add_argument("--test-fraction", type=float, default=None, help="held-out share")
    how.add_argument(
        "--folds",
        type=_at_least(2),
        default=None,
        metavar="K",
        help="stratified k-fold: mean and minimum macro-F1 over K folds",
    )
    test.add_argument(
        "--repeats",
        type=_at_least(1),
        default=1,
        metavar="R",
        help="with --folds: repeat the k-fold R times, reshuffled",
    )
    test.add_argument(
        "--min-f1",
        type=float,
        default=None,
        metavar="F1",
        help="exit 1 when a language's held-out macro-F1 (with --folds, its lowest) is below",
    )
    test.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="train with another model setting (c, sharpness, class_weight, analyzers): "
        "to measure a variant against the shipped one",
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


def _at_least(low: int) -> Any:
    def parse(raw: str) -> int:
        value = int(raw)
        if value < low:
            raise argparse.ArgumentTypeError(f"at least {low}")
        return value

    return parse


def _test(args: argparse.Namespace) -> int:
    from bot.nlu.evaluate import SEED, TEST_FRACTION, cross_validate, evaluate
    from bot.nlu.model import Settings

    if args.repeats != 1 and args.folds is None:
        print("--repeats needs --folds")
        return 2
    try:
        settings = Settings.parse(args.set)
    except ValueError as exc:
        print(f"--set: {exc}")
        return 2
    seed = SEED if args.seed is None else args.seed
    figures: dict[str, float]
    if args.folds is not None:
        cross = cross_validate(folds=args.folds, repeats=args.repeats, seed=seed, settings=settings)
        print(cross.render())
        figures = {language: cross.minimum(language) for language in cross.languages}
    else:
        report = evaluate(
            seed=seed,
            test_fraction=TEST_FRACTION if args.test_fraction is None else args.test_fraction,
            settings=settings,
        )
        print(report.render())
        figures = {language: r.macro_f1 for language, r in report.languages.items()}
    below = [language for language, f1 in figures.items() if f1 < (args.min_f1 or 0.0)]
    for language in below:
        print(f"\n{language} macro-F1 below {args.min_f1}")
    return 1 if below else 0


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

        streets = Gazetteer.from_file().street_names()
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
