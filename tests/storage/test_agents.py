"""The AgentStore contract (agents' accounts and login sessions), on SQLite and PostgreSQL
alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.agents import AgentStore
from bot.storage.base import Store

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


async def test_accounts_are_added_once_listed_by_name_and_removed(store: AgentStore) -> None:
    assert await store.add_agent("maria", "hash-1", T0)
    assert await store.add_agent("joao", "hash-2", T0 + timedelta(minutes=1))
    assert not await store.add_agent("maria", "other", T0)  # taken: nothing changes
    assert await store.agent_password("maria") == "hash-1"
    assert [(a.name, a.created_at) for a in await store.list_agents()] == [
        ("joao", T0 + timedelta(minutes=1)),
        ("maria", T0),
    ]
    assert await store.set_agent_password("maria", "hash-3")
    assert await store.agent_password("maria") == "hash-3"
    assert not await store.set_agent_password("nobody", "x")
    assert await store.remove_agent("maria")
    assert not await store.remove_agent("maria")
    assert await store.agent_password("maria") is None
    assert [a.name for a in await store.list_agents()] == ["joao"]


async def test_a_session_lives_until_it_expires_or_is_ended(store: AgentStore) -> None:
    await store.add_agent("maria", "h", T0)
    await store.create_agent_session("tok-a", "maria", T0, T0 + timedelta(hours=8))
    await store.create_agent_session("tok-b", "maria", T0, T0 + timedelta(hours=1))
    found = await store.agent_session("tok-a", T0 + timedelta(hours=2))
    assert found is not None and found.agent == "maria"
    assert found.expires_at == T0 + timedelta(hours=8)
    assert await store.agent_session("tok-b", T0 + timedelta(hours=2)) is None  # expired
    assert await store.agent_session("unknown", T0) is None
    await store.end_agent_session("tok-a")
    await store.end_agent_session("tok-a")  # idempotent
    assert await store.agent_session("tok-a", T0) is None


async def test_removing_an_agent_ends_their_sessions(store: AgentStore) -> None:
    await store.add_agent("maria", "h", T0)
    await store.add_agent("joao", "h", T0)
    await store.create_agent_session("tok-m", "maria", T0, T0 + timedelta(hours=8))
    await store.create_agent_session("tok-j", "joao", T0, T0 + timedelta(hours=8))
    await store.remove_agent("maria")
    assert await store.agent_session("tok-m", T0) is None
    # a same-named account created later does not inherit the old login
    await store.add_agent("maria", "h2", T0)
    assert await store.agent_session("tok-m", T0) is None
    assert await store.agent_session("tok-j", T0) is not None


async def test_logging_in_drops_sessions_that_already_ended(store: AgentStore) -> None:
    await store.add_agent("maria", "h", T0)
    await store.create_agent_session("old", "maria", T0, T0 + timedelta(hours=1))
    await store.create_agent_session(
        "new", "maria", T0 + timedelta(hours=2), T0 + timedelta(hours=9)
    )
    # gone from the table, not merely filtered: a clock set back cannot revive it
    assert await store.agent_session("old", T0) is None
    assert await store.agent_session("new", T0 + timedelta(hours=3)) is not None


async def test_removing_an_agent_returns_their_conversations_to_the_queue(
    store: Store,
) -> None:
    await store.add_agent("maria", "h", T0)
    await store.add_agent("joao", "h", T0)
    held = await store.enqueue_handoff("telegram:1", "asked", T0)
    other = await store.enqueue_handoff("telegram:2", "asked", T0)
    await store.claim_handoff("telegram:1", "maria", T0 + timedelta(minutes=1))
    await store.claim_handoff("telegram:2", "joao", T0 + timedelta(minutes=1))

    await store.remove_agent("maria")

    returned = await store.handoff(held.id)
    assert returned is not None and (returned.status, returned.agent) == ("waiting", None)
    kept = await store.handoff(other.id)  # a colleague's conversation is untouched
    assert kept is not None and (kept.status, kept.agent) == ("claimed", "joao")
    # and a colleague can take it now
    taken = await store.claim_handoff("telegram:1", "joao", T0 + timedelta(minutes=2))
    assert taken is not None and taken.agent == "joao"
