"""The conversation corpus as tests: every conversation in ``must_pass.txt`` is played on the
composed bot over the sandbox on loopback and must reach its outcome; the corpus itself must say
what it means and cover issue 9's classes.

One bot (and one store) serves the whole module, the sandbox is reset before each conversation
and each conversation has its own contact: they cannot see each other. ``bench/corpus.py`` plays
all of them, failing ones included, and prints the figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.ozmap.sandbox import RunningSandbox
from tests.conversations.corpus import CLASSES, OUTCOMES, CorpusError, Script, load, must_pass
from tests.conversations.player import Player, corpus_bot

SCRIPTS = load()
PASSING = must_pass(SCRIPTS)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def player(
    _sandbox_server: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Player]:
    async with corpus_bot(tmp_path_factory.mktemp("corpus"), _sandbox_server) as bot:
        yield bot


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("script", PASSING, ids=[s.id for s in PASSING])
async def test_conversation(player: Player, script: Script) -> None:
    result = await player.play(script)
    assert result.passed, result.report()


def test_the_corpus_is_large_and_covers_every_class() -> None:
    assert len(SCRIPTS) >= 80
    tagged = Counter(c for s in SCRIPTS for c in s.classes)
    assert {c: tagged[c] for c in CLASSES if tagged[c] < 5} == {}
    assert set(OUTCOMES) <= {s.outcome for s in SCRIPTS}
    languages = Counter(s.lang for s in SCRIPTS)
    assert languages["en"] >= 5 and languages["es"] >= 3
    assert languages["pt_BR"] > len(SCRIPTS) / 2


def test_must_pass_lists_each_conversation_once() -> None:
    ids = [s.id for s in PASSING]
    assert len(ids) == len(set(ids))


def test_every_file_is_read(tmp_path: Path) -> None:
    """A file of scripts next to the corpus is loaded with it, in order (one file per theme)."""
    (tmp_path / "a.yml").write_text(
        "- {id: one, classes: [loops], outcome: ended, turns: [tchau]}\n", encoding="utf-8"
    )
    (tmp_path / "b.yml").write_text(
        "- {id: two, classes: [answers], outcome: answered, turns: ['quanto custa?']}\n",
        encoding="utf-8",
    )
    assert [s.id for s in load(tmp_path)] == ["one", "two"]


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("{id: a, classes: [loops], outcome: ended, turns: [{say: yes}]}", "quote the message"),
        ("{id: a, classes: [loops], outcome: ended, turns: [{say: x, expect: [nope]}]}", "check"),
        ("{id: a, classes: [nope], outcome: ended, turns: [x]}", "classes"),
        ("{id: a, classes: [loops], outcome: sold, turns: [x]}", "outcome"),
        ("{id: A_1, classes: [loops], outcome: ended, turns: [x]}", "kebab-case"),
    ],
)
def test_a_script_that_does_not_say_what_it_means_is_refused(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    (tmp_path / "bad.yml").write_text(f"- {entry}\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=complaint):
        load(tmp_path)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_conversation_that_misses_its_outcome_fails(player: Player) -> None:
    """The judge can fail: a customer who leaves is no sale, and the report says why."""
    [script] = load_text(
        "- id: leaves\n  classes: [loops]\n  outcome: reserved\n  stored: {name: Ana}\n"
        "  turns:\n    - say: quero contratar\n      expect: [summary]\n"
    )
    result = await player.play(script)
    assert not result.passed
    assert "expected one reservation in OZmap, found 0" in result.problems
    assert any("missing: sums the reservation up" in p for p in result.problems)
    assert "customer: quero contratar" in result.report()


def load_text(text: str) -> list[Script]:
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        (Path(tmp) / "one.yml").write_text(text, encoding="utf-8")
        return load(Path(tmp))
