"""A customer writing faster than the bot answers, on real stores through the real dispatcher:
the messages queued behind a running turn run under the lock it took, handed on, each from
the conversation the previous one committed (not loaded again), and say what they would have
said one at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.compose import compose
from bot.i18n import Catalogs
from bot.messages import Reply
from bot.storage.base import Store
from tests.engine.support import Chat, RecordingChannel
from tests.support.settings import offline_settings

MESSAGES = ("oi boa tarde", "quero contratar internet", "qto custa o plano de 500?")


class GatedChannel(RecordingChannel):
    """Records what it sends; the first send waits for ``gate`` (a slow messenger), so the
    customer's next messages queue up behind that turn."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        await self.gate.wait()
        await super().send(contact, replies)


async def test_queued_messages_run_from_what_the_turn_before_committed(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    loads = 0
    seen_and_load = store.seen_and_load

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal loads
        loads += 1
        return await seen_and_load(*args, **kwargs)

    store.seen_and_load = counted  # type: ignore[method-assign]
    channel = GatedChannel()
    settings = offline_settings(
        tmp_path, nudge_minutes=0, expire_minutes=0, handoff_timeout_minutes=0
    )
    async with compose(
        settings, channels={"test": channel}, store=store, catalogs=catalogs, background=False
    ) as runtime:
        dispatcher = runtime.dispatcher
        # one at a time: each message's turn is over before the next comes
        alone = Chat(runtime.engine, channel, contact="5548999990001")
        channel.gate.set()
        for text in MESSAGES:
            assert await dispatcher.submit(alone.inbound(text=text))
            await asyncio.wait_for(dispatcher.join(), 10)
        assert loads == 0  # each read with its lock, by the statement that stored it

        # all at once, while the first turn waits for the messenger
        hurried = Chat(runtime.engine, channel, contact="5548999990002")
        channel.gate.clear()
        for text in MESSAGES:
            assert await dispatcher.submit(hurried.inbound(text=text))
        await asyncio.sleep(0.05)
        channel.gate.set()
        await asyncio.wait_for(dispatcher.join(), 10)
        assert loads == 0  # the two queued turns started from what the one before committed

        said = [reply.text for reply in channel.replies_to(alone.contact)]
        assert len(said) >= len(MESSAGES)
        assert [reply.text for reply in channel.replies_to(hurried.contact)] == said
        first, second = await store.load(alone.key), await store.load(hurried.key)
        assert first is not None and second is not None
        assert (second.flow, second.state, second.context) == (
            first.flow,
            first.state,
            first.context,
        )
        assert await store.inbox_pending() == 0
        async with store.lock(hurried.key, timeout=1):  # given back with the last
            pass
