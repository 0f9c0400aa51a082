"""The Store contract for timers, the agents' queue and erasure, on SQLite and PostgreSQL alike.

Times are passed in explicitly (the runner's clock), so nothing here waits for a real timer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.conversation import Conversation, TranscriptEntry
from bot.storage.base import HANDOFF_RELEASE, Store
from tests.storage.conftest import Backend

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
KEY = "whatsapp:5548999990001"
OTHER = "telegram:4242"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- timers -------------------------------------------------------------------------------------


async def test_set_timers_schedules_moves_and_cancels_by_kind(store: Store) -> None:
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


async def test_claim_takes_due_timers_soonest_first_up_to_the_limit(store: Store) -> None:
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


async def test_a_claim_whose_runner_died_is_taken_again_after_its_lease(store: Store) -> None:
    await store.set_timers(KEY, {"nudge": at(1)})
    [lost] = await store.claim_timers(at(2), limit=10, lease=60)  # then the runner dies

    assert await store.claim_timers(at(2.5), limit=10, lease=60) == []  # lease still running
    [retaken] = await store.claim_timers(at(3.5), limit=10, lease=60)
    assert retaken.id == lost.id and retaken.claim != lost.claim
    assert not await store.timer_pending(lost)  # the dead runner's claim no longer stands
    assert await store.timer_pending(retaken)


async def test_rescheduling_makes_a_claimed_timer_stale(store: Store) -> None:
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


async def test_finishing_a_timer_deletes_it(store: Store) -> None:
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


# -- the agents' queue --------------------------------------------------------------------------


async def test_enqueue_is_idempotent_and_the_queue_is_oldest_first(store: Store) -> None:
    first = await store.enqueue_handoff(KEY, "asked", at(0))
    again = await store.enqueue_handoff(KEY, "failures", at(5))
    assert again == first  # still the one ticket, with its first reason and time
    assert (first.status, first.reason, first.since, first.agent) == (
        "waiting",
        "asked",
        at(0),
        None,
    )
    await store.enqueue_handoff(OTHER, "outage", at(-3))

    assert [t.key for t in await store.waiting_handoffs()] == [OTHER, KEY]
    assert [t.key for t in await store.waiting_handoffs(limit=1)] == [OTHER]
    assert await store.open_handoff(KEY) == first
    assert await store.open_handoff("webchat:nobody") is None


async def test_one_agent_at_a_time_claims_a_ticket(store: Store, backend: Backend) -> None:
    other = backend.new_store()
    await other.open()
    await store.enqueue_handoff(KEY, "asked", at(0))
    await store.set_timers(KEY, {HANDOFF_RELEASE: at(30), "expire": at(120)})

    results = await asyncio.gather(
        *((store if i % 2 else other).claim_handoff(KEY, f"agent-{i}", at(1)) for i in range(6))
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    [ticket] = winners
    assert ticket.status == "claimed" and ticket.claimed_at == at(1)
    assert ticket.agent is not None and ticket.agent.startswith("agent-")
    assert await store.waiting_handoffs() == []
    assert await store.open_handoff(KEY) == ticket
    # nobody has to give it back to the bot any more; other timers stay
    assert [t.kind for t in await store.pending_timers(KEY)] == ["expire"]


async def test_close_ends_the_ticket_and_a_new_request_opens_another(store: Store) -> None:
    opened = await store.enqueue_handoff(KEY, "asked", at(0))
    await store.set_timers(KEY, {HANDOFF_RELEASE: at(30)})

    closed = await store.close_handoff(KEY, "expired", at(30))

    assert closed is not None and closed.id == opened.id
    assert (closed.status, closed.outcome, closed.closed_at) == ("closed", "expired", at(30))
    assert await store.open_handoff(KEY) is None
    assert await store.pending_timers(KEY) == []
    assert await store.close_handoff(KEY, "resolved", at(31)) is None  # nothing open
    assert await store.claim_handoff(KEY, "ana", at(31)) is None

    reopened = await store.enqueue_handoff(KEY, "asked", at(40))
    assert reopened.id != opened.id and reopened.status == "waiting"


async def test_waiting_only_close_leaves_a_claimed_ticket_alone(store: Store) -> None:
    """The release timer closes only a ticket nobody holds: an agent's claim landing first
    wins, whatever order the two arrive in."""
    await store.enqueue_handoff(KEY, "asked", at(0))
    await store.claim_handoff(KEY, "ana", at(29))

    assert await store.close_handoff(KEY, "expired", at(30), waiting_only=True) is None
    held = await store.open_handoff(KEY)
    assert held is not None and (held.status, held.agent) == ("claimed", "ana")

    await store.enqueue_handoff(OTHER, "asked", at(0))
    closed = await store.close_handoff(OTHER, "expired", at(30), waiting_only=True)
    assert closed is not None and closed.outcome == "expired"


async def test_agent_messages_join_the_transcript(store: Store) -> None:
    convo = Conversation.new("whatsapp", "5548999990001")
    customer = TranscriptEntry("customer", "alô?", at(0))
    await store.commit_turn(convo, [customer])
    await store.record_agent_message(convo.key, "Olá, sou a Ana. Como posso ajudar?", at(1))

    lines = [(e.role, e.text, e.at) for e in await store.transcript(convo.key)]
    assert lines == [
        ("customer", "alô?", at(0)),
        ("agent", "Olá, sou a Ana. Como posso ajudar?", at(1)),
    ]


# -- erasure ------------------------------------------------------------------------------------


async def test_forget_also_removes_timers_and_queue_entries(store: Store) -> None:
    convo = Conversation.new("whatsapp", "5548999990001")
    await store.commit_turn(convo, [TranscriptEntry("customer", "oi", at(0))])
    await store.set_timers(convo.key, {"nudge": at(10)})
    await store.enqueue_handoff(convo.key, "asked", at(0))
    await store.close_handoff(convo.key, "resolved", at(1))
    await store.enqueue_handoff(convo.key, "asked", at(2))
    await store.set_timers(OTHER, {"nudge": at(10)})
    await store.enqueue_handoff(OTHER, "asked", at(0))

    await store.forget(convo.key)

    assert await store.pending_timers(convo.key) == []
    assert await store.open_handoff(convo.key) is None
    assert [t.key for t in await store.waiting_handoffs()] == [OTHER]
    assert [t.key for t in await store.pending_timers(OTHER)] == [OTHER]
    assert await store.claim_timers(at(60), limit=10, lease=60) != []  # only OTHER's is left


async def test_cache_forget_deletes_keys_ending_with_a_suffix(store: Store) -> None:
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
