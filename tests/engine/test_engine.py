"""The turn loop against real stores: ordering under the lock, de-duplication, failures.

A small probe flow stands in for the product flows so each test controls exactly what a step
does (wait, fail, succeed); the menu and handoff flows are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path

import pytest

from bot.compose import Runtime, compose
from bot.conversation import Conversation
from bot.engine import Engine, FlowSpec, Intent, Turn
from bot.engine.routing import BUTTONS_KEY, PROFILE_NAME_KEY
from bot.errors import ChannelError, GeocoderUnavailable, LockTimeout, OzmapUnavailable
from bot.i18n import Catalogs
from bot.messages import Inbound
from bot.storage.base import Store
from flows import FLOWS, INTENTS, handoff, menu, sales
from tests.engine.support import Chat, RecordingChannel
from tests.support.settings import offline_settings


class P(StrEnum):
    START = "start"
    LISTENING = "listening"


class Probe:
    """What the probe step does with each message: notes it in the context, then, by text,
    waits for a gate, or fails the way a real dependency would."""

    def __init__(self) -> None:
        self.entered: dict[str, asyncio.Event] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.context_seen: dict[str, list[str]] = {}

    async def step(self, turn: Turn) -> str:
        text = turn.text
        noted: list[str] = turn.context.setdefault("noted", [])
        self.context_seen[text] = list(noted)
        noted.append(text)
        if text in self.entered:
            self.entered[text].set()
        if text in self.gates:
            await self.gates[text].wait()
        if text == "ozmap down":
            raise OzmapUnavailable("OZmap did not answer")
        if text == "geocoder down":
            raise GeocoderUnavailable("geocoder did not answer")
        if text == "bug":
            raise RuntimeError("a bug in a step")
        if text == "bad outcome":
            return "no_such_trigger"
        turn.say(turn.t("sales.summary.name", name=text))
        return "noted"


def probe_flow(probe: Probe) -> FlowSpec:
    return FlowSpec(
        name="probe",
        summary="notes every message",
        states=P,
        initial=P.START,
        transitions=[["start", P.START, P.LISTENING], ["noted", P.LISTENING, None]],
        steps={P.LISTENING: probe.step},
    )


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
async def runtime(
    tmp_path: Path, store: Store, catalogs: Catalogs, channel: RecordingChannel, probe: Probe
) -> AsyncIterator[Runtime]:
    async with compose(
        # the probe's words ("bug", "ozmap down") are commands to it, not requests to read:
        # these tests are about turns, locks and failures, so they route by keywords
        offline_settings(
            tmp_path,
            nudge_minutes=0,
            expire_minutes=0,
            handoff_timeout_minutes=0,
            understanding="off",
        ),
        channels={"test": channel},
        store=store,
        catalogs=catalogs,
        flows=[*FLOWS, probe_flow(probe)],
        intents=[Intent("probe", flow="probe", exact=("probe",)), *INTENTS],
        background=False,
    ) as runtime:
        yield runtime


@pytest.fixture
def engine(runtime: Runtime) -> Engine:
    return runtime.engine


async def start_probe(chat: Chat) -> None:
    await chat.says("probe")


async def test_new_conversation_gets_the_menu(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    chat = Chat(engine, channel, name="Ana")
    await chat.says("boa tarde, tudo bem?")
    assert "Olá, Ana!" in chat.last_reply.text
    assert [b.payload for b in chat.last_reply.buttons] == [
        "intent:sales",
        "intent:outage",
        "intent:cancel",
        "intent:handoff",
    ]
    saved = await store.load(chat.key)
    assert saved is not None and (saved.flow, saved.state) == ("menu", "choosing")
    assert saved.context[BUTTONS_KEY][0][0] == "intent:sales"
    assert saved.context[PROFILE_NAME_KEY] == "Ana"  # for the agents' console


async def test_the_language_comes_from_the_channel_hint(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    chat = Chat(engine, channel, language="en-US")
    await chat.says("hello")
    assert chat.last_reply.text.startswith("Hello!")
    saved = await store.load(chat.key)
    assert saved is not None and saved.language == "en"


async def test_turns_of_one_customer_run_in_order_under_the_lock(
    engine: Engine, channel: RecordingChannel, store: Store, probe: Probe
) -> None:
    """The second message arrives while the first turn is mid-step: it waits for the lock, then
    loads what the first turn saved (the lock is taken before the load: no lost update)."""
    chat = Chat(engine, channel)
    await start_probe(chat)
    probe.entered["first"] = asyncio.Event()
    probe.gates["first"] = asyncio.Event()
    first = asyncio.create_task(engine.handle(chat.inbound(text="first")))
    await probe.entered["first"].wait()
    second = asyncio.create_task(engine.handle(chat.inbound(text="second")))
    await asyncio.sleep(0.05)  # give the second turn every chance to run early if it could
    assert "second" not in probe.context_seen
    probe.gates["first"].set()
    await asyncio.gather(first, second)

    assert probe.context_seen["second"] == ["first"]  # it saw the first turn's saved context
    saved = await store.load(chat.key)
    assert saved is not None and saved.context["noted"] == ["first", "second"]
    texts = [r.text for r in channel.replies_to(chat.contact)]
    assert texts[-2:] == ["• Nome: first", "• Nome: second"]


async def test_an_accepted_message_holds_its_conversation_from_acceptance(
    runtime: Runtime, channel: RecordingChannel, store: Store, probe: Probe
) -> None:
    """The dispatcher takes the lock with the inbox entry: from the moment the message is
    accepted nothing else (an agent, a timer, another process) gets the conversation until its
    turn is over, and the turn starts from the conversation as saved."""
    chat = Chat(runtime.engine, channel)
    await start_probe(chat)
    probe.gates["anota ai: rua sete 12"] = asyncio.Event()
    probe.entered["anota ai: rua sete 12"] = asyncio.Event()
    assert await runtime.dispatcher.submit(chat.inbound(text="anota ai: rua sete 12"))
    with pytest.raises(LockTimeout):  # before its turn has even started
        async with store.lock(chat.key, timeout=0.2):
            pytest.fail("the conversation was free between acceptance and its turn")
    await probe.entered["anota ai: rua sete 12"].wait()
    probe.gates["anota ai: rua sete 12"].set()
    await runtime.dispatcher.join()
    assert probe.context_seen["anota ai: rua sete 12"] == []  # the probe's start, as saved
    async with store.lock(chat.key, timeout=1):  # given back with the entry
        saved = await store.load(chat.key)
    assert saved is not None and saved.context["noted"] == ["anota ai: rua sete 12"]
    assert channel.replies_to(chat.contact)[-1].text == "• Nome: anota ai: rua sete 12"
    assert await store.inbox_pending() == 0


async def test_a_turn_cut_short_by_shutdown_gives_its_lock_back(
    runtime: Runtime, channel: RecordingChannel, store: Store, probe: Probe
) -> None:
    chat = Chat(runtime.engine, channel)
    await start_probe(chat)
    probe.gates["anota ai 1"] = asyncio.Event()  # never opened: the turn hangs
    probe.entered["anota ai 1"] = asyncio.Event()
    other = Chat(runtime.engine, channel, contact="5548999990002")
    await start_probe(other)
    probe.gates["anota ai 2"] = asyncio.Event()
    assert await runtime.dispatcher.submit(chat.inbound(text="anota ai 1"))
    assert await runtime.dispatcher.submit(other.inbound(text="anota ai 2"))  # waits for a slot
    await probe.entered["anota ai 1"].wait()
    await runtime.dispatcher.close(grace=0.1)
    for key in (chat.key, other.key):
        async with store.lock(key, timeout=1):
            pass
    assert await store.inbox_pending() == 2  # left for the next process


async def test_different_customers_run_concurrently(
    engine: Engine, channel: RecordingChannel, probe: Probe
) -> None:
    ana = Chat(engine, channel, contact="5548999990001")
    bia = Chat(engine, channel, contact="5548999990002")
    await start_probe(ana)
    await start_probe(bia)
    probe.gates["ana waits"] = asyncio.Event()
    probe.entered["ana waits"] = asyncio.Event()
    blocked = asyncio.create_task(engine.handle(ana.inbound(text="ana waits")))
    await probe.entered["ana waits"].wait()
    await asyncio.wait_for(bia.says("bia goes"), timeout=10)  # not stuck behind Ana's turn
    assert bia.last_reply.text == "• Nome: bia goes"
    probe.gates["ana waits"].set()
    await blocked


async def test_a_redelivered_message_is_processed_once(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    chat = Chat(engine, channel)
    await start_probe(chat)
    message = chat.inbound(text="once", provider_id="wamid.same")
    await asyncio.gather(engine.handle(message), engine.handle(message))
    await engine.handle(message)
    saved = await store.load(chat.key)
    assert saved is not None and saved.context["noted"] == ["once"]
    texts = [r.text for r in channel.replies_to(chat.contact)]
    assert texts.count("• Nome: once") == 1
    lines = [e.text for e in await store.transcript(chat.key)]
    assert lines.count("once") == 1


async def test_a_failed_step_saves_nothing_and_says_so(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    chat = Chat(engine, channel)
    await start_probe(chat)
    await chat.says("kept")
    before = await store.load(chat.key)
    assert before is not None

    await chat.says("ozmap down")

    assert "fora do ar" in chat.text and "guardados" in chat.text
    assert [b.payload for b in chat.options] == ["intent:handoff", "intent:menu"]
    after = await store.load(chat.key)
    assert after is not None
    assert (after.flow, after.state) == (before.flow, before.state)
    assert after.context["noted"] == ["kept"]  # the step's change to the context was dropped
    assert after.failures == 1
    lines = [(e.role, e.text) for e in await store.transcript(chat.key)]
    assert lines[-3] == ("customer", "ozmap down")
    assert lines[-2][0] == "bot" and "fora do ar" in lines[-2][1]
    assert lines[-1][0] == "bot" and "1. Falar com atendente" in lines[-1][1]

    await chat.says("back again")  # a success clears the count
    recovered = await store.load(chat.key)
    assert recovered is not None and recovered.failures == 0
    assert recovered.context["noted"] == ["kept", "back again"]


async def test_geocoder_down_suggests_a_location_pin(
    engine: Engine, channel: RecordingChannel
) -> None:
    chat = Chat(engine, channel)
    await start_probe(chat)
    await chat.says("geocoder down")
    assert "localização" in chat.turn_replies[0].text
    assert chat.turn_replies[0].ask_location


async def test_three_failures_in_a_row_offer_a_person(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    chat = Chat(engine, channel)
    await start_probe(chat)
    for attempt in (1, 2):
        await chat.says("bug")
        assert "algo deu errado" in chat.text
        assert chat.options == [], attempt  # not yet: it may have been a blip
    await chat.says("bad outcome")  # a flow bug (an outcome its table lacks) counts the same
    assert "algo deu errado" in chat.turn_replies[0].text
    assert "pessoa da nossa equipe" in chat.last_reply.text
    saved = await store.load(chat.key)
    assert saved is not None and saved.failures == 3 and saved.state == "listening"

    await chat.says(str(chat.option("intent:handoff")))  # typed, as on a button-less channel
    assert "Uma pessoa da nossa equipe" in chat.text
    saved = await store.load(chat.key)
    assert saved is not None and (saved.flow, saved.state, saved.failures) == (
        "handoff",
        "waiting",
        0,
    )


async def test_in_handoff_the_bot_is_quiet_until_menu(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    chat = Chat(engine, channel)
    await chat.says("quero falar com um atendente")
    assert "Uma pessoa da nossa equipe" in chat.text
    assert await chat.says("alô? quero contratar") == []
    lines = [e.text for e in await store.transcript(chat.key)]
    assert lines[-1] == "alô? quero contratar"  # kept for the agent, unanswered
    await chat.says("menu")
    assert [b.payload for b in chat.options] == [
        "intent:sales",
        "intent:outage",
        "intent:cancel",
        "intent:handoff",
    ]


async def test_database_down_still_answers_honestly(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    chat = Chat(engine, channel)
    await chat.says("oi")
    await store.close()
    await chat.says("oi de novo")
    assert "algo deu errado" in chat.text


async def test_an_unknown_channel_is_a_wiring_error(engine: Engine) -> None:
    with pytest.raises(ChannelError, match=r"bot\.compose"):
        await engine.handle(Inbound(channel="fax", contact="1", text="oi"))


async def test_a_saved_state_the_flow_no_longer_has_restarts_it(
    engine: Engine, channel: RecordingChannel, store: Store
) -> None:
    stale = Conversation.new("test", "5548999990009")
    stale.flow, stale.state = "menu", "a_state_removed_since"
    await store.commit_turn(stale, [])
    chat = Chat(engine, channel, contact="5548999990009")
    await chat.says("qualquer coisa")
    assert [b.payload for b in chat.options] == [
        "intent:sales",
        "intent:outage",
        "intent:cancel",
        "intent:handoff",
    ]


async def test_flow_tables_are_checked_at_start_up(
    tmp_path: Path, store: Store, catalogs: Catalogs, channel: RecordingChannel
) -> None:
    from bot.engine.machine import FlowDefinitionError

    broken = FlowSpec(
        name="broken",
        summary="names a state it lacks",
        states=P,
        initial=P.START,
        transitions=[["start", P.START, "nowhere"]],
    )
    with pytest.raises(FlowDefinitionError, match="nowhere"):
        async with compose(
            offline_settings(tmp_path),
            channels={"test": channel},
            store=store,
            catalogs=catalogs,
            flows=[menu.FLOW, handoff.FLOW, sales.FLOW, broken],
            intents=INTENTS[:0],
            background=False,
        ):
            pass
