"""The dispatcher: per-conversation order, bounded concurrency, de-duplication, drain."""

from __future__ import annotations

import asyncio

import pytest

from bot.messages import Inbound
from bot.web.dispatch import Closing, Dispatcher
from bot.web.metrics import Metrics


def msg(contact: str, text: str, pid: str | None = None) -> Inbound:
    return Inbound(channel="telegram", contact=contact, text=text, provider_id=pid)


async def test_messages_of_one_conversation_run_in_order_one_at_a_time() -> None:
    log: list[str] = []
    running = 0

    async def handle(inbound: Inbound) -> None:
        nonlocal running
        running += 1
        assert running == 1
        await asyncio.sleep(0.01 if inbound.text == "1" else 0)  # the first is the slowest
        log.append(inbound.text or "")
        running -= 1

    dispatcher = Dispatcher(handle, concurrency=8)
    for text in ("1", "2", "3"):
        dispatcher.submit(msg("42", text))
    await dispatcher.join()
    assert log == ["1", "2", "3"]


async def test_conversations_run_concurrently_up_to_the_limit() -> None:
    gate = asyncio.Event()
    started: list[str] = []

    async def handle(inbound: Inbound) -> None:
        started.append(inbound.contact)
        await gate.wait()

    metrics = Metrics()
    dispatcher = Dispatcher(handle, concurrency=3, metrics=metrics)
    for contact in "abcde":
        dispatcher.submit(msg(contact, "oi"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(started) == 3
    assert metrics.in_flight._value.get() == 3
    assert dispatcher.pending == 5
    gate.set()
    await dispatcher.join()
    assert sorted(started) == list("abcde")
    assert dispatcher.pending == 0


async def test_a_provider_id_is_dispatched_once() -> None:
    seen: list[str] = []

    async def handle(inbound: Inbound) -> None:
        seen.append(inbound.provider_id or "")

    dispatcher = Dispatcher(handle, seen_window=2)
    assert dispatcher.submit(msg("1", "a", "p1")) is True
    assert dispatcher.submit(msg("1", "a", "p1")) is False
    assert dispatcher.submit(msg("2", "b", "p2")) is True
    assert dispatcher.submit(msg("3", "c", "p3")) is True  # p1 leaves the window
    await dispatcher.join()
    assert seen == ["p1", "p2", "p3"]
    assert dispatcher.submit(msg("1", "a", "p1")) is True  # the store's check covers this case


async def test_a_failing_turn_does_not_stop_the_queue() -> None:
    done: list[str] = []

    async def handle(inbound: Inbound) -> None:
        if inbound.text == "boom":
            raise RuntimeError("bug")
        done.append(inbound.text or "")

    metrics = Metrics()
    dispatcher = Dispatcher(handle, metrics=metrics)
    dispatcher.submit(msg("1", "boom"))
    dispatcher.submit(msg("1", "depois"))
    await dispatcher.join()
    assert done == ["depois"]
    assert metrics.turns.labels("telegram", "error")._value.get() == 1
    assert metrics.turns.labels("telegram", "ok")._value.get() == 1


async def test_close_finishes_running_and_queued_turns_then_refuses() -> None:
    done: list[str] = []

    async def handle(inbound: Inbound) -> None:
        await asyncio.sleep(0.01)
        done.append(inbound.text or "")

    dispatcher = Dispatcher(handle, concurrency=1)
    for text in ("a", "b", "c"):
        dispatcher.submit(msg(text, text))
    await dispatcher.close(grace=10)
    assert sorted(done) == ["a", "b", "c"]
    with pytest.raises(Closing):
        dispatcher.submit(msg("d", "d"))


async def test_close_cancels_what_outlasts_the_grace_period() -> None:
    cancelled = asyncio.Event()

    async def handle(inbound: Inbound) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    dispatcher = Dispatcher(handle)
    dispatcher.submit(msg("1", "forever"))
    await asyncio.sleep(0)
    await dispatcher.close(grace=0.05)
    assert cancelled.is_set()


async def test_side_jobs_are_awaited_and_their_failures_contained() -> None:
    ran: list[str] = []

    async def ok() -> None:
        ran.append("ok")

    async def bad() -> None:
        raise RuntimeError("nope")

    dispatcher = Dispatcher(lambda inbound: asyncio.sleep(0))
    dispatcher.spawn(ok(), "ok")
    dispatcher.spawn(bad(), "bad")
    await dispatcher.join()
    assert ran == ["ok"]
