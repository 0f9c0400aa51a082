"""The CacheStore contract, on SQLite and PostgreSQL alike (the clock is the test's)."""

from __future__ import annotations

from bot.storage.cache import CacheStore
from tests.storage.conftest import FakeClock


async def test_cache_returns_a_value_until_its_ttl_runs_out(
    store: CacheStore, clock: FakeClock
) -> None:
    await store.cache_put("geocode", "Rua São João, 123", '{"lat": -23.5}', ttl=60)

    clock.advance(59.9)
    assert await store.cache_get("geocode", "Rua São João, 123") == '{"lat": -23.5}'
    clock.advance(0.2)
    assert await store.cache_get("geocode", "Rua São João, 123") is None


async def test_cache_put_replaces_and_namespaces_are_separate(
    store: CacheStore, clock: FakeClock
) -> None:
    await store.cache_put("geocode", "k", "old", ttl=10)
    clock.advance(9)
    await store.cache_put("geocode", "k", "new", ttl=10)  # also restarts the TTL
    await store.cache_put("cep", "k", "other", ttl=10)
    clock.advance(5)

    assert await store.cache_get("geocode", "k") == "new"
    assert await store.cache_get("cep", "k") == "other"
    assert await store.cache_get("viacep", "k") is None


# -- erasure ------------------------------------------------------------------------------------


async def test_cache_forget_deletes_keys_ending_with_a_suffix(store: CacheStore) -> None:
    await store.cache_put("geocode", "nominatim|3|rua delminda silveira, 900", "[]", 60)
    await store.cache_put("geocode", "gazetteer|1|rua delminda silveira, 900", "[]", 60)
    await store.cache_put("geocode", "nominatim|3|outra rua delminda silveira, 900", "[]", 60)
    await store.cache_put("geocode", "nominatim|3|rua bocaiuva, 10", "[]", 60)
    await store.cache_put("reverse", "nominatim|rua delminda silveira, 900", "null", 60)

    deleted = await store.cache_forget("geocode", ["|rua delminda silveira, 900", "|nada", ""])

    assert deleted == 2
    assert await store.cache_get("geocode", "nominatim|3|rua delminda silveira, 900") is None
    assert await store.cache_get("geocode", "gazetteer|1|rua delminda silveira, 900") is None
    assert await store.cache_get("geocode", "nominatim|3|outra rua delminda silveira, 900")
    assert await store.cache_get("geocode", "nominatim|3|rua bocaiuva, 10")
    assert await store.cache_get("reverse", "nominatim|rua delminda silveira, 900")
    assert await store.cache_forget("geocode", []) == 0
