"""The OutboxStore contract (a turn's replies kept with its commit until sent), on SQLite and
PostgreSQL alike, and the inbox's acceptance order the dispatcher runs turns by."""

from __future__ import annotations

import pytest

from bot.errors import StorageError
from bot.messages import Button, Inbound, Reply
from bot.storage.base import Store
from bot.storage.outbox import Outgoing, replies_from_json, replies_to_json
from tests.storage.conftest import FakeClock, conversation, line

A, B = "host-a:11:aaaa", "host-b:22:bbbb"
LEASE = 30.0
CONTACT = "5511987654321"
KEY = f"whatsapp:{CONTACT}"


def outgoing(token: str, *texts: str, owner: str = A, key: str = KEY) -> Outgoing:
    contact = key.partition(":")[2]
    replies = tuple(Reply(text) for text in texts)
    return Outgoing(token, key, "whatsapp", contact, replies, owner=owner, lease=LEASE)


REPLIES = (
    Reply("Escolha:", buttons=(Button("intent:sales", "Contratar 😀"), Button("x", "Sair"))),
    Reply('linha\n"dois"', ask_location=True),
)


def test_replies_survive_their_json_form() -> None:
    assert replies_from_json(replies_to_json(REPLIES)) == REPLIES


@pytest.mark.parametrize("raw", ["{}", "not json", '[{"buttons": []}]'])
def test_what_is_not_replies_is_a_storage_error(raw: str) -> None:
    with pytest.raises(StorageError, match="outbox row"):
        replies_from_json(raw)


async def test_the_turns_commit_keeps_its_replies_until_they_are_sent(store: Store) -> None:
    convo = conversation(CONTACT)
    kept = Outgoing("t1", KEY, "whatsapp", CONTACT, REPLIES, owner=A, lease=LEASE)
    assert await store.commit_turn(convo, [line("oi")], "wa:1", kept)
    assert await store.commit_turn(convo, [line("e aí")], "wa:2", outgoing("t2", "segunda"))
    pending = await store.outbox_pending(KEY)
    assert [(o.token, o.replies, o.owner) for o in pending] == [
        ("t1", REPLIES, A),
        ("t2", (Reply("segunda"),), A),
    ]
    assert (pending[0].channel, pending[0].contact) == ("whatsapp", CONTACT)
    assert await store.outbox_backlog() == 2
    await store.outbox_sent("t1")
    assert [o.token for o in await store.outbox_pending(KEY)] == ["t2"]
    await store.outbox_sent("t1")  # clearing twice is harmless
    assert await store.outbox_backlog() == 1


async def test_a_duplicate_turn_keeps_nothing(store: Store) -> None:
    convo = conversation(CONTACT)
    assert await store.commit_turn(convo, [], "wa:1", outgoing("t1", "oi"))
    assert not await store.commit_turn(convo, [], "wa:1", outgoing("t2", "oi de novo"))
    assert [o.token for o in await store.outbox_pending(KEY)] == ["t1"]


async def test_a_commit_without_a_message_id_keeps_its_replies_too(store: Store) -> None:
    assert await store.commit_turn(conversation(CONTACT), [], None, outgoing("t1", "lembrete"))
    assert await store.outbox_backlog() == 1


async def test_rows_are_overdue_when_their_lease_ran_out_or_their_holder_died(
    store: Store, clock: FakeClock
) -> None:
    other = "whatsapp:5511900000000"
    await store.commit_turn(conversation(CONTACT), [], "wa:1", outgoing("t1", "a", owner=A))
    clock.advance(5)
    await store.commit_turn(
        conversation("5511900000000"), [], "wa:2", outgoing("t2", "b", owner=B, key=other)
    )
    assert await store.outbox_holders() == [A, B]
    assert await store.outbox_overdue([], 10) == []
    assert await store.outbox_overdue([B], 10) == [other]
    clock.advance(LEASE - 2)  # A's lease ran out, B's not
    assert await store.outbox_overdue([], 10) == [KEY]
    assert await store.outbox_holders() == [B]
    assert await store.outbox_overdue([B], 10) == [KEY, other]  # oldest row first
    assert await store.outbox_overdue([B], 1) == [KEY]


async def test_erasure_deletes_unsent_replies(store: Store) -> None:
    await store.commit_turn(conversation(CONTACT), [], "wa:1", outgoing("t1", "oi"))
    await store.forget(KEY)
    assert await store.outbox_backlog() == 0


# --- the inbox's acceptance order ------------------------------------------------------------


def msg(contact: str, pid: str) -> Inbound:
    return Inbound(channel="telegram", contact=contact, text="oi", provider_id=pid)


async def test_an_entry_knows_whether_an_earlier_one_of_its_conversation_waits(
    store: Store,
) -> None:
    first = await store.inbox_accept(msg("1", "tg:1"), A, LEASE)
    other = await store.inbox_accept(msg("2", "tg:2"), A, LEASE)
    second = await store.inbox_accept(msg("1", "tg:3"), B, LEASE)
    assert first is not None and other is not None and second is not None
    assert (first.behind, other.behind, second.behind) == (False, False, True)
    assert first.id < other.id < second.id
    assert await store.inbox_accept(msg("1", "tg:3"), B, LEASE) is None
    assert await store.inbox_first("telegram:1") == first.id
    await store.inbox_done(first.id, A)
    assert await store.inbox_first("telegram:1") == second.id
    await store.inbox_done(second.id, B)
    assert await store.inbox_first("telegram:1") is None
    later = await store.inbox_accept(msg("1", "tg:4"), A, LEASE)
    assert later is not None and not later.behind


async def test_an_inbox_entry_and_its_turns_sent_row_go_together(store: Store) -> None:
    entry = await store.inbox_accept(msg("1", "tg:1"), A, LEASE)
    assert entry is not None
    convo = conversation(CONTACT)
    assert await store.commit_turn(convo, [line("oi")], "tg:1", outgoing("t1", "olá"))
    assert await store.commit_turn(convo, [line("e aí")], "tg:2", outgoing("t2", "segunda"))
    await store.inbox_done(entry.id, A, sent="t1")
    assert await store.inbox_pending() == 0
    assert [o.token for o in await store.outbox_pending(KEY)] == ["t2"]
    # held by another owner: the entry stays, the sent row goes all the same
    other = await store.inbox_accept(msg("1", "tg:3"), B, LEASE)
    assert other is not None
    await store.inbox_done(other.id, A, sent="t2")
    assert await store.inbox_pending() == 1
    assert await store.outbox_pending(KEY) == []


async def test_a_refused_row_is_postponed_and_counted(store: Store, clock: FakeClock) -> None:
    await store.commit_turn(conversation(CONTACT), [], "wa:1", outgoing("t1", "oi"))
    await store.outbox_retry("t1", 10)
    await store.outbox_retry("t1", LEASE + 10)
    [row] = await store.outbox_pending(KEY)
    assert row.attempts == 2
    clock.advance(LEASE + 5)  # past the commit's lease, not past the postponement
    assert await store.outbox_overdue([], 10) == []
    clock.advance(6)
    assert await store.outbox_overdue([], 10) == [KEY]
