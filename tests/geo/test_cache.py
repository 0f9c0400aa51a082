"""CachedGeocoder over the real SQLite store (with a clock the test controls)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest

from bot.errors import GeocoderUnavailable, StorageError
from bot.geo.base import Lookups
from bot.geo.cache import DAY, CachedGeocoder
from bot.geo.geopy_adapter import GeopyGeocoder
from bot.storage.cache import CacheStore
from bot.storage.sqlite import SqliteStore
from tests.support.clock import ManualClock

DATA = Path(__file__).parent / "data"
SEARCH = json.loads((DATA / "nominatim_search.json").read_text("utf-8"))
REVERSE = json.loads((DATA / "nominatim_reverse.json").read_text("utf-8"))
QUERY = "R. Delminda Silveira, 900 - Agronômica"


class Provider:
    """A fake Nominatim at the transport: counts requests; ``status`` makes it fail."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status = 200
        self.search: object = SEARCH

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status)
        return httpx.Response(200, json=REVERSE if request.url.path == "/reverse" else self.search)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "ozbot.db", clock=clock)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def provider() -> Provider:
    return Provider()


@pytest.fixture
async def cached(store: SqliteStore, provider: Provider) -> AsyncIterator[CachedGeocoder]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        inner = GeopyGeocoder("nominatim", http, user_agent="ozbot-tests", min_delay_seconds=0)
        yield CachedGeocoder(inner, store)


async def test_an_answer_is_asked_once_and_read_back_equal(
    cached: CachedGeocoder, provider: Provider
) -> None:
    first = await cached.geocode(QUERY)
    again = await cached.geocode(QUERY)
    # people retype with other case, accents and spacing: the same question
    folded = await cached.geocode("r. delminda silveira,  900 - agronomica")
    assert len(provider.requests) == 1
    assert first == again == folded
    assert first[0].street == "Rua Delminda Silveira"


async def test_the_limit_is_part_of_the_question(
    cached: CachedGeocoder, provider: Provider
) -> None:
    await cached.geocode(QUERY, limit=1)
    await cached.geocode(QUERY, limit=3)
    assert len(provider.requests) == 2


async def test_answers_expire_after_the_ttl(
    cached: CachedGeocoder, provider: Provider, clock: ManualClock
) -> None:
    await cached.geocode(QUERY)
    clock.now += 29 * DAY
    await cached.geocode(QUERY)
    assert len(provider.requests) == 1
    clock.now += 2 * DAY
    await cached.geocode(QUERY)
    assert len(provider.requests) == 2


async def test_nothing_found_is_remembered_only_for_a_day(
    cached: CachedGeocoder, provider: Provider, clock: ManualClock
) -> None:
    provider.search = []
    assert await cached.geocode("Rua Nova 1") == []
    assert await cached.geocode("Rua Nova 1") == []
    assert len(provider.requests) == 1
    clock.now += DAY + 1
    provider.search = SEARCH  # the provider learnt the street
    assert await cached.geocode("Rua Nova 1") != []
    assert len(provider.requests) == 2


async def test_reverse_is_cached_by_the_point(cached: CachedGeocoder, provider: Provider) -> None:
    first = await cached.reverse(-27.5782336721312, -48.527442812919624)
    second = await cached.reverse(-27.578233, -48.527443)  # the same doorstep
    assert first is not None and first == second
    assert len(provider.requests) == 1
    await cached.reverse(-27.5790, -48.5280)  # another point
    assert len(provider.requests) == 2


async def test_errors_are_not_cached(cached: CachedGeocoder, provider: Provider) -> None:
    provider.status = 503
    with pytest.raises(GeocoderUnavailable):
        await cached.geocode(QUERY)
    provider.status = 200
    assert await cached.geocode(QUERY) != []
    assert len(provider.requests) == 2


async def test_answers_of_another_provider_are_not_served(
    store: SqliteStore, provider: Provider
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        inner = GeopyGeocoder("nominatim", http, user_agent="ozbot-tests", min_delay_seconds=0)
        await CachedGeocoder(inner, store).geocode(QUERY)
        await CachedGeocoder(inner, store, prefix="other").geocode(QUERY)
    assert len(provider.requests) == 2


async def test_forget_drops_the_answers_for_texts_and_points_whatever_the_provider(
    store: SqliteStore, provider: Provider
) -> None:
    pin, other_pin = (-27.5782336721312, -48.527442812919624), (-27.5790, -48.5280)
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        inner = GeopyGeocoder("nominatim", http, user_agent="ozbot-tests", min_delay_seconds=0)
        nominatim, other = CachedGeocoder(inner, store), CachedGeocoder(inner, store, prefix="x")
        for geocoder in (nominatim, other):
            await geocoder.geocode(QUERY, limit=1)
            await geocoder.geocode("Rua Nova 1")
            await geocoder.reverse(*pin)
            await geocoder.reverse(*other_pin)
        asked = len(provider.requests)

        # typed differently than it was asked: the folded text is what is matched
        lookups = Lookups(texts=("r. delminda SILVEIRA, 900 - agronomica", ""), points=(pin,))
        assert await nominatim.forget(lookups) == 4  # both providers' answers, each namespace

        for geocoder in (nominatim, other):
            await geocoder.geocode(QUERY, limit=1)  # asked again
            await geocoder.reverse(*pin)  # asked again
            await geocoder.geocode("Rua Nova 1")  # still cached
            await geocoder.reverse(*other_pin)  # still cached
    assert len(provider.requests) == asked + 4
    assert await nominatim.forget(Lookups()) == 0


async def test_a_geocoder_without_a_cache_has_nothing_to_forget(provider: Provider) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        inner = GeopyGeocoder("nominatim", http, user_agent="ozbot-tests", min_delay_seconds=0)
        assert await inner.forget(Lookups(texts=(QUERY,), points=((-27.5, -48.5),))) == 0


class BrokenStore(CacheStore):
    """A cache that always fails, as a database that went away would."""

    async def cache_get(self, namespace: str, key: str) -> str | None:
        raise StorageError("database is locked")

    async def cache_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        raise StorageError("database is locked")

    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        raise StorageError("database is locked")


async def test_a_broken_cache_only_makes_geocoding_slower(
    provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        inner = GeopyGeocoder("nominatim", http, user_agent="ozbot-tests", min_delay_seconds=0)
        cached = CachedGeocoder(inner, BrokenStore())
        assert await cached.geocode(QUERY) != []
        assert await cached.reverse(-27.5, -48.5) is not None
    assert len(provider.requests) == 2
    assert "geocoding cache" in caplog.text
