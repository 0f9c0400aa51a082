"""The TimerStore contract, on SQLite and PostgreSQL alike.

Times are passed in explicitly (the runner's clock), so nothing here waits for a real timer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.storage.base import Store
from bot.storage.handoffs import HANDOFF_RELEASE
from bot.storage.timers import TimerStore
from tests.storage.conftest import Backend

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
KEY = "whatsapp:5548999990001"
OTHER = "telegram:4242"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_set_timers_schedules_moves_and_cancels_by_kind(store: TimerStore) -> None:
    await store.set_timers(KEY, {"nudge": at(10), "expire": at(120)})
    await store.set_timers(OTHER, {"nudge": at(5)})
    assert [(t.kind, t.due_at) for t in await store.pending_timers(KEY)] == [
        ("nudge", at(10)),
        ("expire", at(120)),
    ]

    await store.set_timers(KEY, {"nudge": at(15)})  # moved, not added; expire untouched
    assert [(t.kind, t.due_at) for t in await store.pending_timers(KEY)] == [
        ("nudge", at(15)),
        ("expire", at(120)),
    ]

    await store.set_timers(KEY, {"nudge": None, "expire": None, "never_set": None})
    assert await store.pending_timers(KEY) == []
    assert [t.kind for t in await store.pending_timers(OTHER)] == ["nudge"]


async def test_claim_takes_due_timers_soonest_first_up_to_the_limit(store: TimerStore) -> None:
    await store.set_timers("k:late", {"nudge": at(3)})
    await store.set_timers("k:early", {"nudge": at(1)})
    await store.set_timers("k:middle", {"expire": at(2)})
    await store.set_timers("k:future", {"nudge": at(60)})

    first = await store.claim_timers(at(5), limit=2, lease=60)
    assert [(t.key, t.kind) for t in first] == [("k:early", "nudge"), ("k:middle", "expire")]
    assert all(t.claim for t in first)
    second = await store.claim_timers(at(5), limit=10, lease=60)
    assert [t.key for t in second] == ["k:late"]  # the claimed ones are not handed out again
    assert await store.claim_timers(at(5), limit=10, lease=60) == []


async def test_due_timers_counts_what_is_due_claimed_or_not(store: TimerStore) -> None:
    assert await store.due_timers(at(5)) == 0
    await store.set_timers("k:early", {"nudge": at(1), "expire": at(4)})
    await store.set_timers("k:future", {"nudge": at(60)})
    assert await store.due_timers(at(0)) == 0
    assert await store.due_timers(at(1)) == 1  # due at exactly now counts
    assert await store.due_timers(at(5)) == 2
    await store.claim_timers(at(5), limit=1, lease=60)
    assert await store.due_timers(at(5)) == 2  # a claimed timer is still to be run
    assert await store.due_timers(at(90)) == 3


async def test_a_claim_whose_runner_died_is_taken_again_after_its_lease(store: TimerStore) -> None:
    await store.set_timers(KEY, {"nudge": at(1)})
    [lost] = await store.claim_timers(at(2), limit=10, lease=60)  # then the runner dies

    assert await store.claim_timers(at(2.5), limit=10, lease=60) == []  # lease still running
    [retaken] = await store.claim_timers(at(3.5), limit=10, lease=60)
    assert retaken.id == lost.id and retaken.claim != lost.claim
    assert not await store.timer_pending(lost)  # the dead runner's claim no longer stands
    assert await store.timer_pending(retaken)


async def test_rescheduling_makes_a_claimed_timer_stale(store: TimerStore) -> None:
    """A customer writes after a runner claimed the nudge: under the conversation's lock the
    runner finds its claim gone, and finishing it does not delete the moved timer."""
    await store.set_timers(KEY, {"nudge": at(10)})
    [claimed] = await store.claim_timers(at(10), limit=1, lease=60)
    assert await store.timer_pending(claimed)

    await store.set_timers(KEY, {"nudge": at(21)})  # the customer's turn moved it

    assert not await store.timer_pending(claimed)
    await store.finish_timer(claimed)
    [moved] = await store.pending_timers(KEY)
    assert (moved.kind, moved.due_at, moved.claim) == ("nudge", at(21), None)


async def test_finishing_a_timer_deletes_it(store: TimerStore) -> None:
    await store.set_timers(KEY, {"nudge": at(10), "expire": at(120)})
    [claimed] = await store.claim_timers(at(10), limit=5, lease=60)
    await store.finish_timer(claimed)
    assert [t.kind for t in await store.pending_timers(KEY)] == ["expire"]
    assert not await store.timer_pending(claimed)


async def test_timers_survive_closing_and_reopening_the_store(
    store: Store, backend: Backend
) -> None:
    await store.set_timers(KEY, {"nudge": at(10), HANDOFF_RELEASE: at(30)})
    await store.close()

    reopened = backend.new_store()
    await reopened.open()

    assert [t.kind for t in await reopened.pending_timers(KEY)] == ["nudge", HANDOFF_RELEASE]
    claimed = await reopened.claim_timers(at(40), limit=10, lease=60)
    assert [t.kind for t in claimed] == ["nudge", HANDOFF_RELEASE]


async def test_runners_on_two_stores_never_get_the_same_timer(
    store: Store, backend: Backend
) -> None:
    """Two stores on one database stand for two processes: claiming together, every due timer
    goes to exactly one of them."""
    other = backend.new_store()
    await other.open()
    for i in range(40):
        await store.set_timers(f"k:{i:02d}", {"nudge": at(i % 7)})

    async def drain(runner: Store) -> list[int]:
        got: list[int] = []
        while batch := await runner.claim_timers(at(10), limit=3, lease=60):
            got.extend(t.id for t in batch)
            await asyncio.sleep(0)
        return got

    mine, theirs = await asyncio.gather(drain(store), drain(other))
    assert len(mine) + len(theirs) == 40
    assert not set(mine) & set(theirs)
