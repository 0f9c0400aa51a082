"""A geocoder in front of another, remembering answers in the store's cache.

Answers (found or not) are cached as JSON in the store (namespaces "geocode" and "reverse"), so a
provider with a strict rate limit (Nominatim: one request per second) is asked once per address
per ``ttl``, across processes sharing the database. Errors are never cached. A failing cache is
only a slower geocoder: a :class:`StorageError` is logged and the inner geocoder answers.
"""

from __future__ import annotations

import json
import logging

from bot.errors import StorageError
from bot.geo.base import Geocoder, Lookups, Place
from bot.storage.cache import CacheStore
from bot.validation import fold

__all__ = ["CachedGeocoder"]

log = logging.getLogger(__name__)

DAY = 86_400.0


class CachedGeocoder(Geocoder):
    """Caches ``inner``'s answers. ``prefix`` keeps providers apart (switching ``GEOCODER`` does
    not serve the old provider's answers); "nothing found" is kept for ``negative_ttl`` only, so
    a street the provider learns is found soon. Raises what ``inner`` raises."""

    def __init__(
        self,
        inner: Geocoder,
        store: CacheStore,
        *,
        ttl: float = 30 * DAY,
        negative_ttl: float = 1 * DAY,
        prefix: str | None = None,
    ) -> None:
        self.inner = inner
        self.store = store
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.prefix = prefix or getattr(inner, "service", None) or type(inner).__name__

    async def geocode(self, query: str, *, limit: int = 3) -> list[Place]:
        key = f"{self.prefix}|{limit}|{fold(query)}"
        cached = await self._get("geocode", key)
        if cached is not None:
            return [Place.from_dict(item) for item in json.loads(cached)]
        places = await self.inner.geocode(query, limit=limit)
        value = json.dumps([p.to_dict() for p in places], ensure_ascii=False)
        await self._put("geocode", key, value, self.ttl if places else self.negative_ttl)
        return places

    async def reverse(self, lat: float, lng: float) -> Place | None:
        # 5 decimals is about a metre: pins of the same doorstep share an answer
        key = f"{self.prefix}|{lat:.5f},{lng:.5f}"
        cached = await self._get("reverse", key)
        if cached is not None:
            data = json.loads(cached)
            return Place.from_dict(data) if data is not None else None
        place = await self.inner.reverse(lat, lng)
        value = json.dumps(place.to_dict() if place else None, ensure_ascii=False)
        await self._put("reverse", key, value, self.ttl if place else self.negative_ttl)
        return place

    async def forget(self, lookups: Lookups) -> int:
        """Drop the cached answers for ``lookups``' texts and points, whatever provider and
        limit asked (keys are matched by their end: ``"|<folded text>"``, ``"|<lat>,<lng>"``).
        Raises :class:`StorageError`: an erasure must not pretend it worked."""
        texts = [f"|{folded}" for folded in dict.fromkeys(fold(t) for t in lookups.texts) if folded]
        points = list(dict.fromkeys(f"|{lat:.5f},{lng:.5f}" for lat, lng in lookups.points))
        forgotten = 0
        for namespace, suffixes in (("geocode", texts), ("reverse", points)):
            if suffixes:
                forgotten += await self.store.cache_forget(namespace, suffixes)
        return forgotten

    async def _get(self, namespace: str, key: str) -> str | None:
        try:
            return await self.store.cache_get(namespace, key)
        except StorageError:
            log.warning("geocoding cache unreadable; asking the provider", exc_info=True)
            return None

    async def _put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        try:
            await self.store.cache_put(namespace, key, value, ttl)
        except StorageError:
            log.warning("geocoding cache unwritable; answer not kept", exc_info=True)
