"""The SecurityStore contract, on SQLite and PostgreSQL alike: login attempts counted atomically
in a fixed window (concurrent callers on several stores never see the same count), taken back
and cleared; and secrets the first caller sets for every process."""

from __future__ import annotations

import asyncio

from bot.storage.security import SecurityStore
from tests.storage.conftest import Backend, FakeClock


async def test_attempts_are_counted_in_a_window_that_starts_at_the_first(
    store: SecurityStore, clock: FakeClock
) -> None:
    first = await store.count_attempt("a:maria", 900)
    assert (first.count, first.retry_after) == (1, 900)
    clock.advance(100)
    second = await store.count_attempt("a:maria", 900)
    assert (second.count, second.retry_after) == (2, 800)
    assert (await store.count_attempt("ip:10.0.0.1", 900)).count == 1  # keys are separate
    clock.advance(800)  # the window is over: a new one starts
    again = await store.count_attempt("a:maria", 900)
    assert (again.count, again.retry_after) == (1, 900)


async def test_concurrent_attempts_on_several_stores_each_get_their_own_count(
    backend: Backend, store: SecurityStore, clock: FakeClock
) -> None:
    other = backend.new_store(clock=clock)
    await other.open()
    results = await asyncio.gather(
        *(target.count_attempt("a:maria", 900) for _ in range(20) for target in (store, other))
    )
    assert sorted(r.count for r in results) == list(range(1, 41))


async def test_attempts_are_taken_back_and_cleared(store: SecurityStore) -> None:
    for _ in range(3):
        await store.count_attempt("ip:10.0.0.1", 900)
    await store.uncount_attempt("ip:10.0.0.1")
    assert (await store.count_attempt("ip:10.0.0.1", 900)).count == 3
    await store.clear_attempts("ip:10.0.0.1")
    await store.clear_attempts("ip:10.0.0.1")  # idempotent
    await store.uncount_attempt("nobody")  # nothing to take back: no error
    assert (await store.count_attempt("ip:10.0.0.1", 900)).count == 1


async def test_the_first_candidate_becomes_the_secret_for_every_store(
    backend: Backend, store: SecurityStore
) -> None:
    other = backend.new_store()
    await other.open()
    chosen = await asyncio.gather(
        *(
            target.shared_secret("webchat", f"candidate-{n}")
            for n, target in enumerate([store, other] * 5)
        )
    )
    assert len(set(chosen)) == 1 and chosen[0].startswith("candidate-")
    assert await store.shared_secret("logs", "another") == "another"  # names are separate
    reopened = backend.new_store()
    await reopened.open()
    assert await reopened.shared_secret("webchat", "late") == chosen[0]
