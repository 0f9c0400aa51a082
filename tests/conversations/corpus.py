"""The conversation corpus: customers' scripts (``*.yml`` beside this module) as plain data.

One YAML file per theme holds a list of conversations::

    - id: sales-address-in-first-message        # unique, kebab-case
      title: asks for fibre and gives the street in the first message
      classes: [carried, phrasing]               # issue 9's classes (CLASSES), first is primary
      lang: pt_BR                                # the language every reply must be in
      lang_from: 2                               # ... from this turn on (pt_BR before)
      outcome: reserved                          # OUTCOMES
      stored: {name: Joao Pedro Alves, unit: Apto 302, plan: 300}
      max_messages: 4                            # customer messages until the outcome, at most
      given: [reservation]                       # set up first (not counted, not checked)
      profile: Ju                                # the WhatsApp profile name, when there is one
      tolerate_unclear: false                    # may a reply say "Não entendi"?
      turns:
        - oi boa tarde, tem fibra na rua delminda silveira 900?
        - say: isso
          expect: [covered, asks_plan]           # named checks (checks.CHECKS) of the replies
          reject: [asks_address]                 # ... and ones they must not pass
          has: ["r\\$"]                          # regexes over the normalised replies
          lacks: ["cancelad"]
        - pin: [-27.5782, -48.5274]              # a location pin
        - tap: yes                               # a button payload (rare: customers type)

Nothing here knows the engine; :mod:`tests.conversations.player` plays the scripts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conversations.checks import CHECKS

__all__ = ["CLASSES", "HERE", "OUTCOMES", "CorpusError", "Script", "Step", "load", "must_pass"]

HERE = Path(__file__).resolve().parent

#: issue 9's classes of what goes wrong, by the short names the corpus tags them with
CLASSES: dict[str, str] = {
    "phrasing": "1. phrasings outside a keyword list fall to 'Não entendi' or the greeting",
    "carried": "2. what a message carries is thrown away",
    "hijack": "3. a keyword hijacks the flow mid-way",
    "name": "4. anything typed at the name prompt becomes the name",
    "yesno": "5. yes and no are a tiny list; corrections are lost",
    "loops": "6. loops: unclear answers, 'sair', outage help without a code",
    "language": "7. wrong language",
    "answers": "8. no answers: prices, plans, questions",
}

#: what must be true when a conversation ends
OUTCOMES: dict[str, str] = {
    "reserved": "a port reservation was made in OZmap (a client not yet implanted)",
    "prospect": "a prospect was recorded in OZmap",
    "cancelled": "the customer's own reservation was cancelled in OZmap",
    "handoff": "the conversation was put in the agents' queue",
    "offered_human": "a person was offered (or called), nothing was reserved",
    "outage": "the customer was told there is an outage where they are",
    "no_outage": "the customer was told there is no known outage there",
    "ended": "the bot said goodbye politely, nothing reserved or recorded",
    "erased": "the conversation's data were erased",
    "answered": "the question was answered, nothing reserved or recorded",
}

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
STORED_FIELDS = frozenset({"name", "unit", "plan", "address"})
GIVENS = frozenset({"reservation"})


@dataclass(frozen=True)
class Step:
    """One customer message and what the bot's replies to it must (not) say."""

    say: str | None = None
    tap: str | None = None
    pin: tuple[float, float] | None = None
    expect: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        if self.pin is not None:
            return f"📍 {self.pin[0]}, {self.pin[1]}"
        if self.tap is not None:
            return f"[taps {self.tap}]"
        return self.say or ""


@dataclass(frozen=True)
class Script:
    id: str
    title: str
    classes: tuple[str, ...]
    outcome: str
    turns: tuple[Step, ...]
    lang: str = "pt_BR"
    lang_from: int = 1
    stored: Mapping[str, str] = field(default_factory=dict)
    max_messages: int | None = None
    given: tuple[str, ...] = ()
    profile: str | None = None
    tolerate_unclear: bool = False
    source: str = ""

    @property
    def primary(self) -> str:
        return self.classes[0]


class CorpusError(ValueError):
    """A script that does not say what it means (unknown check, class, outcome, field)."""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CorpusError(f"{where}: expected a string or a list of strings, got {value!r}")


