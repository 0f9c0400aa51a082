"""The InboxStore contract (accepted messages kept until their turn has run), on SQLite and
PostgreSQL alike, and the JSON form of a message."""

from __future__ import annotations

import asyncio

import pytest

from bot.conversation import Conversation
from bot.errors import StorageError
from bot.messages import Inbound, Location
from bot.storage.base import Store
from bot.storage.inbox import InboxStore, inbound_from_json, inbound_to_json
from bot.storage.postgres import PostgresStore
from tests.storage.conftest import Backend, FakeClock

A, B = "host-a:11:aaaa", "host-b:22:bbbb"
LEASE = 30.0


def msg(contact: str, text: str, pid: str | None = None) -> Inbound:
    return Inbound(channel="telegram", contact=contact, text=text, provider_id=pid)


FULL = Inbound(
    channel="whatsapp",
    contact="5548999990000",
    text=None,
    location=Location(-27.5954, -48.548, name="Casa da vó", address="R. Bocaiúva, 2 – Centro"),
    button="intent:sales",
    phone="+5548999990000",
    name="Zé 😀",
    provider_id="SM" + "f" * 32,
    language="pt-BR",
)


# --- the JSON form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inbound", [FULL, msg("1", "oi"), Inbound(channel="webchat", contact="s", text='a\n"b"')]
)
def test_a_message_survives_its_json_form(inbound: Inbound) -> None:
    assert inbound_from_json(inbound_to_json(inbound)) == inbound


def test_fields_a_newer_version_wrote_are_dropped() -> None:
    data = {"channel": "telegram", "contact": "1", "text": "oi", "mood": "happy"}
    data["location"] = {"lat": 1.0, "lng": 2.0, "altitude": 3}  # type: ignore[assignment]
    assert inbound_from_json(data) == Inbound(
        channel="telegram", contact="1", text="oi", location=Location(1.0, 2.0)
    )


@pytest.mark.parametrize("raw", ["[1]", "not json", '{"channel": "telegram"}', '{"x": 1}'])
def test_what_is_not_a_message_is_a_storage_error(raw: str) -> None:
    with pytest.raises(StorageError, match="inbox entry"):
        inbound_from_json(raw)


# --- the contract ----------------------------------------------------------------------------


async def test_a_message_is_stored_once_per_provider_id(store: InboxStore) -> None:
    first = await store.inbox_put(msg("1", "oi", "tg:1"), A, LEASE)
    assert first is not None
    assert await store.inbox_put(msg("1", "oi", "tg:1"), B, LEASE) is None  # re-delivered
    # messages without a provider id are all kept (the web layer gives every message one)
    assert await store.inbox_put(msg("1", "x"), A, LEASE) is not None
    assert await store.inbox_put(msg("1", "x"), A, LEASE) is not None
    assert await store.inbox_pending() == 3


async def test_a_message_a_turn_already_committed_is_not_stored_again(store: Store) -> None:
    entry = await store.inbox_put(msg("1", "oi", "tg:7"), A, LEASE)
    assert entry is not None
    await store.commit_turn(Conversation.new("telegram", "1"), [], "tg:7")
    await store.inbox_done(entry, A)
    assert await store.inbox_pending() == 0
    # Telegram sends it once more (our 200 was lost): it is not queued again
    assert await store.inbox_put(msg("1", "oi", "tg:7"), A, LEASE) is None
    assert await store.inbox_pending() == 0


async def test_a_held_entry_is_claimed_only_after_its_lease_runs_out(
    store: InboxStore, clock: FakeClock
) -> None:
    await store.inbox_put(FULL, A, LEASE)
    assert await store.inbox_claim(B, LEASE, 10) == []
    clock.advance(LEASE - 1)
    assert await store.inbox_claim(B, LEASE, 10) == []
    clock.advance(2)
    (entry,) = await store.inbox_claim(B, LEASE, 10)
    assert entry.inbound == FULL  # location, accents and emoji included
    assert await store.inbox_claim(A, LEASE, 10) == []  # now B's


async def test_claims_come_in_arrival_order_up_to_the_limit(
    store: InboxStore, clock: FakeClock
) -> None:
    for n in range(5):
        await store.inbox_put(msg(str(n), f"m{n}", f"tg:{n}"), A, LEASE)
    clock.advance(LEASE + 1)
    first = await store.inbox_claim(B, LEASE, 3)
    rest = await store.inbox_claim(B, LEASE, 3)
    assert [e.inbound.text for e in first] == ["m0", "m1", "m2"]
    assert [e.inbound.text for e in rest] == ["m3", "m4"]
    assert [e.id for e in first + rest] == sorted(e.id for e in first + rest)


