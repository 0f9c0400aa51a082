"""Asking for a person, as transcripts: the queue entry and its reason, business hours, the
customer's lines kept and announced for the console, and leaving by "menu"."""

from __future__ import annotations

from bot.engine.events import HandoffEvent
from tests.engine.support import Chat
from tests.flows.conftest import FIXED_NOW, MakeChat


async def test_asking_for_a_person_queues_the_conversation(
    chat: Chat, handoff_events: list[HandoffEvent]
) -> None:
    assert chat.store is not None
    await chat.says("oi")
    await chat.says("quero falar com um atendente")
    assert "Uma pessoa da nossa equipe vai continuar" in chat.text  # Monday 11:30: open
    [ticket] = await chat.store.waiting_handoffs()
    assert (ticket.key, ticket.status, ticket.reason, ticket.since) == (
        chat.key,
        "waiting",
        "asked",
        FIXED_NOW,
    )

    assert await chat.says("alô? ainda estou aqui") == []  # the bot stays quiet
    assert await chat.says("quero contratar") == []  # intents too, except the menu
    lines = [(e.role, e.text) for e in await chat.store.transcript(chat.key)]
    assert lines[-2:] == [("customer", "alô? ainda estou aqui"), ("customer", "quero contratar")]
    assert [(e.kind, e.text) for e in handoff_events] == [
        ("queued", "asked"),
        ("customer_message", "alô? ainda estou aqui"),
        ("customer_message", "quero contratar"),
    ]

    await chat.says("menu")
    assert "intent:sales" in [b.payload for b in chat.options]
    assert await chat.store.open_handoff(chat.key) is None
    assert handoff_events[-1].kind == "closed" and handoff_events[-1].text == "customer_left"


async def test_after_repeated_failures_the_reason_says_so(chat: Chat) -> None:
    """The engine offers a person after three failed turns (tests/engine covers how); a
    customer taking the offer is queued with that reason, for the agent to see."""
    assert chat.store is not None
    await chat.says("quero contratar")
    saved = await chat.saved()
    saved.failures = 3
    await chat.store.commit_turn(saved, [])
    await chat.taps("intent:handoff")
    ticket = await chat.store.open_handoff(chat.key)
    assert ticket is not None and ticket.reason == "failures"


async def test_outside_business_hours_the_customer_is_told_when(make_chat: MakeChat) -> None:
    chat = await make_chat(business_hours="sat 08:00-12:00", holidays=("2025-03-15",))
    await chat.says("atendente")
    assert "fora do horário de atendimento" in chat.text
    # the 15th is a holiday: Saturday the 22nd, in São Paulo time
    assert "a partir de sábado, 22/03, às 08:00" in chat.text


async def test_other_languages_name_the_day_too(make_chat: MakeChat) -> None:
    chat = await make_chat(business_hours="fri 09:30-12:00", language="en")
    await chat.says("I want to talk to a human")
    assert "from Friday, 14/03, at 09:30" in chat.text
