"""The offline geocoder: streets of the sandbox's area, read from a JSON street file.

The file (``bot/ozmap/sandbox/data/addresses.json`` by default) lists streets::

    {"streets": [{"name": "Rua Delminda Silveira", "aliases": ["R. Delminda Silveira"],
       "neighbourhood": "Agronômica", "city": "Florianópolis", "state": "SC",
       "ceps": [{"cep": "88025-500", "from": 1, "to": 2000}],
       "anchors": [[1, -48.5301, -27.5801], [900, -48.5274, -27.5782], [2000, -48.524, -27.576]]}]}

``anchors`` are ``[house_number, lng, lat]`` points along the street, in number order; a house
number is placed by linear interpolation between the anchors around it (clamped at the ends), so
a number that *is* an anchor lands exactly on it. Matching forgives what people type:
abbreviations ("R.", "Av.", "Gov."), no accents, any case, "nº"/"número", typos of a letter or
two, the neighbourhood, city or CEP present or not. The matching is pure
(:class:`Gazetteer`); the adapters only wrap it in the async ports.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, InvalidInput
from bot.geo.base import CepInfo, CepLookup, Geocoder, Place
from bot.resources import package_path
from bot.validation import (
    NO_NUMBER,
    fold,
    format_cep,
    parse_cep,
    parse_house_number,
    valid_coordinates,
)

__all__ = [
    "Gazetteer",
    "GazetteerGeocoder",
    "OfflineCepLookup",
    "Street",
    "default_street_file",
]

SOURCE = "gazetteer"

# What people abbreviate in Brazilian street names (folded forms).
ABBREVIATIONS = {
    "r": "rua",
    "av": "avenida",
    "ave": "avenida",
    "avda": "avenida",
    "tv": "travessa",
    "trav": "travessa",
    "al": "alameda",
    "rod": "rodovia",
    "est": "estrada",
    "estr": "estrada",
    "pca": "praca",
    "pc": "praca",
    "srv": "servidao",
    "serv": "servidao",
    "lgo": "largo",
    "gov": "governador",
    "dep": "deputado",
    "des": "desembargador",
    "pres": "presidente",
    "dr": "doutor",
    "prof": "professor",
    "profa": "professora",
    "sen": "senador",
    "cel": "coronel",
    "gen": "general",
    "gal": "general",
    "mal": "marechal",
    "alm": "almirante",
    "cap": "capitao",
    "ten": "tenente",
    "eng": "engenheiro",
    "pe": "padre",
    "sta": "santa",
    "sto": "santo",
    "sra": "senhora",
}
STREET_TYPES = frozenset(
    {"rua", "avenida", "travessa", "alameda", "rodovia", "estrada", "praca", "servidao", "largo"}
)
# What a street's name honours, not what people call it by: "Governador Irineu Bornhausen" is
# "a Bornhausen", "Madre Benvenuta" "a Benvenuta" (folded, expanded).
TITLES = frozenset(
    {"governador", "deputado", "desembargador", "presidente", "doutor", "professor",
     "professora", "senador", "coronel", "general", "marechal", "almirante", "capitao",
     "tenente", "engenheiro", "padre", "frei", "madre", "dom", "prefeito", "vereador"}
)  # fmt: skip
# Words that carry no street identity: articles, "número", "cep", house-number markers.
STOPWORDS = frozenset(
    {"de", "da", "do", "das", "dos", "e", "numero", "num", "nro", "no", "cep", "bairro", "em"}
)
_WORD = re.compile(r"[a-z0-9]+")


def default_street_file() -> Path:
    """The sandbox's street file, shipped as package data of ``bot.ozmap.sandbox``."""
    return package_path("bot.ozmap.sandbox", "data", "addresses.json")


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _spellings(street: Street) -> Iterable[str]:
    for name in (street.name, *street.aliases):
        yield name
        yield re.sub(r"(?<=\w)-(?=\w)", "", name)


def _expand(words: Iterable[str]) -> list[str]:
    return [ABBREVIATIONS.get(w, w) for w in words]