async def test_a_conversation_waits_while_its_earlier_message_is_held(
    store: InboxStore, clock: FakeClock
) -> None:
    held = await store.inbox_put(msg("1", "first", "tg:1"), A, 100)
    assert held is not None
    await store.inbox_put(msg("1", "second", "tg:2"), B, 10)
    await store.inbox_put(msg("2", "other", "tg:3"), B, 10)
    clock.advance(11)  # B died: its entries are free, A's is still held
    claimed = await store.inbox_claim("c", LEASE, 10)
    assert [e.inbound.text for e in claimed] == ["other"]  # not "second" before "first"
    await store.inbox_done(held, A)
    assert [e.inbound.text for e in await store.inbox_claim("c", LEASE, 10)] == ["second"]


async def test_renewing_keeps_what_the_owner_holds(store: InboxStore, clock: FakeClock) -> None:
    await store.inbox_put(msg("1", "a", "tg:1"), A, 10)
    await store.inbox_put(msg("2", "b", "tg:2"), A, 10)
    await store.inbox_put(msg("3", "c", "tg:3"), B, 10)
    clock.advance(8)
    assert await store.inbox_renew(A, 10) == 2
    clock.advance(8)
    assert [e.inbound.text for e in await store.inbox_claim("c", LEASE, 10)] == ["c"]
    clock.advance(3)
    assert [e.inbound.text for e in await store.inbox_claim("c", LEASE, 10)] == ["a", "b"]
    assert await store.inbox_renew(A, 10) == 0  # nothing is A's any more


async def test_done_removes_only_what_the_owner_still_holds(
    store: InboxStore, clock: FakeClock
) -> None:
    entry = await store.inbox_put(msg("1", "a", "tg:1"), A, 10)
    assert entry is not None
    clock.advance(11)
    (taken,) = await store.inbox_claim(B, LEASE, 10)
    await store.inbox_done(entry, A)  # A was slow, not dead: B runs it now
    assert await store.inbox_pending() == 1
    await store.inbox_done(taken.id, B)
    assert await store.inbox_pending() == 0
    await store.inbox_done(taken.id, B)  # idempotent


async def test_released_entries_are_claimable_at_once(store: InboxStore) -> None:
    await store.inbox_put(msg("1", "a", "tg:1"), A, LEASE)
    await store.inbox_put(msg("1", "b", "tg:2"), A, LEASE)
    await store.inbox_put(msg("2", "c", "tg:3"), B, LEASE)
    assert await store.inbox_release(A) == 2
    assert [e.inbound.text for e in await store.inbox_claim(B, LEASE, 10)] == ["a", "b"]


async def test_two_stores_claiming_together_never_share_an_entry(
    backend: Backend, store: InboxStore, clock: FakeClock
) -> None:
    other = backend.new_store(clock=clock)
    await other.open()
    for n in range(40):
        await store.inbox_put(msg(str(n), "oi", f"tg:{n}"), A, 1)
    clock.advance(2)
    results = await asyncio.gather(
        *(s.inbox_claim(owner, LEASE, 7) for s, owner in [(store, "x"), (other, "y")] * 4)
    )
    ids = [e.id for batch in results for e in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_the_leases_of_dead_holders_can_be_taken_at_once(store: InboxStore) -> None:
    await store.inbox_put(msg("1", "a", "tg:1"), A, LEASE)
    await store.inbox_put(msg("1", "b", "tg:2"), B, LEASE)
    await store.inbox_put(msg("2", "c", "tg:3"), B, LEASE)
    assert await store.inbox_holders() == [A, B]
    # B is known dead, A is not: B's "b" still waits behind A's earlier "a"
    assert [e.inbound.text for e in await store.inbox_claim("c", LEASE, 10, orphans=[B])] == ["c"]
    assert [e.inbound.text for e in await store.inbox_claim("d", LEASE, 10, orphans=[A, B])] == [
        "a",
        "b",
    ]
    assert await store.inbox_holders() == ["c", "d"]


@pytest.mark.postgres
async def test_finishing_an_entry_leaves_the_connection_waiting_for_the_disk(
    postgres_url: str, postgres_schema: str
) -> None:
    """The statement finishing an entry commits without waiting for the WAL flush: only that
    statement. A setting leaking to the pooled connection would commit every later turn the
    same way (lost with a crash of the database, replies already sent)."""
    store = PostgresStore(postgres_url, schema=postgres_schema, max_size=1)
    await store.open()
    try:
        accepted = await store.inbox_accept(msg("1", "oi", "tg:1"), A, LEASE, lock=True)
        assert accepted is not None and accepted.held is not None
        await store.inbox_done(accepted.id, A, held=accepted.held)
        await store.inbox_done(12345, A)  # an entry that is not there: the same statement
        found = await store._fetch("asking", "SHOW synchronous_commit", ())  # the one connection
        assert found == [("on",)]
        assert await store.inbox_pending() == 0
    finally:
        await store.close()
