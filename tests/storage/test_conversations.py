"""The ConversationStore contract (records, turns, de-duplication, transcripts, erasure), on
SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import StorageError
from bot.storage.base import Store
from bot.storage.conversations import ConversationStore
from tests.storage.conftest import conversation, line

BRT = timezone(timedelta(hours=-3))
T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
OTHER = "telegram:4242"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- conversations ------------------------------------------------------------------------------


async def test_a_new_contact_has_no_conversation(store: ConversationStore) -> None:
    assert await store.load("whatsapp:5511000000000") is None


async def test_conversation_round_trip_keeps_every_field(store: ConversationStore) -> None:
    saved = conversation(
        flow="sales",
        state="awaiting_number",
        language="es",
        failures=2,
        context={
            "address": "Rua São João, 123 — Praça da Sé, São Paulo",
            "coords": [-23.5505, -46.6333],
            "feasibility": {"box": "CTO-07", "free_ports": 3, "ok": True, "note": None},
            "emoji": "📶",
        },
        # Not UTC on purpose: what comes back is the same instant, in UTC.
        created_at=datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=BRT),
        updated_at=datetime(2024, 5, 1, 12, 45, 0, 654321, tzinfo=UTC),
    )
    assert await store.commit_turn(saved, []) is True

    loaded = await store.load(saved.key)

    assert loaded == saved
    assert loaded is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.updated_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


async def test_commit_turn_overwrites_the_saved_state(store: ConversationStore) -> None:
    convo = conversation(state="start")
    await store.commit_turn(convo, [line("oi")])
    convo.state = "awaiting_cep"
    convo.context = {"cep": "01001000"}
    await store.commit_turn(convo, [line("quero contratar", second=1)])

    loaded = await store.load(convo.key)

    assert loaded is not None
    assert (loaded.state, loaded.context) == ("awaiting_cep", {"cep": "01001000"})


async def test_a_context_that_is_not_json_is_refused_and_nothing_is_written(
    store: ConversationStore,
) -> None:
    convo = conversation(context={"when": datetime(2024, 5, 1, tzinfo=UTC)})

    with pytest.raises(StorageError, match="JSON"):
        await store.commit_turn(convo, [line("oi")], provider_id="m-bad")

    assert await store.load(convo.key) is None
    assert await store.seen("m-bad") is False


# -- de-duplication -----------------------------------------------------------------------------


async def test_a_message_id_is_seen_once_its_turn_is_committed(store: ConversationStore) -> None:
    assert await store.seen("wamid.1") is False
    assert await store.commit_turn(conversation(), [line("oi")], provider_id="wamid.1") is True
    assert await store.seen("wamid.1") is True
    assert await store.seen("wamid.2") is False


async def test_seen_and_load_answer_as_seen_and_load_do(store: ConversationStore) -> None:
    convo = conversation(state="awaiting_cep", context={"cep": "88010000"})
    assert await store.seen_and_load(convo.key, "wamid.1") == (False, None)
    assert await store.seen_and_load(convo.key, None) == (False, None)
    assert await store.commit_turn(convo, [line("oi")], provider_id="wamid.1") is True
    seen, loaded = await store.seen_and_load(convo.key, "wamid.1")
    assert seen is True and loaded == await store.load(convo.key) and loaded is not None
    assert (loaded.state, loaded.context) == ("awaiting_cep", {"cep": "88010000"})
    assert await store.seen_and_load(convo.key, "wamid.2") == (False, loaded)
    assert await store.seen_and_load(OTHER, "wamid.1") == (True, None)  # ids are global


async def test_a_repeated_message_id_commits_nothing(store: ConversationStore) -> None:
    first = conversation(state="awaiting_cep")
    assert await store.commit_turn(first, [line("oi")], provider_id="wamid.1") is True

    again = conversation(state="somewhere_else", failures=3, context={"x": 1})
    repeated = [line("oi de novo", second=5)]
    duplicate = await store.commit_turn(again, repeated, provider_id="wamid.1")

    assert duplicate is False
    loaded = await store.load(first.key)
    assert loaded is not None
    assert (loaded.state, loaded.failures, loaded.context) == ("awaiting_cep", 0, {})
    assert [entry.text for entry in await store.transcript(first.key)] == ["oi"]


async def test_turns_without_a_message_id_always_commit(store: ConversationStore) -> None:
    convo = conversation()
    assert await store.commit_turn(convo, [line("a")]) is True
    assert await store.commit_turn(convo, [line("b", second=1)]) is True
    assert len(await store.transcript(convo.key)) == 2


# -- transcript ---------------------------------------------------------------------------------


async def test_transcript_keeps_insertion_order_and_limit_gives_the_latest(
    store: ConversationStore,
) -> None:
    convo = conversation()
    other = conversation(contact="5521999990000")
    # Equal timestamps on purpose: the order is the order of commit, not of the clock.
    await store.commit_turn(convo, [line("1"), line("2", role="bot"), line("3", role="bot")])
    await store.commit_turn(other, [line("elsewhere")])
    await store.commit_turn(convo, [line("4"), line("5", role="agent", second=9)])

    everything = await store.transcript(convo.key)
    assert [(e.role, e.text) for e in everything] == [
        ("customer", "1"),
        ("bot", "2"),
        ("bot", "3"),
        ("customer", "4"),
        ("agent", "5"),
    ]
    assert everything[-1].at == datetime(2024, 5, 1, 12, 0, 9, tzinfo=UTC)
    assert everything[-1].at.utcoffset() == timedelta(0)
    assert [e.text for e in await store.transcript(convo.key, limit=2)] == ["4", "5"]
    assert len(await store.transcript(convo.key, limit=50)) == 5
    assert await store.transcript(convo.key, limit=0) == []
    assert await store.transcript("telegram:nobody") == []


# -- forget -------------------------------------------------------------------------------------


async def test_forget_erases_one_conversation_and_keeps_the_rest(store: ConversationStore) -> None:
    gone = conversation()
    kept = conversation(contact="5521999990000")
    await store.commit_turn(gone, [line("meu CPF é ...")], provider_id="m1")
    await store.commit_turn(kept, [line("oi")], provider_id="m2")

    await store.forget(gone.key)

    assert await store.load(gone.key) is None
    assert await store.transcript(gone.key) == []
    assert await store.load(kept.key) == kept
    assert [e.text for e in await store.transcript(kept.key)] == ["oi"]
    # A webhook redelivered after the erasure is still recognised as a duplicate.
    assert await store.seen("m1") is True
    assert await store.commit_turn(gone, [line("again")], provider_id="m1") is False
    assert await store.load(gone.key) is None


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


async def test_commit_turn_plans_timers_as_set_timers_does(store: Store) -> None:
    convo = conversation()
    plan = {"nudge": at(10), "expire": at(120)}
    assert await store.commit_turn(convo, [line("oi")], "wamid.1", timers=plan) is True
    assert [(t.kind, t.due_at) for t in await store.pending_timers(convo.key)] == [
        ("nudge", at(10)),
        ("expire", at(120)),
    ]
    moved = {"nudge": at(15), "expire": None}  # moved and cancelled in the same commit
    assert await store.commit_turn(convo, [line("e aí")], "wamid.2", timers=moved) is True
    assert [(t.kind, t.due_at) for t in await store.pending_timers(convo.key)] == [
        ("nudge", at(15))
    ]
    # a repeated message id writes nothing, its timers neither
    assert await store.commit_turn(convo, [], "wamid.2", timers={"nudge": None}) is False
    assert len(await store.pending_timers(convo.key)) == 1
    assert await store.commit_turn(convo, [], timers={}) is True  # an empty plan changes none
    assert len(await store.pending_timers(convo.key)) == 1
