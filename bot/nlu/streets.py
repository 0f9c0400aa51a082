"""Known street names found in free text, typos forgiven: "tem fibra na delminda silvera 900?"
holds Rua Delminda Silveira even without "rua". The names come from the deployment (the offline
gazetteer's streets, say); without any, only addresses that start with a street type are found
(:func:`bot.nlu.entities.addresses`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz

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


class StreetIndex:
    """The names of known streets, indexed by the first two letters of their name (the street
    type left out: "Rua Delminda Silveira" is "delminda silveira")."""

    def __init__(self, names: Sequence[str]) -> None:
        self._by_prefix: dict[tuple[int, str], list[str]] = defaultdict(list)
        for name in names:
            words = fold(name).split()
            if words and words[0] in _TYPES:
                words = words[1:]
            if words and len(" ".join(words)) >= 4:
                self._by_prefix[(len(words), words[0][:2])].append(" ".join(words))
        self._lengths = sorted({n for n, _ in self._by_prefix})

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
                candidates = self._by_prefix.get((n, window[0][2][:2]))
                if not candidates:
                    continue
                said = " ".join(t[2] for t in window)
                if not any(fuzz.ratio(said, c) >= CUTOFF for c in candidates):
                    continue
                if i > 0 and tokens[i - 1][2] in _TYPES:
                    start = tokens[i - 1][0]
                number = _AFTER.match(text[end:])
                if number:
                    end += number.end()
                found.append(Entity(EntityKind.ADDRESS, text[start:end], start, end))
        return sorted(found, key=lambda e: e.start)
