"""Plane geometry on OZmap's GeoJSON: whether a point lies in a polygon (a condominium's
area, a region). One implementation for the client and the sandbox, so both read a polygon
alike (holes and MultiPolygons included); OZmap's areas are small enough for the plane.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["point_in_polygon"]


def _in_ring(lat: float, lng: float, ring: Sequence[Sequence[float]]) -> bool:
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > lat) != (y2 > lat) and lng < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def point_in_polygon(lat: float, lng: float, polygon: Any) -> bool:
    """Whether a point lies in a GeoJSON Polygon or MultiPolygon (rings of ``[lng, lat]``;
    holes honoured). Anything unreadable contains nothing."""
    if not isinstance(polygon, Mapping):
        return False
    kind = polygon.get("type")
    coordinates = polygon.get("coordinates") or []
    polygons = coordinates if kind == "MultiPolygon" else [coordinates]
    try:
        for rings in polygons:
            if (
                rings
                and _in_ring(lat, lng, rings[0])
                and not any(_in_ring(lat, lng, hole) for hole in rings[1:])
            ):
                return True
    except (TypeError, IndexError, ZeroDivisionError):
        return False
    return False
