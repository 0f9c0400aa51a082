"""Reading a feasibility answer whatever its shape (pure functions).

OZmap documents only ``viable`` in the answer of ``GET /ftth-viability/radius``; its prose says
the answer lists the boxes with viability and those in the radius without it (with a reason),
but not under which names (docs/ozmap-api.md section 2.3). So nothing here keys on one guess:

* every list of box-like entries is looked at, at the top level or one object down
  (``{"data": {...}}``); a list whose name says "not viable" (``not_viable_boxes``,
  ``notViableBoxes``, ``inviaveis``, ``boxesWithoutViability``, ``unavailable``...) holds the
  refused boxes; one whose name says "viable" or "available" (``viable_boxes``, ``caixasViaveis``)
  is preferred over a generic one (``boxes``, ``caixas``, ``results``), which may list every box
  found;
* an entry is a box when it carries an id (``id``, ``_id``, ``boxId``, ``box``: an id or the box
  itself), or is itself a 24-hex id; an entry saying ``viable: false`` or giving a ``reason``
  without ``viable: true`` is a refused box;
* what an entry lacks stays unknown rather than becoming zero: no port count means "maybe", and
  only an explicit zero (``availableDoors: 0``, an empty ``availablePorts``) means full;
* distances are read from ``distance``/``distancia``/``dist``... or computed from coordinates
  (``coords`` ``[lng, lat]``, ``lat``/``lng``, ``latitude``/``longitude``, a GeoJSON point);
  boxes with a distance come first, nearest first, the others after in the answer's order.

:func:`read_viability` returns a :class:`Viability`: ``viable`` (None when the answer does not
say), the candidate boxes and the refused ones.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Candidate", "Viability", "read_viability"]

_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# "no" and "in" are not negative on their own: "caixas_no_raio", "boxes_in_radius"
_NEGATIVE = frozenset({"not", "non", "nao", "sem", "without"})
_NEGATIVE_STARTS = (
    "reject", "refus", "recus", "exclu", "fail", "inviab", "inviav", "unviab", "unavail",
    "indispon", "nonviab", "notviab",
)  # fmt: skip
_POSITIVE_WORDS = ("viab", "viav", "avail", "dispon", "free", "livre", "atend", "serv")
_LIST_WRAPPERS = ("data", "result", "results", "response", "viability", "viabilidade")
_ID_KEYS = ("id", "_id", "boxId", "box_id", "idBox", "id_caixa", "caixa_id")
_NAME_KEYS = ("name", "nome", "label", "boxName", "box_name")
_DISTANCE_KEYS = ("distance", "distancia", "distância", "dist", "distance_m", "distanceInMeters")
_COUNT_KEYS = (
    "availableDoors",
    "available_doors",
    "availablePorts",
    "available_ports",
    "freePorts",
    "free_ports",
    "freeDoors",
    "portasLivres",
    "portas_livres",
    "portasDisponiveis",
    "portas_disponiveis",
    "available",
    "disponiveis",
    "free",
    "livres",
)
_SPLITTER_KEYS = ("splitters", "connectors", "conectores")
_VIABLE_KEYS = ("viable", "viability", "isViable", "is_viable", "viavel", "viável")
EARTH_RADIUS_M = 6_371_008.8


@dataclass
class Candidate:
    """A box from the answer. ``free`` is the number of free ports when the answer says (None:
    it does not); ``ports`` the (splitter id, 1-based port) pairs it names; ``reason`` why a
    refused box is refused."""

    id: str
    name: str = ""
    distance: float | None = None
    lat: float | None = None
    lng: float | None = None
    free: int | None = None
    ports: list[tuple[str, int]] = field(default_factory=list)
    reason: str | None = None

    @property
    def may_serve(self) -> bool:
        """Worth a reservation attempt: not known to be full."""
        return self.free is None or self.free > 0


@dataclass
class Viability:
    """``viable``: OZmap's word (None when the answer has none); ``boxes``: candidates in the
    order to try them; ``refused``: boxes the answer lists as not viable (or full)."""

    viable: bool | None
    boxes: list[Candidate]
    refused: list[Candidate]

    @property
    def says_no(self) -> bool:
        return self.viable is False


def _tokens(key: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", _CAMEL.sub("_", key))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return [t for t in re.split(r"[^a-z0-9]+", bare) if t]


# A list's name is read for every answer, and an OZmap answers with the same few names: what a
# name says is kept (bounded: a server inventing names costs a recomputation, not memory).
@functools.lru_cache(maxsize=512)
def _is_negative(key: str) -> bool:
    tokens = _tokens(key)
    return any(t in _NEGATIVE or t.startswith(_NEGATIVE_STARTS) for t in tokens)


@functools.lru_cache(maxsize=512)
def _is_positive(key: str) -> bool:
    joined = "".join(_tokens(key))
    return not _is_negative(key) and any(w in joined for w in _POSITIVE_WORDS)


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is float or kind is int:  # JSON's numbers, before the general checks below
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = float(value.replace(",", "."))
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "sim", "nao", "não"}:
        return value.strip().lower() in {"true", "sim"}
    return None


def _first(entry: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        if key in entry and entry[key] is not None:
            return entry[key]
    return None


def _point(entry: Mapping[str, Any]) -> tuple[float, float] | None:
    """``(lat, lng)`` from any of the usual forms, or None."""
    for key in ("coords", "coordinates", "location", "position", "geometry", "point"):
        value = entry.get(key)
        if value is None:
            continue  # the usual case but for one key: skip the checks of the abstract types
        if type(value) is list and len(value) == 2:  # JSON's [lng, lat]
            lng, lat = _number(value[0]), _number(value[1])
            if lat is not None and lng is not None:
                return lat, lng
            continue
        if isinstance(value, Mapping):
            if "coordinates" in value:
                value = value["coordinates"]
            else:
                found = _point(value)
                if found is not None:
                    return found
                continue
        if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            lng, lat = _number(value[0]), _number(value[1])
            if lat is not None and lng is not None:
                return lat, lng
    for lat_key, lng_key in (("lat", "lng"), ("lat", "lon"), ("latitude", "longitude")):
        lat, lng = _number(entry.get(lat_key)), _number(entry.get(lng_key))
        if lat is not None and lng is not None:
            return lat, lng
    return None


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _ports(splitter: Mapping[str, Any], sid: str) -> tuple[int | None, list[tuple[str, int]]]:
    """A splitter entry's free-port count and the ports it names."""
    value = _first(splitter, _COUNT_KEYS)
    if isinstance(value, bool):
        return (None if value else 0), []  # "available": true says "some", false "none"
    if isinstance(value, list):
        named: list[tuple[str, int]] = []
        for port in value:
            if isinstance(port, Mapping):
                port = _first(port, ("port", "number", "index"))
            number = _number(port)
            if number is not None and number == int(number):
                named.append((sid, int(number)))
        return len(value), named
    count = _number(value)
    return (int(count) if count is not None else None), []


