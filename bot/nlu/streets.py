"""Known street names found in free text, typos forgiven: "tem fibra na delminda silvera 900?"
holds Rua Delminda Silveira even without "rua". The names come from the deployment (the offline
gazetteer's streets and their aliases, say); without any, only addresses that start with a street
type are found (:func:`bot.nlu.entities.addresses`).

A street is also found by the distinctive part of its name, as people say it ("moro na
delminda, numero 900", "la na bornhausen 2300", "en la benvenuta"), but only where the text
says a place: after "na", "no", "em", "en la", a street type, or before a house number. So
"meu nome é Lauro" and "o menino" stay no streets.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz

from bot.nlu.answers import FREQUENT_NAMES
from bot.nlu.base import Entity, EntityKind
from bot.nlu.entities import STREET_TYPES, overlaps
from bot.nlu.text import fold

__all__ = ["StreetIndex"]

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_TYPES = frozenset(fold(t) for t in STREET_TYPES) | {"r", "av"}
_AFTER = re.compile(r"^\s*,?\s*(?:n[º°o]?\.?\s*|numero\s*|número\s*)?(\d{1,6})\b", re.IGNORECASE)
#: how close a run of words must be to a known name (rapidfuzz ratio, 0-100)
CUTOFF = 86
# A long paste is not an address; only this many words are looked at.
_MAX_TOKENS = 60
#: what a street's name honours, no name people call it by alone ("na governador"), folded:
#: the gazetteer's expanded abbreviations and the like
_TITLES = frozenset(
    """governador deputado desembargador presidente doutor professor professora senador coronel
    general marechal almirante capitao tenente engenheiro padre santa santo senhora frei madre
    dom irma sao nossa prefeito vereador ministro bispo conselheiro comendador""".split()  # noqa: SIM905
)
#: a single word of a name, said alone, is that street only when this long (and no first name
#: nor title): "delminda", "bornhausen"; not "lauro", "norte", "beira"
_ALONE = 6
#: the words before a street that say a place: "moro na delminda", "fica no ...", "en la ..."
_PLACE_WORDS = frozenset({"na", "no", "em", "en", "pela", "pelo", "at", "on", "in"})


def _variants(name: str) -> list[list[str]]:
    """The word lists a name is written as: its words without the street type, and, when a
    hyphen joins two words, glued too ("Beira-Mar Norte": "beira mar norte", "beiramar norte")."""
    out = []
    for spelled in {name, re.sub(r"(?<=\w)-(?=\w)", "", name)}:
        words = fold(spelled).split()
        if words and words[0] in _TYPES:
            words = words[1:]
        if words and len(" ".join(words)) >= 4:
            out.append(words)
    return out


def _parts(words: list[str]) -> list[list[str]]:
    """The runs of a name's words (shorter than the name) people call the street by: two words
    or more with one of them no title ("irineu bornhausen", "beira mar"), or one long word that
    is no first name nor title ("delminda", "bornhausen")."""
    runs = []
    for size in range(1, len(words)):
        for i in range(len(words) - size + 1):
            run = words[i : i + size]
            if size == 1:
                word = run[0]
                if len(word) < _ALONE or word in _TITLES or word in FREQUENT_NAMES:
                    continue
            elif all(w in _TITLES or len(w) < 3 for w in run) or run[0] in _TITLES:
                continue
            runs.append(run)
    return runs


class StreetIndex:
    """The names of known streets, indexed by their length in words and the first two letters
    of their name (the street type left out: "Rua Delminda Silveira" is "delminda silveira"),
    and apart the parts of them a street is called by (:func:`_parts`)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._by_prefix: dict[tuple[int, str], set[str]] = defaultdict(set)
        self._parts: dict[tuple[int, str], set[str]] = defaultdict(set)
        for name in names:
            for words in _variants(name):
                self._by_prefix[(len(words), words[0][:2])].add(" ".join(words))
                for run in _parts(words):
                    self._parts[(len(run), run[0][:2])].add(" ".join(run))
        self._lengths = sorted({n for n, _ in self._by_prefix} | {n for n, _ in self._parts})

    def __bool__(self) -> bool:
        return bool(self._by_prefix)

    def find(self, text: str, taken: Sequence[tuple[int, int]] = ()) -> list[Entity]:
        """Spans of ``text`` that name a known street (with the street type before them and a
        house number after them, when there are), outside the ``taken`` spans, as written."""
        tokens = [(m.start(), m.end(), fold(m.group())) for m in _TOKEN.finditer(text)]
        tokens = tokens[:_MAX_TOKENS]
        found: list[Entity] = []
        for n in reversed(self._lengths):  # longer names first: "rui barbosa" before "rui"
            for i in range(len(tokens) - n + 1):
                window = tokens[i : i + n]
                start, end = window[0][0], window[-1][1]
                if overlaps(start, end, taken) or overlaps(
                    start, end, [(e.start, e.end) for e in found]
                ):
                    continue
                said = " ".join(t[2] for t in window)
                before = tokens[i - 1][2] if i > 0 else ""
                number = _AFTER.match(text[end:])
                key = (n, window[0][2][:2])
                if not _close(said, self._by_prefix.get(key, ())) and not (
                    (before in _PLACE_WORDS or before in _TYPES or number)
                    and _close(said, self._parts.get(key, ()))
                ):
                    continue
                if before in _TYPES:
                    start = tokens[i - 1][0]
                if number:
                    end += number.end()
                found.append(Entity(EntityKind.ADDRESS, text[start:end], start, end))
        return sorted(found, key=lambda e: e.start)


def _close(said: str, names: set[str] | tuple[()]) -> bool:
    return any(fuzz.ratio(said, name) >= CUTOFF for name in names)