def _step(raw: Any, where: str) -> Step:
    if isinstance(raw, str):
        return Step(say=raw)
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: a turn is a string or a mapping, got {raw!r}")
    unknown = set(raw) - {"say", "tap", "pin", "expect", "reject", "has", "lacks"}
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)}")
    kinds = [k for k in ("say", "tap", "pin") if k in raw]
    if len(kinds) != 1:
        raise CorpusError(f"{where}: exactly one of say, tap, pin")
    expect = _strings(raw.get("expect"), where)
    reject = _strings(raw.get("reject"), where)
    for name in (*expect, *reject):
        if name not in CHECKS:
            raise CorpusError(f"{where}: unknown check {name!r}; known: {sorted(CHECKS)}")
    has = _strings(raw.get("has"), where)
    lacks = _strings(raw.get("lacks"), where)
    for pattern in (*has, *lacks):
        re.compile(pattern)
    pin = raw.get("pin")
    if pin is not None:
        if not (isinstance(pin, list) and len(pin) == 2):
            raise CorpusError(f"{where}: pin is [lat, lng]")
        pin = (float(pin[0]), float(pin[1]))
    say = raw.get("say")
    if say is not None and (isinstance(say, bool) or not isinstance(say, str | int)):
        # YAML reads a bare yes/no/on/off as a boolean: a customer's "yes" must be quoted
        raise CorpusError(f"{where}: quote the message {say!r}")
    tap = raw.get("tap")
    if tap is not None and not isinstance(tap, str):
        raise CorpusError(f"{where}: quote the button payload {tap!r}")
    return Step(
        say=None if say is None else str(say),
        tap=tap,
        pin=pin,
        expect=expect,
        reject=reject,
        has=has,
        lacks=lacks,
    )


def _script(raw: Any, source: str) -> Script:
    if not isinstance(raw, dict) or "id" not in raw:
        raise CorpusError(f"{source}: every entry needs an id, got {raw!r}")
    cid = str(raw["id"])
    where = f"{source}:{cid}"
    known = {
        "id", "title", "classes", "lang", "lang_from", "outcome", "stored", "max_messages", "given",
        "profile", "tolerate_unclear", "turns",
    }  # fmt: skip
    unknown = set(raw) - known
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)}")
    if not _ID.match(cid):
        raise CorpusError(f"{where}: ids are kebab-case")
    classes = _strings(raw.get("classes"), where)
    if not classes or any(c not in CLASSES for c in classes):
        raise CorpusError(f"{where}: classes must be among {sorted(CLASSES)}")
    outcome = raw.get("outcome")
    if outcome not in OUTCOMES:
        raise CorpusError(f"{where}: outcome must be one of {sorted(OUTCOMES)}")
    stored = raw.get("stored") or {}
    if not isinstance(stored, dict) or set(stored) - STORED_FIELDS:
        raise CorpusError(f"{where}: stored may hold {sorted(STORED_FIELDS)}")
    given = _strings(raw.get("given"), where)
    if set(given) - GIVENS:
        raise CorpusError(f"{where}: given may hold {sorted(GIVENS)}")
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise CorpusError(f"{where}: turns must be a non-empty list")
    lang = str(raw.get("lang", "pt_BR"))
    if lang not in ("pt_BR", "en", "es"):
        raise CorpusError(f"{where}: lang is pt_BR, en or es")
    return Script(
        id=cid,
        title=str(raw.get("title", "")),
        classes=classes,
        outcome=outcome,
        turns=tuple(_step(t, f"{where} turn {i + 1}") for i, t in enumerate(turns)),
        lang=lang,
        lang_from=int(raw.get("lang_from", 1)),
        stored={k: str(v) for k, v in stored.items()},
        max_messages=raw.get("max_messages"),
        given=given,
        profile=raw.get("profile"),
        tolerate_unclear=bool(raw.get("tolerate_unclear", False)),
        source=source,
    )


def load(directory: Path = HERE) -> list[Script]:
    """Every script of every ``*.yml`` in ``directory``, file by file, in order. Raises
    :class:`CorpusError` for a malformed one or a repeated id."""
    scripts: list[Script] = []
    for path in sorted(directory.glob("*.yml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(entries, list):
            raise CorpusError(f"{path.name}: a list of conversations")
        scripts.extend(_script(raw, path.name) for raw in entries)
    seen: set[str] = set()
    for script in scripts:
        if script.id in seen:
            raise CorpusError(f"{script.source}: the id {script.id!r} is used twice")
        seen.add(script.id)
    return scripts


def must_pass(scripts: Sequence[Script], path: Path = HERE / "must_pass.txt") -> list[Script]:
    """The scripts listed in ``must_pass.txt`` (one id a line, ``#`` comments): the ones the
    product already gets right, which the test suite keeps right. Raises :class:`CorpusError`
    for a listed id no script has."""
    wanted = [
        line.split("#", 1)[0].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    by_id = {s.id: s for s in scripts}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise CorpusError(f"must_pass.txt lists unknown conversations: {missing}")
    return [by_id[w] for w in wanted]
