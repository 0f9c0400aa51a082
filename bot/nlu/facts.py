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
from bot.nlu.answers import named, option, yes_no
from bot.nlu.base import Entity, EntityKind, Expect, Option
from bot.nlu.streets import StreetIndex

__all__ = ["MASKED", "find", "mask"]

K = EntityKind

#: the kinds whose text is masked for the classifiers (yes/no, options and plans are words of
#: the request itself)
MASKED = frozenset({K.CEP, K.CPF, K.CNPJ, K.CODE, K.UNIT, K.ADDRESS, K.HOUSE_NUMBER, K.PERSON_NAME})
# Free numbers are house numbers where nothing else would claim them.
_NUMBER_STATES = {Expect.NOTHING, Expect.ADDRESS, Expect.NUMBER, Expect.YES_NO}
_TRAILING_NUMBER = re.compile(r"(\d{1,3}\.\d{3}|\d{1,6})\s*-?\s*([a-z])?$", re.IGNORECASE)


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
    if introduced is not None and not rules.overlaps(introduced.start, introduced.end, spans()):
        found.append(introduced)
    return sorted(found, key=lambda e: (e.start, e.end))


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