def _entry(raw: Any) -> tuple[Candidate, bool | None] | None:
    """A candidate and its own word on viability (None: silent); None if it is no box."""
    if isinstance(raw, str):
        return (Candidate(raw), None) if _OBJECT_ID.fullmatch(raw) else None
    if not isinstance(raw, Mapping):
        return None
    entry: dict[str, Any] = dict(raw)
    nested = entry.get("box") or entry.get("caixa")
    if isinstance(nested, Mapping):
        entry = {**nested, **{k: v for k, v in entry.items() if k not in ("box", "caixa")}}
        entry.setdefault("id", nested.get("id") or nested.get("_id"))
    elif isinstance(nested, str) and not _first(entry, _ID_KEYS):
        entry["id"] = nested
    box_id = _first(entry, _ID_KEYS)
    if not isinstance(box_id, str | int) or isinstance(box_id, bool) or not str(box_id).strip():
        return None
    name = _first(entry, _NAME_KEYS)
    point = _point(entry)
    candidate = Candidate(
        id=str(box_id),
        name=str(name) if isinstance(name, str | int) else "",
        distance=_number(_first(entry, _DISTANCE_KEYS)),
        lat=point[0] if point else None,
        lng=point[1] if point else None,
    )
    splitters = _first(entry, _SPLITTER_KEYS)
    if isinstance(splitters, list) and splitters:
        counts: list[int | None] = []
        for splitter in splitters:
            if not isinstance(splitter, Mapping):
                continue
            sid = _first(splitter, _ID_KEYS)
            count, named = _ports(splitter, str(sid) if sid is not None else "")
            counts.append(count)
            candidate.ports.extend(named)
        if counts and all(c is not None for c in counts):
            candidate.free = sum(c for c in counts if c is not None)
    own_count, named = _ports(entry, "")
    if own_count is not None:
        candidate.free = own_count  # the box's own figure wins over the splitters' sum
    if not candidate.ports:
        candidate.ports = [p for p in named if p[0]]
    reason = _first(entry, ("reason", "motivo", "cause", "error"))
    candidate.reason = str(reason) if isinstance(reason, str | int) else None
    verdict = _truth(_first(entry, _VIABLE_KEYS))
    if verdict is None and candidate.reason is not None:
        verdict = False
    return candidate, verdict


