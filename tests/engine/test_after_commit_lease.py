"""A holder stopped past its lease between a handoff turn's commit and its queueing (another
process took the conversation over, by running the message or by its outbox sweep): the
refused queueing runs the message again, which finds it committed and queues the customer
(bot.engine.turns: _after_turn lets LeaseLost through, _reconcile). Real SQLite and
PostgreSQL; the second process is a second store on the same database. Found by helper
review-store; before the fix the customer stayed in the handoff flow with no ticket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.compose import Runtime, compose
from bot.i18n import Catalogs
from bot.storage.base import Store
from tests.engine.support import Chat, RecordingChannel
from tests.support.settings import offline_settings


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


async def test_a_handoff_whose_holder_lost_its_lease_after_its_commit_is_queued(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """The same with a stop instead of a death, and b476d9b's fence: process A commits the
    handoff turn and is stopped past its lease before queueing the ticket; process B takes
    the conversation over (it finds the message committed: its part is to send the kept
    reply). A goes on: its ``enqueue_handoff`` is now refused (LeaseLost, logged as "could not
    update the queue"), and nobody queues the customer. Before the fence A's late write made
    the ticket. Expected: a ticket."""
    from tests.engine.test_lost_lease import other_process, run_out

    channel = RecordingChannel()
    enqueue = store.enqueue_handoff

    stops: list[str] = []

    async def stopped_then_goes_on(*args: object, **kwargs: object) -> object:
        key = str(args[0])
        if stops:  # a process stops once: its message run again queues unhindered
            return await enqueue(*args, **kwargs)  # type: ignore[arg-type]
        stops.append(key)
        run_out(store, key)  # A was stopped: its lease ran out
        other = other_process(store)  # B takes the conversation over, finds it committed
        await other.open()
        try:
            async with other.lock(key, timeout=5):
                assert await other.seen(asks.provider_id or "")
        finally:
            await other.close()
        return await enqueue(*args, **kwargs)  # type: ignore[arg-type]

    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel, store=store)
        await chat.says("oi")
        asks = chat.inbound(text="quero falar com um atendente")
        store.enqueue_handoff = stopped_then_goes_on  # type: ignore[method-assign,assignment]
        try:
            await runtime.engine.handle(asks)
        finally:
            store.enqueue_handoff = enqueue  # type: ignore[method-assign]
        saved = await store.load(chat.key)
        ticket = await store.open_handoff(chat.key)
        timers = await store.pending_timers(chat.key)
    assert saved is not None
    print(
        f"\nreview[handoff after a lost lease]: flow {saved.flow!r}, ticket: "
        f"{ticket is not None}, timers: {[t.kind for t in timers]}"
    )
    assert saved.flow != "handoff" or ticket is not None, "in the handoff flow; no ticket exists"


async def test_a_dispatched_handoff_whose_holder_lost_its_lease_to_a_sweep_is_queued(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """As above, through the dispatcher, with the way B takes over that does not run the
    message: B's outbox sweep (A's kept reply is overdue) takes the lock, sends the reply,
    clears its row and lets go. A goes on: its enqueue is refused (LeaseLost, logged), and
    its dispatcher then finishes the inbox entry (still claimed by A: B's inbox sweep had not
    claimed it yet). Nothing is left for anyone to run, so no `seen` reconcile ever happens:
    handoff flow, no ticket, no entry. Expected: a ticket, or the entry left for whoever
    claims it."""
    from tests.engine.test_lost_lease import other_process, run_out

    channel = RecordingChannel()
    enqueue = store.enqueue_handoff

    stops: list[str] = []

    async def swept_then_goes_on(*args: object, **kwargs: object) -> object:
        key = str(args[0])
        if stops:  # a process stops once: its message run again queues unhindered
            return await enqueue(*args, **kwargs)  # type: ignore[arg-type]
        stops.append(key)
        run_out(store, key)  # A was stopped: its lease ran out
        other = other_process(store)  # B's outbox sweep: lock, send the row, clear it
        await other.open()
        try:
            async with other.lock(key, timeout=5):
                for row in await other.outbox_pending(key):
                    await other.outbox_sent(row.token)
        finally:
            await other.close()
        return await enqueue(*args, **kwargs)  # type: ignore[arg-type]

    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel, store=store)
        await chat.says("oi")
        asks = chat.inbound(text="quero falar com um atendente")
        store.enqueue_handoff = swept_then_goes_on  # type: ignore[method-assign,assignment]
        try:
            assert await runtime.dispatcher.submit(asks)
            await runtime.dispatcher.join()
        finally:
            store.enqueue_handoff = enqueue  # type: ignore[method-assign]
        saved = await store.load(chat.key)
        ticket = await store.open_handoff(chat.key)
        left = await store.inbox_pending()
    assert saved is not None
    print(
        f"\nreview[handoff, lease lost to a sweep]: flow {saved.flow!r}, ticket: "
        f"{ticket is not None}, inbox entries left: {left}"
    )
    assert saved.flow != "handoff" or ticket is not None or left, "stranded for good"
