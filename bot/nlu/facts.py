"""All the rule-found entities of a message, and the message with its data masked.

:func:`find` runs the rules of :mod:`bot.nlu.entities` and :mod:`bot.nlu.answers` in an order
that keeps them from claiming each other's text (a CPF is no CEP, a CEP no code, an apartment
number no house number), reading what the state ``expects``. A name given without saying so
("Maria Souza" at the name prompt) is left to the understander: whether it is a name depends on
what else the message could mean.

:func:`mask` puts a placeholder word for each datum ("tem fibra na rua delminda silveira 900?" →
"tem fibra na xaddressx?"), so the classifiers learn from the words around the data, not from
street names or people's names: an unseen street is as good as a seen one. Training masks its
examples the same way.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from bot.nlu import entities as rules
from bot.nlu.answers import (
    looks_like_full_name,
    looks_like_name,
    named,
    option,
    proper_case,
    yes_no,
)
from bot.nlu.base import Entity, EntityKind, Expect, Option
from bot.nlu.streets import StreetIndex

__all__ = ["MASKED", "between", "find", "mask"]

K = EntityKind

#: the kinds whose text is masked for the classifiers (yes/no, options and plans are words of
#: the request itself)
MASKED = frozenset({K.CEP, K.CPF, K.CNPJ, K.CODE, K.UNIT, K.ADDRESS, K.HOUSE_NUMBER, K.PERSON_NAME})
# Free numbers are house numbers where nothing else would claim them.
_NUMBER_STATES = {Expect.NOTHING, Expect.ADDRESS, Expect.NUMBER, Expect.YES_NO}
_TRAILING_NUMBER = re.compile(r"(\d{1,3}\.\d{3}|\d{1,6})\s*-?\s*([a-z])?$", re.IGNORECASE)
#: what may stand between a datum and a name beside it: "apto 12, maria souza"
_AROUND = " \t\n,;:-.!/|–—"
#: the little words around a plan named by its speed ("o de 1000", "plano 500", "el de 300"):
#: no part of a name beside it
_PLAN_WORDS = frozenset(
    {"o", "a", "de", "do", "da", "el", "la", "del", "the", "plano", "plan", "pacote", "one"}
)
_FULL_NAME = 2  # words
_CLAUSE = re.compile(r"[^,;.!?]+")
#: where a name is asked (the plans just listed), a bare speed before or after the words of a
#: name is the plan chosen with it: "300 joao silva", "maria souza, 500"
_SPEED_BESIDE = (
    re.compile(r"^\s*(\d{2,4})(?=[\s,;:\-/|–—]+[^\W\d_])"),
    re.compile(r"(?<=[^\W\d_])[\s,;:\-/|–—]+(\d{2,4})\s*[.!]*\s*$"),
)


def find(
    text: str,
    *,
    expects: Expect = Expect.NOTHING,
    options: Sequence[Option] = (),
    streets: StreetIndex | None = None,
    common: Collection[str] = (),
) -> list[Entity]:
    """The entities of ``text`` (cleaned: see :func:`bot.nlu.text.clean`), in text order."""
    found: list[Entity] = []

    def spans() -> list[tuple[int, int]]:
        return [(e.start, e.end) for e in found]

    def free(entities: Sequence[Entity]) -> list[Entity]:
        return [e for e in entities if not rules.overlaps(e.start, e.end, spans())]

    found += rules.cpfs(text) + rules.cnpjs(text)
    found += free(rules.ceps(text))
    if expects is Expect.NAME:
        # before the codes: "1000-Ana Lima" is the plan and the name, no code "1000-Ana"
        found += free(_speeds_beside_a_name(text, common))
    found += rules.codes(text, expected=expects is Expect.CODE, taken=spans(), common=common)
    found += free(rules.plans(text))
    chosen = None
    if expects in (Expect.OPTION, Expect.YES_NO):
        chosen = option(text, options, whole=expects is Expect.YES_NO)
    if chosen is None and expects is Expect.OPTION:
        chosen = _option_by_plan(found, options)
    if chosen is not None:
        found.append(chosen)
    answer = yes_no(text, asked=expects is Expect.YES_NO)
    if answer is not None and (chosen is None or expects is Expect.YES_NO):
        found.append(answer)
    found += free(rules.units(text, expected=expects is Expect.UNIT))
    addresses = rules.addresses(text)
    if streets:
        addresses += streets.find(text, [(e.start, e.end) for e in addresses] + spans())
    found += free(addresses)
    found += free(rules.units_after(text, found))  # "1200/302", "950 fundos"
    found += _house_numbers(text, expects, found, chosen is not None)
    introduced = named(text, common)
    if introduced is None and expects is Expect.UNIT and any(e.kind is K.UNIT for e in found):
        introduced = _name_beside(text, found, common)  # "apto 12, maria souza"
    if introduced is None and expects is Expect.NAME:
        introduced = _name_clause(text, common)  # "jorge amado, tem taxa de instalacao?"
        plans = [e for e in found if e.kind is K.PLAN]
        if introduced is None and plans:
            # "500 mega otavio mesquita": the name beside the plan, however the classifier
            # reads the whole (a price question, for the plan in it)
            introduced = _name_beside(text, plans, common)
    if introduced is not None and not rules.overlaps(introduced.start, introduced.end, spans()):
        found.append(introduced)
    # "sim pode reservar, talvez eu mude pro de 500 depois": that 500 is a plan (no house
    # number), but none chosen now
    later = rules.put_off(text)
    found = [e for e in found if e.kind is not K.PLAN or not rules.overlaps(e.start, e.end, later)]
    return sorted(found, key=lambda e: (e.start, e.end))


def _speeds_beside_a_name(text: str, common: Collection[str]) -> list[Entity]:
    """The speed at one end of a message whose other words read as a name (what is left of
    "na verdade é 1500" is no name: there the number is no plan)."""
    for pattern in _SPEED_BESIDE:
        m = pattern.search(text)
        if m is None:
            continue
        rest = (text[: m.start()] + " " + text[m.end() :]).strip(_AROUND)
        if looks_like_name(rest, common):
            return [Entity(K.PLAN, str(int(m.group(1))), m.start(1), m.end(1))]
    return []


def between(text: str, found: Sequence[Entity]) -> list[tuple[int, int]]:
    """The spans of ``text`` before, between and after the entities ``found`` (empty ones
    included): what is left of a message once its data is taken out."""
    pieces: list[tuple[int, int]] = []
    at = 0
    for e in sorted(found, key=lambda e: e.start):
        pieces.append((at, e.start))
        at = max(at, e.end)
    pieces.append((at, len(text)))
    return pieces


def _name_beside(text: str, found: Sequence[Entity], common: Collection[str]) -> Entity | None:
    """The one piece of ``text`` beside its data that reads as a full name (a first name and a
    surname: one word beside a unit is as likely a block's name, "bloco b, torre sul")."""
    kept = []
    for start, end in between(text, found):
        piece = text[start:end]
        body = piece.strip(_AROUND)
        if body and not all(w.casefold() in _PLAN_WORDS for w in body.split()):
            kept.append((start + piece.index(body), body))
    if len(kept) != 1:
        return None
    start, body = kept[0]
    if len(body.split()) < _FULL_NAME or rules.looks_like_unit(body):
        return None
    if not looks_like_name(body, common):
        return None  # "bloco b torre sul": the rest of the unit, no name
    return Entity(K.PERSON_NAME, proper_case(body), start, start + len(body))


def _name_clause(text: str, common: Collection[str]) -> Entity | None:
    """Where a name is asked, a full name as the first or the last clause of a message that
    says more ("jorge amado, tem taxa de instalacao?", "tem fidelidade? lia costa"): the name
    asked for, whatever the rest asks or says."""
    clauses = [m for m in _CLAUSE.finditer(text) if m.group().strip()]
    if len(clauses) < _FULL_NAME:
        return None
    for clause in (clauses[0], clauses[-1]):
        body = clause.group().strip()
        words = body.split()
        if text[clause.end() : clause.end() + 1] == "?" or "'" in body or "’" in body:
            continue  # "It's John Smith? or do you need ...": asked, and no name's word
        if len(words) >= _FULL_NAME and looks_like_full_name(body, common):
            start = clause.start() + clause.group().index(body)
            return Entity(K.PERSON_NAME, proper_case(body), start, start + len(body))
    return None


def _option_by_plan(found: Sequence[Entity], options: Sequence[Option]) -> Entity | None:
    """The one option whose label names the speed the message names ("the 300 one" where "300
    Mega" and "500 Mega" were offered)."""
    speeds = {e.value: e for e in found if e.kind is K.PLAN}
    if len(speeds) != 1:
        return None
    ((speed, entity),) = speeds.items()
    matching = [
        o
        for o in options
        if any(p.value == speed for p in rules.plans(o.label))
        or re.fullmatch(r"\D*" + speed + r"\D*", o.label)
    ]
    if len(matching) != 1:
        return None
    return Entity(K.OPTION, matching[0].payload, entity.start, entity.end)


def _house_numbers(text: str, expects: Expect, found: list[Entity], chose: bool) -> list[Entity]:
    taken = [(e.start, e.end) for e in found if e.kind is not K.ADDRESS]
    numbers = rules.house_numbers(text, taken=taken)
    if numbers:
        return numbers
    for address in (e for e in found if e.kind is K.ADDRESS):
        last = _TRAILING_NUMBER.search(address.value)
        if last:
            start = address.start + last.start()
            value = str(int(last.group(1).replace(".", ""))) + (last.group(2) or "").upper()
            return [Entity(K.HOUSE_NUMBER, value, start, address.end)]
    if expects not in _NUMBER_STATES or chose:
        return []
    return rules.free_numbers(text, taken=taken)[:1]


def mask(text: str, found: Sequence[Entity]) -> str:
    """``text`` with each masked entity's span (the outermost, where they nest) replaced by a
    placeholder word: ``" xcepx "``, ``" xaddressx "``..."""
    pieces: list[str] = []
    at = 0
    for e in sorted((e for e in found if e.kind in MASKED), key=lambda e: (e.start, -e.end)):
        if e.start < at:
            continue  # inside the one already masked ("900" in "rua x 900")
        pieces += [text[at : e.start], f" x{e.kind.value.replace('_', '')}x "]
        at = e.end
    pieces.append(text[at:])
    return "".join(pieces)