def _similar(a: str, b: str) -> bool:
    """Same word, or a typo of it: one or two letters off in a long enough word."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or a[0] != b[0]:
        return False
    return SequenceMatcher(None, a, b).ratio() >= 0.84


@dataclass(frozen=True)
class CepRange:
    cep: str  # 8 digits
    first: int
    last: int


@dataclass(frozen=True)
class Street:
    """One street of the file. ``anchors`` are ``(number, lng, lat)`` in number order."""

    name: str
    aliases: tuple[str, ...]
    neighbourhood: str
    city: str
    state: str
    ceps: tuple[CepRange, ...]
    anchors: tuple[tuple[int, float, float], ...]

    def point(self, number: float) -> tuple[float, float]:
        """(lat, lng) of a house number by interpolation between anchors, clamped at the ends."""
        anchors = self.anchors
        if number <= anchors[0][0]:
            return anchors[0][2], anchors[0][1]
        for (n0, lng0, lat0), (n1, lng1, lat1) in itertools.pairwise(anchors):
            if number == n1:
                return lat1, lng1  # exact anchor: no floating-point drift
            if n0 <= number < n1:
                f = (number - n0) / (n1 - n0)
                return lat0 + f * (lat1 - lat0), lng0 + f * (lng1 - lng0)
        return anchors[-1][2], anchors[-1][1]

    @property
    def first_number(self) -> int:
        return self.anchors[0][0]

    @property
    def last_number(self) -> int:
        return self.anchors[-1][0]

    def cep_for(self, number: int | None) -> str:
        """The CEP of a number (the street's only CEP when there is no number); "" if unknown."""
        if number is None:
            return self.ceps[0].cep if len(self.ceps) == 1 else ""
        for cep in self.ceps:
            if cep.first <= number <= cep.last:
                return cep.cep
        return ""

    def cep_range(self, cep: str) -> CepRange | None:
        return next((c for c in self.ceps if c.cep == cep), None)


def _street(raw: dict[str, Any], where: str) -> Street:
    try:
        anchors = tuple((int(n), float(lng), float(lat)) for n, lng, lat in raw["anchors"])
        ceps = []
        for c in raw.get("ceps", []):
            digits = parse_cep(str(c["cep"]))
            if digits is None:
                raise ValueError(f"CEP {c['cep']!r} is not 8 digits")
            ceps.append(CepRange(digits, int(c["from"]), int(c["to"])))
        street = Street(
            name=str(raw["name"]),
            aliases=tuple(str(a) for a in raw.get("aliases", [])),
            neighbourhood=str(raw.get("neighbourhood", "")),
            city=str(raw.get("city", "")),
            state=str(raw.get("state", "")),
            ceps=tuple(ceps),
            anchors=anchors,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc!r}; each street needs name and anchors") from exc
    if not anchors:
        raise ConfigError(f"{where} ({street.name}): needs at least one anchor")
    numbers = [a[0] for a in anchors]
    if numbers != sorted(set(numbers)):
        raise ConfigError(f"{where} ({street.name}): anchors must be in increasing number order")
    if not all(valid_coordinates(lat, lng) for _, lng, lat in anchors):
        raise ConfigError(f"{where} ({street.name}): an anchor is not [number, lng, lat]")
    return street


@dataclass(frozen=True)
class _Candidate:
    street: Street
    score: float


class Gazetteer:
    """The streets of one file, and the pure matching over them."""

    def __init__(self, streets: Sequence[Street]) -> None:
        self.streets = tuple(streets)
        # per street: the expanded, stopword-free word lists of its name and aliases, those
        # with a hyphen also glued ("Beira-Mar Norte" is typed "beira mar" and "beiramar")
        self._names = [
            [
                [w for w in _expand(_words(n)) if w not in STOPWORDS]
                for n in dict.fromkeys(_spellings(s))
            ]
            for s in self.streets
        ]
        self._places = [
            {w for w in _words(f"{s.neighbourhood} {s.city} {s.state}") if w not in STOPWORDS}
            for s in self.streets
        ]

    def street_names(self) -> list[str]:
        """Every street's name and aliases, as the file spells them: what the understander
        finds in free text (:class:`bot.nlu.streets.StreetIndex`)."""
        return [n for s in self.streets for n in (s.name, *s.aliases)]

    @classmethod
    def from_file(cls, path: Path | None = None) -> Gazetteer:
        """Read a street file. Raises :class:`ConfigError` naming the file when it is missing or
        not of the documented shape."""
        path = path or default_street_file()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            raw_streets = data["streets"]
        except FileNotFoundError:
            raise ConfigError(
                f"street file {path} is missing: GEOCODER=gazetteer needs it (it ships with "
                "the sandbox data)"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"street file {path} is not {{'streets': [...]}}: {exc}") from exc
        return cls([_street(raw, f"{path} street #{i}") for i, raw in enumerate(raw_streets)])

    # -- geocoding ---------------------------------------------------------------------------
    def geocode(self, query: str, limit: int = 3) -> list[Place]:
        """Up to ``limit`` places for ``query``, best first; [] when no street matches."""
        cep = parse_cep(query)
        number_text = parse_house_number(query)
        number = int(re.sub(r"\D", "", number_text) or 0) if number_text else None
        if number_text == NO_NUMBER or number == 0:
            number = None
        words = self._query_words(query)
        places = []
        for candidate in self._rank(words, cep)[:limit]:
            n, n_text = number, number_text
            if n is None and number_text != NO_NUMBER:
                # "esteves junior 200 centro": a number the street's name does not explain
                n = self._loose_number(candidate.street, words)
                n_text = str(n) if n is not None else None
            places.append(self._place(candidate.street, n, n_text, cep))
        return places

    def _loose_number(self, street: Street, words: list[str]) -> int | None:
        index = self.streets.index(street)
        named = {w for name in self._names[index] for w in name}
        for w in words:
            if w.isdigit() and w not in named and 0 < int(w) < 100_000:
                return int(w)
        return None

    def _query_words(self, query: str) -> list[str]:
        # the CEP and the house number are not part of the street name
        text = query
        cep_match = re.search(r"\d{2}\.?\d{3}[-\s]?\d{3}", text)
        if cep_match and parse_cep(cep_match.group()):
            text = text.replace(cep_match.group(), " ")
        words = [w for w in _expand(_words(text)) if w not in STOPWORDS]
        number = parse_house_number(text)
        if number and number != NO_NUMBER:
            digits = re.sub(r"\D", "", number)
            # drop the number itself and a letter suffix glued to it ("900b")
            words = [w for w in words if w not in {digits, digits + number[len(digits) :].lower()}]
        return [w for w in words if w not in {"s", "n", "sn", "nº"}]

    def _rank(self, words: list[str], cep: str | None) -> list[_Candidate]:
        query_types = {w for w in words if w in STREET_TYPES}
        content = [w for w in words if w not in STREET_TYPES]
        found: list[_Candidate] = []
        for street, names, places in zip(self.streets, self._names, self._places, strict=True):
            has_cep = cep is not None and street.cep_range(cep) is not None
            best = max(self._name_score(name, content, query_types, places) for name in names)
            if best <= 0 and not (has_cep and not content):
                continue
            score = max(best, 0.0)
            if cep is not None:
                score += 0.6 if has_cep else -0.3
            if score > 0:
                found.append(_Candidate(street, score))
        found.sort(key=lambda c: (-c.score, c.street.name))
        return found

    @staticmethod
    def _name_score(
        name: list[str], content: list[str], query_types: set[str], places: set[str]
    ) -> float:
        words = [w for w in name if w not in STREET_TYPES]
        # a street is named by its distinctive words, its titles aside ("a Bornhausen"): all of
        # them, or most of a long name
        core = [w for w in words if w not in TITLES] or words
        if not core or not content:
            return 0.0
        matched = [w for w in core if any(_similar(w, q) for q in content)]
        if not matched or len(matched) / len(core) < 0.5:
            return 0.0
        if all(len(w) <= 2 for w in matched):
            return 0.0
        score = len(matched) / len(core)
        explained = [
            q for q in content if any(_similar(w, q) for w in words) or q in places or q.isdigit()
        ]
        if len(matched) < len(core) and len(explained) < len(content):
            # part of the name plus words it does not explain is another street
            # ("Silveira Martins" is not "Delminda Silveira")
            return 0.0
        score += 0.3 * len(explained) / len(content)  # few unexplained words: a better match
        types = {w for w in name if w in STREET_TYPES}
        if query_types:
            score += 0.1 if query_types & types else -0.2
        if places & set(content):
            score += 0.1  # the neighbourhood or city agrees
        return score

    @staticmethod
    def _place(
        street: Street, number: int | None, number_text: str | None, cep: str | None
    ) -> Place:
        cep_range = street.cep_range(cep) if cep else None
        if number is not None:
            lat, lng = street.point(number)
            inside = street.first_number <= number <= street.last_number
            precision = "number" if inside else "approximate"
            shown_number = number_text or str(number)
            place_cep = street.cep_for(number) or (cep_range.cep if cep_range else "")
        else:
            low, high = (
                (cep_range.first, cep_range.last)
                if cep_range
                else (street.first_number, street.last_number)
            )
            lat, lng = street.point((low + high) / 2)
            precision = "street"
            shown_number = NO_NUMBER if number_text == NO_NUMBER else ""
            place_cep = cep_range.cep if cep_range else street.cep_for(None)
        return Place(
            lat=lat,
            lng=lng,
            address=_format_address(street, shown_number, place_cep),
            street=street.name,
            number=shown_number,
            neighbourhood=street.neighbourhood,
            city=street.city,
            state=street.state,
            cep=place_cep,
            source=SOURCE,
            precision=precision,
        )

    # -- reverse -----------------------------------------------------------------------------
    def reverse(self, lat: float, lng: float, max_distance_m: float) -> Place | None:
        """The nearest point on any street (and its house number, interpolated), or None when
        every street is farther than ``max_distance_m``."""
        best: tuple[float, Street, float, float, float] | None = None
        for street in self.streets:
            for number, plat, plng in _nearest_on_street(street, lat, lng):
                d = _distance_m(lat, lng, plat, plng)
                if best is None or d < best[0]:
                    best = (d, street, number, plat, plng)
        if best is None or best[0] > max_distance_m:
            return None
        _, street, number, plat, plng = best
        house = max(1, round(number))
        cep = street.cep_for(house)
        return Place(
            lat=plat,
            lng=plng,
            address=_format_address(street, str(house), cep),
            street=street.name,
            number=str(house),
            neighbourhood=street.neighbourhood,
            city=street.city,
            state=street.state,
            cep=cep,
            source=SOURCE,
            precision="number",
        )

    # -- CEP ---------------------------------------------------------------------------------
    def cep(self, cep: str) -> CepInfo | None:
        for street in self.streets:
            if street.cep_range(cep) is not None:
                return CepInfo(cep, street.name, street.neighbourhood, street.city, street.state)
        return None


def _format_address(street: Street, number: str, cep: str) -> str:
    """ "Rua Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"."""
    line = f"{street.name}, {number}" if number else street.name
    line += f" - {street.neighbourhood}" if street.neighbourhood else ""
    if street.city:
        line += f", {street.city}" + (f" - {street.state}" if street.state else "")
    return line + (f", {format_cep(cep)}" if cep else "")


def _distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    # equirectangular: exact enough at street scale, and cheap
    k = math.cos(math.radians((lat1 + lat2) / 2))
    dx = math.radians(lng2 - lng1) * k
    dy = math.radians(lat2 - lat1)
    return 6_371_000.0 * math.hypot(dx, dy)


def _nearest_on_street(
    street: Street, lat: float, lng: float
) -> Iterable[tuple[float, float, float]]:
    """Per segment, the (number, lat, lng) of the point nearest to (lat, lng)."""
    anchors = street.anchors
    if len(anchors) == 1:
        n, alng, alat = anchors[0]
        yield float(n), alat, alng
        return
    k = math.cos(math.radians(lat))
    for (n0, lng0, lat0), (n1, lng1, lat1) in itertools.pairwise(anchors):
        dx, dy = (lng1 - lng0) * k, lat1 - lat0
        length2 = dx * dx + dy * dy
        f = 0.0 if length2 == 0 else ((lng - lng0) * k * dx + (lat - lat0) * dy) / length2
        f = min(1.0, max(0.0, f))
        yield n0 + f * (n1 - n0), lat0 + f * (lat1 - lat0), lng0 + f * (lng1 - lng0)


class GazetteerGeocoder(Geocoder):
    """:class:`Geocoder` over a street file. Never raises :class:`GeocoderUnavailable`: it has
    no provider to lose. ``reverse`` answers None farther than ``max_reverse_m`` from any
    street (the file covers one area, not the country)."""

    def __init__(self, gazetteer: Gazetteer, *, max_reverse_m: float = 1000.0) -> None:
        self.gazetteer = gazetteer
        self.max_reverse_m = max_reverse_m

    @classmethod
    def from_file(cls, path: Path | None = None) -> GazetteerGeocoder:
        return cls(Gazetteer.from_file(path))

    async def geocode(self, query: str, *, limit: int = 3) -> list[Place]:
        return self.gazetteer.geocode(query, limit)

    async def reverse(self, lat: float, lng: float) -> Place | None:
        if not valid_coordinates(lat, lng):
            raise InvalidInput(f"({lat}, {lng}) is not a point: latitude ±90, longitude ±180")
        return self.gazetteer.reverse(lat, lng, self.max_reverse_m)


class OfflineCepLookup(CepLookup):
    """:class:`CepLookup` over a street file: the CEPs its streets list."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    @classmethod
    def from_file(cls, path: Path | None = None) -> OfflineCepLookup:
        return cls(Gazetteer.from_file(path))

    async def lookup(self, cep: str) -> CepInfo | None:
        digits = parse_cep(cep)
        if digits is None or len(re.sub(r"\D", "", cep)) != 8:
            raise InvalidInput(f"{cep!r} is not a CEP: a CEP has 8 digits, like 88025-500")
        return self.gazetteer.cep(digits)
