"""Timers on SQLite and PostgreSQL, with a clock the test moves by hand (nothing sleeps).

A small flow asks a question (mid-flow: nudge and expiry apply) and then rests; the menu and
handoff flows are the real ones. The runner fires through the engine's locked turn, so each
assertion about what the customer received is about the real send path.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from bot.compose import Runtime, compose
from bot.engine import FlowSpec, Intent, Turn
from bot.engine.events import HandoffEvent
from bot.engine.timers import EXPIRE, HANDOFF_RELEASE, NUDGE
from bot.i18n import Catalogs
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from flows import FLOWS, INTENTS
from tests.engine.support import Chat, RecordingChannel
from tests.support.clock import ManualDateClock
from tests.support.settings import offline_settings

MONDAY_NOON = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)  # 12:00 in São Paulo


class Q(StrEnum):
    START = "start"
    ASKING = "asking"
    DONE = "done"


async def answered(turn: Turn) -> str:
    turn.context.setdefault("answers", []).append(turn.text)
    if turn.text == "pronto":
        turn.say(turn.t("cancel.kept", code="X"))
        return "done"
    turn.say(turn.t("sales.ask_name"))
    return "again"


QUIZ = FlowSpec(
    name="quiz",
    summary="asks until told it is done",
    states=Q,
    initial=Q.START,
    transitions=[
        ["start", Q.START, Q.ASKING],
        ["again", Q.ASKING, None],
        ["done", Q.ASKING, Q.DONE],
    ],
    steps={Q.ASKING: answered},
    resting=frozenset({Q.DONE}),
)
#: nudge after 10 minutes, back to the menu after 2 hours, handoffs back to the bot 30 minutes
#: after opening time
POLICY: dict[str, Any] = {
    "nudge_minutes": 10,
    "expire_minutes": 120,
    "handoff_timeout_minutes": 30,
    "business_hours": "mon-fri 08:00-18:00",
}


class WindowChannel(RecordingChannel):
    """A channel like WhatsApp: free text only while the window is open; templates recorded."""

    def __init__(self, name: str = "test") -> None:
        super().__init__(name)
        self.window_open = True
        self.templates: list[tuple[str, str, dict[str, str]]] = []

    async def can_send_freeform(self, contact: str, now: datetime) -> bool:
        return self.window_open

    async def send_template(
        self, contact: str, template: str, variables: Mapping[str, str]
    ) -> None:
        self.templates.append((contact, template, dict(variables)))


class Bot:
    """An engine, its runner and a customer, on one store, all on one clock."""

    def __init__(self, runtime: Runtime, channel: WindowChannel) -> None:
        self.store = runtime.store
        self.channel = channel
        self.events: list[HandoffEvent] = []
        self.engine = runtime.engine
        self.engine.events.subscribe(self.events.append)
        self.runner = runtime.timers  # not started: each test runs it by hand
        self.chat = Chat(self.engine, self.channel, store=self.store)

    async def start_quiz(self) -> None:
        await self.chat.send(self.chat.inbound(text="quiz", button="intent:quiz"))

    def sent_texts(self) -> list[str]:
        return [r.text for r in self.channel.replies_to(self.chat.contact)]

    async def kinds(self) -> list[str]:
        return [t.kind for t in await self.store.pending_timers(self.chat.key)]


@asynccontextmanager
async def bot_on(
    store: Store, tmp_path: Path, catalogs: Catalogs, clock: ManualDateClock, **settings: Any
) -> AsyncIterator[Bot]:
    channel = WindowChannel()
    async with compose(
        offline_settings(tmp_path, **{**POLICY, **settings}),
        channels={"test": channel},
        store=store,
        catalogs=catalogs,
        flows=[*FLOWS, QUIZ],
        intents=[*INTENTS, Intent("quiz", flow="quiz")],
        clock=clock,
        background=False,
    ) as runtime:
        yield Bot(runtime, channel)


@pytest.fixture
def clock() -> ManualDateClock:
    return ManualDateClock(MONDAY_NOON)


@pytest.fixture
async def bot(
    store: Store, tmp_path: Path, catalogs: Catalogs, clock: ManualDateClock
) -> AsyncIterator[Bot]:
    async with bot_on(store, tmp_path, catalogs, clock) as made:
        yield made


async def test_a_silence_mid_flow_gets_a_nudge_then_the_menu(
    bot: Bot, clock: ManualDateClock
) -> None:
    await bot.start_quiz()
    await bot.chat.says("primeira")
    assert await bot.kinds() == [NUDGE, EXPIRE]

    clock.advance(minutes=9)
    assert await bot.runner.run_once() == 0
    clock.advance(minutes=1)
    assert await bot.runner.run_once() == 1
    assert bot.sent_texts()[-1].startswith("Ainda está por aí?")
    saved = await bot.chat.saved()
    assert (saved.flow, saved.state) == ("quiz", "asking")  # a nudge changes nothing
    assert await bot.kinds() == [EXPIRE]

    clock.advance(hours=2)
    assert await bot.runner.run_once() == 1
    assert "encerrei esta conversa" in bot.sent_texts()[-1]
    saved = await bot.chat.saved()
    assert (saved.flow, saved.state) == ("menu", "start")
    assert saved.context["answers"] == ["primeira"]  # data kept
    assert await bot.kinds() == []
    lines = [(e.role, e.text) for e in await bot.store.transcript(bot.chat.key)]
    assert lines[-1][0] == "bot" and "encerrei" in lines[-1][1]

    await bot.chat.says("oi de novo")  # back: the menu greets
    assert "intent:sales" in [b.payload for b in bot.chat.options]


async def test_a_customer_message_moves_the_timers(bot: Bot, clock: ManualDateClock) -> None:
    await bot.start_quiz()
    clock.advance(minutes=9)
    await bot.chat.says("ainda aqui")
    clock.advance(minutes=9)
    assert await bot.runner.run_once() == 0  # 18 minutes in, but 9 since the last message
    [nudge, _] = await bot.store.pending_timers(bot.chat.key)
    assert nudge.due_at == MONDAY_NOON + timedelta(minutes=19)


async def test_a_resting_conversation_has_no_timers(bot: Bot) -> None:
    await bot.chat.says("oi")
    assert await bot.kinds() == []
    await bot.start_quiz()
    assert await bot.kinds() == [NUDGE, EXPIRE]
    await bot.chat.says("pronto")
    assert await bot.kinds() == []


async def test_a_timer_claimed_before_a_message_is_dropped_under_the_lock(
    bot: Bot, clock: ManualDateClock
) -> None:
    """The runner claimed the nudge; the customer's message got the lock first and moved it.
    Firing the stale claim sends nothing and leaves the moved timer in place."""
    await bot.start_quiz()
    clock.advance(minutes=10)
    [claimed] = await bot.store.claim_timers(clock(), limit=1, lease=60)
    await bot.chat.says("cheguei")
    sent = len(bot.sent_texts())

    assert await bot.engine.fire_timer(claimed) is False
    assert len(bot.sent_texts()) == sent
    assert await bot.kinds() == [NUDGE, EXPIRE]


async def test_a_firing_waits_for_the_customers_running_turn(
    bot: Bot, clock: ManualDateClock, store: Store
) -> None:
    """Lock first: a timer fired while a turn holds the conversation runs after it."""
    await bot.start_quiz()
    clock.advance(minutes=10)
    [claimed] = await store.claim_timers(clock(), limit=1, lease=60)
    async with store.lock(bot.chat.key):
        firing = asyncio.create_task(bot.engine.fire_timer(claimed))
        await asyncio.sleep(0.05)
        assert not firing.done()
    assert await firing is True


async def test_timers_survive_a_restart(
    bot: Bot, clock: ManualDateClock, store: Store, catalogs: Catalogs, tmp_path: Path
) -> None:
    await bot.start_quiz()
    await store.close()

    reopened = _reopen(store)
    await reopened.open()
    try:
        async with bot_on(reopened, tmp_path, catalogs, clock) as restarted:
            clock.advance(minutes=11)
            assert await restarted.runner.run_once() == 1
            assert restarted.sent_texts() == [
                "Ainda está por aí? É só responder que continuamos de onde paramos."
            ]
    finally:
        await reopened.close()


def _reopen(store: Store) -> Store:
    if isinstance(store, SqliteStore):
        return SqliteStore(store.path)
    assert isinstance(store, PostgresStore)
    return PostgresStore(store._dsn, schema=store.schema, max_size=4)


async def test_two_runners_fire_each_timer_once(
    store: Store, catalogs: Catalogs, clock: ManualDateClock, tmp_path: Path
) -> None:
    other_store = _reopen(store)
    await other_store.open()
    try:
        async with (
            bot_on(store, tmp_path, catalogs, clock) as here,
            bot_on(other_store, tmp_path, catalogs, clock) as there,
        ):
            customers = [
                Chat(here.engine, here.channel, f"55489999900{i:02d}", store=store)
                for i in range(12)
            ]
            for chat in customers:
                await chat.send(chat.inbound(text="quiz", button="intent:quiz"))
            clock.advance(minutes=10)
            fired = await asyncio.gather(here.runner.run_once(), there.runner.run_once())
            assert sum(fired) == 12
            nudges = [
                r
                for channel in (here.channel, there.channel)
                for _, batch in channel.sent
                for r in batch
                if r.text.startswith("Ainda está por aí?")
            ]
            assert len(nudges) == 12
    finally:
        await other_store.close()


async def test_an_unclaimed_handoff_goes_back_to_the_bot(bot: Bot, clock: ManualDateClock) -> None:
    await bot.chat.says("atendente")
    assert await bot.kinds() == [HANDOFF_RELEASE]
    [release] = await bot.store.pending_timers(bot.chat.key)
    assert release.due_at == MONDAY_NOON + timedelta(minutes=30)

    clock.advance(minutes=31)
    assert await bot.runner.run_once() == 1
    assert "nossa equipe não conseguiu responder a tempo" in bot.sent_texts()[-1]
    saved = await bot.chat.saved()
    assert saved.flow == "menu"
    assert await bot.store.open_handoff(bot.chat.key) is None
    assert [(e.kind, e.text) for e in bot.events][-1] == ("closed", "expired")
    await bot.chat.says("1")  # the options offered with it: 1 = back to the menu
    assert "intent:sales" in [b.payload for b in bot.chat.options]


async def test_a_night_request_is_given_back_only_after_opening(
    bot: Bot, clock: ManualDateClock
) -> None:
    clock.now = datetime(2025, 3, 14, 23, 0, tzinfo=UTC)  # Friday 20:00 in São Paulo
    await bot.chat.says("atendente")
    [release] = await bot.store.pending_timers(bot.chat.key)
    assert release.due_at == datetime(2025, 3, 17, 11, 30, tzinfo=UTC)  # Monday 08:30


async def test_a_claimed_handoff_is_not_given_back(bot: Bot, clock: ManualDateClock) -> None:
    await bot.chat.says("atendente")
    assert await bot.store.claim_handoff(bot.chat.key, "ana", clock()) is not None
    clock.advance(hours=1)
    assert await bot.runner.run_once() == 0
    assert (await bot.chat.saved()).flow == "handoff"


async def test_the_console_talks_and_gives_the_conversation_back(
    bot: Bot, clock: ManualDateClock
) -> None:
    await bot.chat.says("atendente")
    await bot.store.claim_handoff(bot.chat.key, "ana", clock())
    await bot.engine.agent_says(bot.chat.key, "Olá, sou a Ana. Como posso ajudar?")
    assert bot.sent_texts()[-1] == "Olá, sou a Ana. Como posso ajudar?"
    assert await bot.chat.says("minha internet caiu") == []  # the bot stays quiet

    assert await bot.engine.release_handoff(bot.chat.key, outcome="resolved") is True
    assert "Atendimento encerrado" in bot.sent_texts()[-1]
    assert (await bot.chat.saved()).flow == "menu"
    roles = [e.role for e in await bot.store.transcript(bot.chat.key)]
    assert "agent" in roles and roles[-2:] == ["system", "bot"]
    assert [e.kind for e in bot.events] == [
        "queued",
        "agent_message",
        "customer_message",
        "closed",
    ]
    assert await bot.engine.release_handoff(bot.chat.key) is False  # nothing open any more


async def test_outside_the_messenger_window_only_a_template_goes(
    bot: Bot, store: Store, catalogs: Catalogs, clock: ManualDateClock, tmp_path: Path
) -> None:
    silent = bot
    await silent.start_quiz()
    silent.channel.window_open = False
    clock.advance(minutes=10)
    sent = len(silent.sent_texts())
    assert await silent.runner.run_once() == 1
    assert len(silent.sent_texts()) == sent and silent.channel.templates == []
    lines = await store.transcript(silent.chat.key)
    assert lines[-1].role == "system" and "window" in lines[-1].text

    async with bot_on(
        store, tmp_path, catalogs, clock, twilio_timer_template_sid="HXtimer"
    ) as templated:
        other = Chat(templated.engine, templated.channel, "5548999990077", store=store)
        await other.send(other.inbound(text="quiz", button="intent:quiz"))
        templated.channel.window_open = False
        clock.advance(minutes=10)
        assert await templated.runner.run_once() == 1
        [(contact, template, variables)] = templated.channel.templates
        assert (contact, template) == ("5548999990077", "HXtimer")
        assert variables["1"].startswith("Ainda está por aí?")


async def test_the_runner_runs_in_the_background_until_stopped(
    bot: Bot, clock: ManualDateClock
) -> None:
    await bot.start_quiz()
    clock.advance(minutes=10)
    runner = bot.runner  # the composed one; its first round claims what is due at once
    runner.start()
    try:
        for _ in range(500):
            if any(text.startswith("Ainda") for text in bot.sent_texts()):
                break
            await asyncio.sleep(0.01)
    finally:
        await runner.stop()
    assert bot.sent_texts()[-1].startswith("Ainda está por aí?")
    await runner.stop()  # idempotent


class _Killed(BaseException):
    """The process died here (nothing after it in the timer's turn runs)."""


async def test_a_nudge_whose_process_died_before_sending_is_sent_by_the_outbox(
    bot: Bot, clock: ManualDateClock
) -> None:
    """The timer's turn is committed (and the timer finished) before its reply goes: the reply
    is kept in the outbox with the commit, and the sweep of the next process sends it."""
    await bot.start_quiz()
    clock.advance(minutes=10)
    sending = bot.channel.send

    async def dies(contact: str, replies: Any) -> None:
        raise _Killed

    bot.channel.send = dies  # type: ignore[method-assign]
    with pytest.raises(_Killed):
        await bot.runner.run_once()
    bot.channel.send = sending  # type: ignore[method-assign]
    assert await bot.kinds() == [EXPIRE]  # the nudge is done: it will not fire again
    assert await bot.store.outbox_backlog() == 1

    await bot.engine.outbox.stop()  # its process is gone
    assert await bot.engine.outbox.recover() == 1
    assert bot.sent_texts()[-1].startswith("Ainda está por aí?")
    assert await bot.store.outbox_backlog() == 0
