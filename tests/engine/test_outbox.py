"""Replies durable with their turn, on real stores: a process that dies between a turn's commit
and its send leaves the replies in the outbox, and whoever recovers sends them, once.

The death is a ``BaseException`` raised by the channel at the moment of sending: nothing after
it in the turn runs (no send, no clearing), as when the process is killed there. The real kill
of a real server is tests/faults/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.compose import Runtime, compose
from bot.engine.outbox import backoff
from bot.errors import ChannelError
from bot.i18n import Catalogs
from bot.messages import Reply
from bot.storage.base import Store
from tests.engine.support import Chat, RecordingChannel
from tests.support.settings import offline_settings


class Killed(BaseException):
    """The process died here."""


class DyingChannel(RecordingChannel):
    """Records what it sends; dies instead of sending while ``dying``."""

    def __init__(self) -> None:
        super().__init__()
        self.dying = False

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        if self.dying:
            raise Killed
        await super().send(contact, replies)


@asynccontextmanager
async def bot(
    tmp_path: Path, store: Store, catalogs: Catalogs, channel: RecordingChannel
) -> AsyncIterator[Runtime]:
    async with compose(
        offline_settings(tmp_path, nudge_minutes=0, expire_minutes=0, handoff_timeout_minutes=0),
        channels={"test": channel},
        store=store,
        catalogs=catalogs,
        background=False,
    ) as runtime:
        yield runtime


async def test_a_message_whose_turn_died_before_sending_is_answered_when_it_comes_back(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """The inbox gives the message back (a recovered entry, or a re-delivered webhook): its
    turn was committed, so it does not run again, and what it left unsent is sent."""
    channel = DyingChannel()
    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel)
        message = chat.inbound(text="oi")
        channel.dying = True
        with pytest.raises(Killed):
            await runtime.engine.handle(message)
        assert channel.sent == []
        assert await store.outbox_backlog() == 1

    channel.dying = False
    async with bot(tmp_path, store, catalogs, channel) as runtime:  # the next process
        await runtime.engine.handle(message)
        assert len(channel.sent) == 1
        assert "Olá" in channel.sent[0][1][0].text
        assert await store.outbox_backlog() == 0
        await runtime.engine.handle(message)  # once more: nothing left, nothing sent
        assert len(channel.sent) == 1
        transcript = await store.transcript(chat.key)
        assert [e.role for e in transcript].count("customer") == 1  # the turn ran once


async def test_replies_a_dead_process_left_are_sent_by_the_sweep(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    channel = DyingChannel()
    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel)
        await chat.says("oi")
        channel.dying = True
        with pytest.raises(Killed):
            await chat.says("quero contratar")
        first = runtime.engine.outbox
    channel.dying = False
    await first.stop()  # (compose already stopped it: its holder is gone)

    async with bot(tmp_path, store, catalogs, channel) as runtime:
        assert await runtime.engine.outbox.recover() == 1
        assert len(channel.sent) == 2  # the greeting, then the turn the first process left
        transcript = await store.transcript(chat.key)
        assert transcript[-1].role == "bot"
        assert transcript[-1].text.startswith(channel.sent[1][1][-1].text)
        assert await store.outbox_backlog() == 0
        assert await runtime.engine.outbox.recover() == 0


async def test_a_live_processes_rows_are_left_alone_until_their_lease_runs_out(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    channel = DyingChannel()
    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel)
        channel.dying = True
        with pytest.raises(Killed):
            await chat.says("oi")
        channel.dying = False
        # its owner still counts as alive (same process, not stopped), its lease is fresh
        assert await runtime.engine.outbox.recover() == 0
        assert await store.outbox_backlog() == 1


async def test_a_dispatched_turn_clears_its_sent_row_with_its_inbox_entry(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """Through the dispatcher the turn leaves its sent row for the inbox entry's removal (one
    statement); both are gone once the turn is done, and the reply went out once."""
    channel = RecordingChannel()
    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel)
        assert await runtime.dispatcher.submit(chat.inbound(text="oi")) is True
        await runtime.dispatcher.join()
        assert len(channel.sent) == 1
        assert await store.outbox_backlog() == 0
        assert await store.inbox_pending() == 0
        # the engine called directly still clears its own row
        await runtime.engine.handle(chat.inbound(text="menu"))
        assert len(channel.sent) == 2 and await store.outbox_backlog() == 0


class RefusingChannel(RecordingChannel):
    """Records what it sends; the messenger refuses the next ``refusals`` sends."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise ChannelError("Telegram answered 502 Bad Gateway")
        await super().send(contact, replies)


async def test_replies_the_messenger_refused_are_tried_again_then_given_up(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    channel = RefusingChannel(refusals=1)
    async with bot(tmp_path, store, catalogs, channel) as runtime:
        outbox = runtime.engine.outbox
        chat = Chat(runtime.engine, channel)
        await chat.says("oi")
        assert channel.sent == []
        [row] = await store.outbox_pending(chat.key)
        assert row.attempts == 1
        assert await outbox.recover() == 0  # not due yet: a sweep tries it in backoff(0) s
        async with store.lock(chat.key):  # (what the sweep does then)
            assert await outbox.flush(chat.key) == 1
        assert len(channel.sent) == 1 and "Olá" in channel.sent[0][1][0].text
        assert await store.outbox_backlog() == 0

        channel.refusals = 10  # refused for good (the customer blocked the bot)
        await chat.says("oi de novo")
        for _ in range(4):
            async with store.lock(chat.key):
                await outbox.flush(chat.key)
        assert await store.outbox_backlog() == 0  # given up after 5 attempts
        assert len(channel.sent) == 1
    assert [backoff(n) for n in range(5)] == [10, 30, 90, 270, 600]
