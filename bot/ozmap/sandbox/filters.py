"""OZmap list filters, evaluated against document views (pure functions).

A filter is a list; each item is ``{"property", "operator", "value"}`` or an inner list. Top-level
items are AND-ed; an inner list is an OR group (OZmap does not document this: it is the reading
of docs/ozmap-api.md section 1 we chose). ``property`` is a dotted path (``client.code``,
``onu.serial_number``); when a path crosses a list, any element may match (MongoDB style), and a
field holding a list matches ``=``/``in`` when any element does (``tags = <tagId>``).

Operators: ``= != ne < <= > >= in notin all like exists near within point-intersect``.
``like`` is a case-insensitive substring match. ``near`` takes a point (``{lat,lng}``,
``{latitude,longitude}``, ``{coords:[lng,lat]}`` or ``{coordinates:[lng,lat]}``) and an optional
``radius`` in metres, tested against a ``[lng, lat]`` field. ``within`` takes ``{id, model}``
(``horizontalCondominium``, ``region`` or ``project``) or a GeoJSON Polygon. ``point-intersect``
takes a point and tests a GeoJSON Polygon field.

:func:`parse_filter` raises :class:`FilterError` (the app answers 400) for malformed input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from geopy.distance import geodesic

from bot.ozmap.geometry import point_in_polygon

__all__ = [
    "FilterError",
    "PolygonLookup",
    "distance_m",
    "matches",
    "parse_filter",
    "parse_point",
    "point_in_polygon",
    "values_at",
]

# Resolves ``{"id", "model"}`` of a ``within`` filter to a GeoJSON polygon (None if unknown).
PolygonLookup = Callable[[str, str], dict[str, Any] | None]

OPERATORS = frozenset(
    {
        "=",
        "!=",
        "ne",
        "<",
        "<=",
        ">",
        ">=",
        "in",
        "notin",
        "all",
        "like",
        "exists",
        "near",
        "within",
        "point-intersect",
    }
)


class FilterError(ValueError):
    """The filter cannot be understood; the message says what to send instead."""


def parse_filter(raw: Any) -> list[Any]:
    """Validate a filter (already JSON-decoded, or a JSON string) and return it as a list."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise FilterError(
                f"filter is not valid JSON ({exc.msg}): send a JSON array such as "
                '[{"property":"code","operator":"=","value":"123"}]'
            ) from None
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise FilterError("filter must be a JSON array of {property, operator, value} objects")
    for item in raw:
        for cond in item if isinstance(item, list) else [item]:
            _check_condition(cond)
    return raw


def _check_condition(cond: Any) -> None:
    if not isinstance(cond, dict) or not isinstance(cond.get("property"), str):
        raise FilterError(
            'each filter condition must be an object with "property", "operator" and "value"'
        )
    op = cond.get("operator", "=")
    if op not in OPERATORS:
        raise FilterError(
            f"unknown filter operator {op!r}: use one of {', '.join(sorted(OPERATORS))}"
        )
    if op in {"in", "notin", "all"} and not isinstance(cond.get("value"), list):
        raise FilterError(f'operator "{op}" needs an array value')
    if op in {"near", "point-intersect"}:
        parse_point(cond.get("value"))


def parse_point(value: Any) -> tuple[float, float]:
    """``(lat, lng)`` from any of OZmap's point forms; raises :class:`FilterError`."""
    try:
        if isinstance(value, dict):
            if "lat" in value and "lng" in value:
                return float(value["lat"]), float(value["lng"])
            if "latitude" in value and "longitude" in value:
                return float(value["latitude"]), float(value["longitude"])
            for key in ("coords", "coordinates"):
                if key in value:
                    return float(value[key][1]), float(value[key][0])
        if isinstance(value, list) and len(value) == 2:
            return float(value[1]), float(value[0])
    except (TypeError, ValueError, IndexError, KeyError):
        pass
    raise FilterError('a point must look like {"lat": -27.578, "lng": -48.527}')


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two ``(lat, lng)`` points."""
    return float(geodesic(a, b).meters)


def values_at(doc: Any, path: str) -> list[Any]:
    """Every value reached by a dotted path (lists fan out); empty when the path is missing."""
    current: list[Any] = [doc]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            targets = item if isinstance(item, list) else [item]
            for target in targets:
                if isinstance(target, dict) and part in target:
                    nxt.append(target[part])
        current = nxt
    return current


def _scalar(value: Any) -> Any:
    """A populated reference compares as its id (``client = <id>`` on a populated client)."""
    if isinstance(value, dict):
        return value.get("id", value.get("_id", value))
    return value


def _flat(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, list) and not _is_coords(v):
            out.extend(_scalar(x) for x in v)
        else:
            out.append(_scalar(v))
    return out


def _is_coords(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) for x in v)


def _compare(op: str, a: Any, b: Any) -> bool:
    try:
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    except TypeError:
        return False


def _condition(doc: dict[str, Any], cond: dict[str, Any], polygons: PolygonLookup) -> bool:
    op = cond.get("operator", "=")
    value: Any = cond.get("value")
    raw = values_at(doc, cond["property"])
    if op == "exists":
        present = any(v is not None for v in raw)
        return present if value in (True, "true", 1) else not present
    if op in {"near", "within"}:
        return any(_geo_match(op, v, value, polygons) for v in raw if _is_coords(v))
    if op == "point-intersect":
        lat, lng = parse_point(value)
        return any(point_in_polygon(lat, lng, v) for v in raw)
    vals = _flat(raw)
    if op == "=":
        return _scalar(value) in vals if vals else value is None
    if op in {"!=", "ne"}:
        return _scalar(value) not in vals if vals else value is not None
    if op == "in":
        return any(v in vals for v in map(_scalar, value)) or (not vals and None in value)
    if op == "notin":
        return not any(v in vals for v in map(_scalar, value))
    if op == "all":
        return all(v in vals for v in map(_scalar, value))
    if op == "like":
        needle = str(value).casefold()
        return any(isinstance(v, str) and needle in v.casefold() for v in vals)
    return any(_compare(op, v, value) for v in vals)


def _geo_match(op: str, coords: list[float], value: Any, polygons: PolygonLookup) -> bool:
    lng, lat = coords[0], coords[1]
    if op == "near":
        centre = parse_point(value)
        radius = value.get("radius") if isinstance(value, dict) else None
        if radius is None:
            return True
        # a degree of latitude is ~111 km: far points are out without the (slow) geodesic
        reach = float(radius) / 110_000.0
        if abs(lat - centre[0]) > reach or abs(lng - centre[1]) > reach / max(
            0.01, math.cos(math.radians(centre[0]))
        ):
            return False
        return distance_m(centre, (lat, lng)) <= float(radius)
    polygon: Any = value
    if isinstance(value, dict) and "id" in value:
        polygon = polygons(str(value["id"]), str(value.get("model", "")))
    return polygon is not None and point_in_polygon(lat, lng, polygon)


def matches(doc: dict[str, Any], flt: list[Any], polygons: PolygonLookup) -> bool:
    """Whether a document view satisfies a parsed filter (top level AND, inner lists OR)."""
    for item in flt:
        if isinstance(item, list):
            if item and not any(_condition(doc, c, polygons) for c in item):
                return False
        elif not _condition(doc, item, polygons):
            return False
    return True