def _lists(payload: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    out = [(key, value) for key, value in payload.items() if isinstance(value, list)]
    for key in _LIST_WRAPPERS:
        inner = payload.get(key)
        if isinstance(inner, Mapping):
            out.extend((f"{key}.{k}", v) for k, v in inner.items() if isinstance(v, list))
    return out


def _verdict(payload: Mapping[str, Any]) -> bool | None:
    verdict = _truth(_first(payload, _VIABLE_KEYS))
    if verdict is None:
        for key in _LIST_WRAPPERS:
            inner = payload.get(key)
            if isinstance(inner, Mapping):
                verdict = _truth(_first(inner, _VIABLE_KEYS))
                if verdict is not None:
                    break
    return verdict


def _order(boxes: list[Candidate]) -> list[Candidate]:
    known = sorted((b for b in boxes if b.distance is not None), key=lambda b: b.distance or 0.0)
    return known + [b for b in boxes if b.distance is None]


def read_viability(payload: Any, lat: float, lng: float) -> Viability:
    """Read a feasibility answer for the point (``lat``, ``lng``); never raises on a shape."""
    if isinstance(payload, list):
        payload = {"boxes": payload}
    if not isinstance(payload, Mapping):
        return Viability(None, [], [])
    refused: dict[str, Candidate] = {}
    specific: list[Candidate] = []
    generic: list[Candidate] = []
    for key, items in _lists(payload):
        name = key.rsplit(".", 1)[-1]
        negative = _is_negative(name)
        positive = _is_positive(name)
        for item in items:
            read = _entry(item)
            if read is None:
                continue
            candidate, verdict = read
            known = candidate.lat is not None and candidate.lng is not None
            if known and candidate.distance is None:
                assert candidate.lat is not None and candidate.lng is not None
                candidate.distance = round(distance_m(lat, lng, candidate.lat, candidate.lng), 1)
            if negative or verdict is False:
                refused.setdefault(candidate.id, candidate)
            elif positive:
                specific.append(candidate)
            else:
                generic.append(candidate)
    chosen: list[Candidate] = []
    seen: set[str] = set()
    for candidate in specific or generic:
        if candidate.id in refused or candidate.id in seen:
            continue
        seen.add(candidate.id)
        if candidate.may_serve:
            chosen.append(candidate)
        else:
            candidate.reason = candidate.reason or "no free port listed"
            refused.setdefault(candidate.id, candidate)
    return Viability(_verdict(payload), _order(chosen), _order(list(refused.values())))
