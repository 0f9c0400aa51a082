"""Which cached lookups an erasure can attribute to a customer. Pure.

The geocoding cache (:class:`bot.geo.cache.CachedGeocoder`) keys answers by provider, limit and
the folded query (``"<provider>|<limit>|<folded text>"``, namespace ``geocode``) and by the point
to 5 decimals (``"<provider>|<lat>,<lng>"``, namespace ``reverse``). An address the customer
typed, or a pin they sent, is in their transcript and context; the same texts and points, as
key suffixes, find those entries whatever the provider. ``tests/engine/test_erasure.py`` runs
the real cached geocoder, so a change of its key format fails there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.conversation import TranscriptEntry
from bot.validation import fold, parse_coordinates

__all__ = ["attributable_lookups"]

_PIN = re.compile(r"^📍\s*")


def _point(lat: Any, lng: Any) -> str | None:
    if isinstance(lat, int | float) and isinstance(lng, int | float):
        return f"|{lat:.5f},{lng:.5f}"
    return None


def _places(context: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    sales = context.get("sales")
    if isinstance(sales, Mapping):
        for name in ("place",):
            if isinstance(sales.get(name), Mapping):
                yield sales[name]
        for candidate in sales.get("candidates") or []:
            if isinstance(candidate, Mapping):
                yield candidate


def attributable_lookups(
    transcript: Iterable[TranscriptEntry], context: Mapping[str, Any]
) -> dict[str, list[str]]:
    """Cache key suffixes per namespace for what this customer typed or pinned."""
    geocode: list[str] = []
    reverse: list[str] = []
    for entry in transcript:
        if entry.role != "customer" or not entry.text.strip():
            continue
        geocode.append("|" + fold(entry.text))
        point = parse_coordinates(_PIN.sub("", entry.text))
        if point is not None:
            reverse.append(_point(*point) or "")
    sales = context.get("sales") if isinstance(context.get("sales"), Mapping) else {}
    cep = sales.get("cep") if isinstance(sales, Mapping) else None
    for place in _places(context):
        found = _point(place.get("lat"), place.get("lng"))
        if found:
            reverse.append(found)
        if isinstance(cep, Mapping) and place.get("street"):
            # the CEP path asks the geocoder for "street, number, city" (or without the number)
            parts = [place.get("street"), place.get("number"), cep.get("city")]
            geocode.append("|" + fold(", ".join(str(p) for p in parts if p)))
    if isinstance(cep, Mapping) and cep.get("street"):
        geocode.append("|" + fold(", ".join(str(p) for p in (cep["street"], cep.get("city")) if p)))
    return {
        "geocode": list(dict.fromkeys(s for s in geocode if s != "|")),
        "reverse": list(dict.fromkeys(s for s in reverse if s)),
    }
