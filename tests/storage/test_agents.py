"""The AgentStore contract (agents' accounts, login sessions, the console's queue reads), on
SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.agents import AgentStore
from bot.storage.base import Store

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


def agents(store: Store) -> AgentStore:
    assert isinstance(store, AgentStore)
    return store


async def test_accounts_are_added_once_listed_by_name_and_removed(store: Store) -> None:
    s = agents(store)
    assert await s.add_agent("maria", "hash-1", T0)
    assert await s.add_agent("joao", "hash-2", T0 + timedelta(minutes=1))
    assert not await s.add_agent("maria", "other", T0)  # taken: nothing changes
    assert await s.agent_password("maria") == "hash-1"
    assert [(a.name, a.created_at) for a in await s.list_agents()] == [
        ("joao", T0 + timedelta(minutes=1)),
        ("maria", T0),
    ]
    assert await s.set_agent_password("maria", "hash-3")
    assert await s.agent_password("maria") == "hash-3"
    assert not await s.set_agent_password("nobody", "x")
    assert await s.remove_agent("maria")
    assert not await s.remove_agent("maria")
    assert await s.agent_password("maria") is None
    assert [a.name for a in await s.list_agents()] == ["joao"]


async def test_a_session_lives_until_it_expires_or_is_ended(store: Store) -> None:
    s = agents(store)
    await s.add_agent("maria", "h", T0)
    await s.create_agent_session("tok-a", "maria", T0, T0 + timedelta(hours=8))
    await s.create_agent_session("tok-b", "maria", T0, T0 + timedelta(hours=1))
    found = await s.agent_session("tok-a", T0 + timedelta(hours=2))
    assert found is not None and found.agent == "maria"
    assert found.expires_at == T0 + timedelta(hours=8)
    assert await s.agent_session("tok-b", T0 + timedelta(hours=2)) is None  # expired
    assert await s.agent_session("unknown", T0) is None
    await s.end_agent_session("tok-a")
    await s.end_agent_session("tok-a")  # idempotent
    assert await s.agent_session("tok-a", T0) is None


async def test_removing_an_agent_ends_their_sessions(store: Store) -> None:
    s = agents(store)
    await s.add_agent("maria", "h", T0)
    await s.add_agent("joao", "h", T0)
    await s.create_agent_session("tok-m", "maria", T0, T0 + timedelta(hours=8))
    await s.create_agent_session("tok-j", "joao", T0, T0 + timedelta(hours=8))
    await s.remove_agent("maria")
    assert await s.agent_session("tok-m", T0) is None
    # a same-named account created later does not inherit the old login
    await s.add_agent("maria", "h2", T0)
    assert await s.agent_session("tok-m", T0) is None
    assert await s.agent_session("tok-j", T0) is not None


async def test_logging_in_drops_sessions_that_already_ended(store: Store) -> None:
    s = agents(store)
    await s.add_agent("maria", "h", T0)
    await s.create_agent_session("old", "maria", T0, T0 + timedelta(hours=1))
    await s.create_agent_session("new", "maria", T0 + timedelta(hours=2), T0 + timedelta(hours=9))
    # gone from the table, not merely filtered: a clock set back cannot revive it
    assert await s.agent_session("old", T0) is None
    assert await s.agent_session("new", T0 + timedelta(hours=3)) is not None


async def test_the_console_reads_tickets_by_id_and_the_open_ones(store: Store) -> None:
    s = agents(store)
    first = await store.enqueue_handoff("telegram:1", "asked", T0)
    second = await store.enqueue_handoff("whatsapp:5548", "failures", T0 + timedelta(minutes=1))
    third = await store.enqueue_handoff("webchat:abc", "outage", T0 + timedelta(minutes=2))
    await store.claim_handoff("whatsapp:5548", "maria", T0 + timedelta(minutes=3))
    await store.close_handoff("webchat:abc", "released", T0 + timedelta(minutes=4))

    assert [(t.id, t.status) for t in await s.open_handoffs()] == [
        (first.id, "waiting"),
        (second.id, "claimed"),
    ]
    assert [t.id for t in await s.open_handoffs(limit=1)] == [first.id]
    closed = await s.handoff(third.id)
    assert closed is not None and closed.status == "closed" and closed.outcome == "released"
    claimed = await s.handoff(second.id)
    assert claimed is not None and claimed.agent == "maria" and claimed.key == "whatsapp:5548"
    assert await s.handoff(third.id + 1000) is None
    await store.forget("telegram:1")
    assert await s.handoff(first.id) is None


async def test_removing_an_agent_returns_their_conversations_to_the_queue(store: Store) -> None:
    s = agents(store)
    await s.add_agent("maria", "h", T0)
    await s.add_agent("joao", "h", T0)
    held = await store.enqueue_handoff("telegram:1", "asked", T0)
    other = await store.enqueue_handoff("telegram:2", "asked", T0)
    await store.claim_handoff("telegram:1", "maria", T0 + timedelta(minutes=1))
    await store.claim_handoff("telegram:2", "joao", T0 + timedelta(minutes=1))

    await s.remove_agent("maria")

    returned = await s.handoff(held.id)
    assert returned is not None and (returned.status, returned.agent) == ("waiting", None)
    kept = await s.handoff(other.id)  # a colleague's conversation is untouched
    assert kept is not None and (kept.status, kept.agent) == ("claimed", "joao")
    # and a colleague can take it now
    taken = await store.claim_handoff("telegram:1", "joao", T0 + timedelta(minutes=2))
    assert taken is not None and taken.agent == "joao"
