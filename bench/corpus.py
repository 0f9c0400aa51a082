"""The conversation corpus, played on the composed bot: how many customers get what they want.

    .venv/bin/python bench/corpus.py [--only ID ...] [--class CLASS] [--brief]

Plays every script of ``tests/conversations/*.yml`` (issue 9's realistic WhatsApp customers) on
the bot as the channels run it (``bot.compose.compose``, the dispatcher, a real SQLite store) over
the OZmap sandbox served on loopback, and prints:

* per class of issue 9 (a conversation counts in every class it is tagged with), passed/total;
* per outcome, passed/total;
* for each sale that went through, how many customer messages it took;
* each failing conversation: what went wrong and its transcript (``--brief``: only the problems).

It exits 0 whatever passes: it measures. ``tests/conversations/test_corpus.py`` is the test (it
plays the ids in ``must_pass.txt``). Figures recorded in /work/coord/notes/corpus.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ozmap.sandbox import Network, serve_in_thread
from tests.conversations.corpus import CLASSES, OUTCOMES, load, must_pass
from tests.conversations.player import Result, corpus_bot

TOKEN = "corpus-bench-token"  # noqa: S105 - the loopback sandbox's own key, not a secret


async def play(only: set[str], klass: str | None) -> list[Result]:
    scripts = load()
    if only:
        scripts = [s for s in scripts if s.id in only]
    if klass:
        scripts = [s for s in scripts if klass in s.classes]
    results: list[Result] = []
    with (
        serve_in_thread(Network.load(), TOKEN) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        async with corpus_bot(Path(tmp), sandbox) as player:
            for script in scripts:
                results.append(await player.play(script))
    return results


def print_report(results: list[Result], *, brief: bool, seconds: float) -> None:
    passed = sum(r.passed for r in results)
    print(f"conversations: {passed}/{len(results)} passed ({seconds:.1f} s)")
    print("\nper class (a conversation counts in each class it is tagged with):")
    for name, meaning in CLASSES.items():
        tagged = [r for r in results if name in r.script.classes]
        if tagged:
            ok = sum(r.passed for r in tagged)
            print(f"  {name:<9} {ok:>3}/{len(tagged):<3} {meaning}")
    print("\nper outcome:")
    for name in OUTCOMES:
        wanted = [r for r in results if r.script.outcome == name]
        if wanted:
            print(f"  {name:<14} {sum(r.passed for r in wanted):>3}/{len(wanted)}")
    sales = [r for r in results if r.script.outcome == "reserved" and r.took is not None]
    if sales:
        took = Counter(r.took for r in sales)
        spread = ", ".join(f"{n} messages: {took[n]}" for n in sorted(took))
        print(
            f"\nsales that reserved: {len(sales)}; customer messages each took: {spread}"
            f" (median {statistics.median(r.took or 0 for r in sales)})"
        )
    listed = {s.id for s in must_pass(load())}
    regressions = [r for r in results if r.script.id in listed and not r.passed]
    if regressions:
        print(f"\nmust_pass.txt lists {len(regressions)} that fail now:")
        for r in regressions:
            print(f"  {r.script.id}")
    newly = [r.script.id for r in results if r.passed and r.script.id not in listed]
    if newly:
        print(f"\npassing, not yet in must_pass.txt ({len(newly)}):")
        for cid in newly:
            print(f"  {cid}")
    failing = [r for r in results if not r.passed]
    if failing:
        print(f"\nfailing ({len(failing)}):\n")
        for r in failing:
            if brief:
                print(f"{r.script.id} ({', '.join(r.script.classes)})")
                print("\n".join(f"  ✗ {p}" for p in r.problems))
            else:
                print(r.report())
            print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=[], help="conversation ids to play")
    parser.add_argument("--class", dest="klass", choices=sorted(CLASSES), help="one class")
    parser.add_argument("--brief", action="store_true", help="problems only, no transcripts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the report is the output
    began = time.perf_counter()
    results = asyncio.run(play(set(args.only), args.klass))
    print_report(results, brief=args.brief, seconds=time.perf_counter() - began)


if __name__ == "__main__":
    main()
