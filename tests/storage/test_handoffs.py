"""The HandoffQueue contract (the agents' queue), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.conversation import Conversation, TranscriptEntry
from bot.storage.base import Store
from bot.storage.handoffs import HANDOFF_RELEASE, HandoffQueue
from tests.storage.conftest import Backend

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
KEY = "whatsapp:5548999990001"
OTHER = "telegram:4242"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_enqueue_is_idempotent_and_the_queue_is_oldest_first(store: HandoffQueue) -> None:
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


async def test_waiting_only_close_leaves_a_claimed_ticket_alone(store: HandoffQueue) -> None:
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


async def test_the_console_reads_tickets_by_id_and_the_open_ones(store: Store) -> None:
    first = await store.enqueue_handoff("telegram:1", "asked", T0)
    second = await store.enqueue_handoff("whatsapp:5548", "failures", T0 + timedelta(minutes=1))
    third = await store.enqueue_handoff("webchat:abc", "outage", T0 + timedelta(minutes=2))
    await store.claim_handoff("whatsapp:5548", "maria", T0 + timedelta(minutes=3))
    await store.close_handoff("webchat:abc", "released", T0 + timedelta(minutes=4))

    assert [(t.id, t.status) for t in await store.open_handoffs()] == [
        (first.id, "waiting"),
        (second.id, "claimed"),
    ]
    assert [t.id for t in await store.open_handoffs(limit=1)] == [first.id]
    closed = await store.handoff(third.id)
    assert closed is not None and closed.status == "closed" and closed.outcome == "released"
    claimed = await store.handoff(second.id)
    assert claimed is not None and claimed.agent == "maria" and claimed.key == "whatsapp:5548"
    assert await store.handoff(third.id + 1000) is None
    await store.forget("telegram:1")
    assert await store.handoff(first.id) is None
