"""The CounterStore contract, on SQLite and PostgreSQL alike: a sequence per name, never the
same number twice, across concurrent calls, several stores on one database, and restarts."""

from __future__ import annotations

import asyncio

from bot.storage.counters import CounterStore
from tests.storage.conftest import Backend


async def test_a_counter_starts_at_one_and_names_are_separate(store: CounterStore) -> None:
    assert [await store.next_value("reservation-code") for _ in range(3)] == [1, 2, 3]
    assert await store.next_value("prospect") == 1
    assert await store.next_value("reservation-code") == 4


async def test_concurrent_calls_on_several_stores_never_share_a_number(
    backend: Backend, store: CounterStore
) -> None:
    other = backend.new_store()
    await other.open()
    values = await asyncio.gather(
        *(target.next_value("seq") for _ in range(25) for target in (store, other))
    )
    assert sorted(values) == list(range(1, 51))


async def test_the_count_survives_a_restart(backend: Backend, store: CounterStore) -> None:
    await store.next_value("seq")
    await store.next_value("seq")
    reopened = backend.new_store()
    await reopened.open()
    assert await reopened.next_value("seq") == 3
