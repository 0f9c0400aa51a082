"""What a committed turn does after its commit (the erasure, the agents' queue, the handoff's
release, the order of replies) survives a death or a lost lease in between: the message found
committed when it comes back redoes it from what was saved (bot/engine/turns.py). Written by
helper review-store as demonstrations of the holes (each failed on main); on real stores.

The death is a ``BaseException`` raised where the process would be killed (as in
tests/engine/test_outbox.py): nothing after it in the turn runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bot.errors import ChannelError
from bot.i18n import Catalogs
from bot.messages import Reply
from bot.storage.base import Store
from tests.engine.support import Chat, RecordingChannel
from tests.engine.test_outbox import bot
from tests.engine.test_timers import MONDAY_NOON, bot_on
from tests.support.clock import ManualDateClock


class Killed(BaseException):
    """The process died here."""


async def test_an_erasure_whose_process_died_after_its_commit_still_happens(
    tmp_path: Path, store: Store, catalogs: Catalogs, monkeypatch: object
) -> None:
    """The customer confirms "apagar meus dados"; the turn commits (its message id recorded),
    and the process dies before the store's ``forget`` ran. The message comes back (the inbox
    gives it to the next process, or the messenger re-delivers it): found committed, it is
    skipped, so the erasure never happens and the customer is never told. Expected: the
    conversation is erased once the message comes back (or the erasure is durable before the
    commit that records the message id)."""
    channel = RecordingChannel()
    forget = store.forget

    async def dies(key: str) -> None:
        raise Killed

    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel, store=store)
        await chat.says("oi")
        await chat.says("quero apagar meus dados")
        assert "Posso apagar tudo o que guardei" in chat.last_reply.text
        confirm = chat.inbound(text=str(chat.option("yes")))
        store.forget = dies  # type: ignore[method-assign]
        try:
            await runtime.engine.handle(confirm)
        except Killed:
            pass
        finally:
            store.forget = forget  # type: ignore[method-assign]
        assert await store.seen(confirm.provider_id or "")  # the erase turn was committed

    async with bot(tmp_path, store, catalogs, channel) as runtime:  # the next process
        before = len(channel.replies_to(chat.contact))
        await runtime.engine.handle(confirm)  # the same message, given back
        told = channel.replies_to(chat.contact)[before:]
        left = await store.load(chat.key)
        lines = await store.transcript(chat.key)
    print(
        f"\nreview[erasure after a death]: conversation left: {left is not None}, "
        f"{len(lines)} transcript lines left, {len(told)} replies on the message's return"
    )
    assert left is None, "the customer confirmed the erasure; their conversation is still kept"
    assert lines == []


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


async def test_a_refused_reply_holds_back_the_next_turns_replies(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """bot/engine/outbox.py: "A conversation's rows go in order: one that failed holds the
    later ones back until it is sent or given up." The messenger refuses the greeting once
    (it waits in the outbox for a sweep); the customer's next message is answered at once,
    its reply sent before the greeting it follows. Expected: the customer reads the greeting
    first (the next turn sends what waits before its own, or leaves its own to the sweep)."""
    channel = RefusingChannel(refusals=1)
    async with bot(tmp_path, store, catalogs, channel) as runtime:
        outbox = runtime.engine.outbox
        chat = Chat(runtime.engine, channel)
        await chat.says("oi")
        assert channel.sent == []  # refused: kept for a sweep
        await chat.says("1")  # the next message
        async with store.lock(chat.key):  # the sweep, once the greeting is due
            await outbox.flush(chat.key)
        got = [replies[0].text for _, replies in channel.sent]
    print(f"\nreview[order after a refusal]: first reply the customer read: {got[0][:40]!r}")
    assert len(got) == 2
    assert "Olá" in got[0], f"the answer to the second message came first: {got}"


async def test_a_handoff_given_back_by_a_timer_that_died_midway_is_given_back_when_it_fires_again(
    store: Store, tmp_path: Path, catalogs: Catalogs
) -> None:
    """A handoff nobody claimed goes back to the bot by its timer in two writes, each fenced
    but not one transaction: the ticket is closed (``close_handoff``, committed on its own),
    then the conversation moved back to the menu (``commit_turn``). A process that dies (or is
    stopped past its lease, its commit then refused) between them leaves the ticket closed and
    the conversation waiting in the handoff flow; the timer, still claimed, fires again after
    its claim ran out, finds no ticket to close, takes that for "an agent took it just now",
    and is finished: the customer waits for an agent with no ticket any agent sees, and no
    timer left to give them back. Expected: given back to the bot when the timer fires again."""
    clock = ManualDateClock(MONDAY_NOON)
    async with bot_on(store, tmp_path, catalogs, clock) as bot:
        await bot.chat.says("atendente")
        commit = store.commit_turn

        async def dies(*args: object, **kwargs: object) -> bool:
            raise Killed

        clock.advance(minutes=31)
        store.commit_turn = dies  # type: ignore[method-assign]
        try:
            await bot.runner.run_once()
        except Killed:
            pass
        finally:
            store.commit_turn = commit  # type: ignore[method-assign]
        assert await store.open_handoff(bot.chat.key) is None  # closed before the death
        clock.advance(minutes=30)  # the timer's claim has run out: it fires again
        await bot.runner.run_once()
        saved = await bot.chat.saved()
        ticket = await store.open_handoff(bot.chat.key)
        timers = await bot.kinds()
    print(
        f"\nreview[handoff release died midway]: flow {saved.flow!r}, open ticket: "
        f"{ticket is not None}, timers left: {timers}"
    )
    assert saved.flow != "handoff" or ticket is not None or timers, "stranded"


async def test_a_handoff_whose_process_died_after_its_commit_is_queued_when_it_comes_back(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """The turn that hands the customer to a person commits (conversation in the handoff flow,
    its "a person will answer" reply kept), then queues the ticket and plans the release timer
    in writes of their own (``_after_turn``). A death between them: the message comes back,
    is found committed, its kept reply is sent ("you are in the queue"), and nothing queues
    it: no ticket for any agent, no timer to give it back. Expected: a ticket once the message
    has come back."""
    channel = RecordingChannel()
    enqueue = store.enqueue_handoff

    async def dies(*args: object, **kwargs: object) -> object:
        raise Killed

    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel, store=store)
        await chat.says("oi")
        asks = chat.inbound(text="quero falar com um atendente")
        store.enqueue_handoff = dies  # type: ignore[method-assign,assignment]
        try:
            await runtime.engine.handle(asks)
        except Killed:
            pass
        finally:
            store.enqueue_handoff = enqueue  # type: ignore[method-assign]

    async with bot(tmp_path, store, catalogs, channel) as runtime:  # the next process
        await runtime.engine.handle(asks)  # given back by the inbox
        saved = await store.load(chat.key)
        ticket = await store.open_handoff(chat.key)
    told = channel.replies_to(chat.contact)[-1].text
    assert saved is not None
    print(
        f"\nreview[handoff after a death]: flow {saved.flow!r}, ticket: {ticket is not None}, "
        f"told: {told[:50]!r}"
    )
    assert saved.flow != "handoff" or ticket is not None, "told it is queued; no ticket exists"


async def test_a_handoff_whose_holder_lost_its_lease_after_its_commit_is_queued(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """The same with a stop instead of a death, and b476d9b's fence: process A commits the
    handoff turn and is stopped past its lease before queueing the ticket; process B takes
    the conversation over and runs the message the inbox gives it, found committed (its part
    was to send the kept reply). A goes on: its ``enqueue_handoff`` is refused (LeaseLost,
    logged as "could not update the queue"). Expected: a ticket, B's."""
    from tests.engine.test_lost_lease import other_process, run_out

    channel = RecordingChannel()
    enqueue = store.enqueue_handoff

    async def stopped_then_goes_on(*args: object, **kwargs: object) -> object:
        key = str(args[0])
        run_out(store, key)  # A was stopped: its lease ran out
        other = other_process(store)  # B takes the conversation over: the inbox gives it
        await other.open()  # A's message, which it finds committed
        try:
            async with bot(tmp_path / "b", other, catalogs, channel) as b:
                assert await other.seen(asks.provider_id or "")
                await b.engine.handle(asks)
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


@asynccontextmanager
async def stopped_once_before_queueing(
    store: Store, takes_over: Callable[[Store, str], Awaitable[None]]
) -> AsyncIterator[None]:
    """Process A (``store``) is stopped past its lease once, right before it queues a handoff:
    ``takes_over`` is what process B (a second store on the database) does meanwhile with the
    conversation; then A goes on. Its message run again queues unhindered."""
    from tests.engine.test_lost_lease import other_process, run_out

    enqueue = store.enqueue_handoff
    stops: list[str] = []

    async def stopped_then_goes_on(*args: object, **kwargs: object) -> object:
        key = str(args[0])
        if not stops:
            stops.append(key)
            run_out(store, key)  # A was stopped: its lease ran out
            other = other_process(store)
            await other.open()
            try:
                await takes_over(other, key)
            finally:
                await other.close()
        return await enqueue(*args, **kwargs)  # type: ignore[arg-type]

    store.enqueue_handoff = stopped_then_goes_on  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        store.enqueue_handoff = enqueue  # type: ignore[method-assign]


async def test_a_handoff_whose_holder_lost_its_lease_to_one_that_only_looked_is_queued(
    tmp_path: Path, store: Store, catalogs: Catalogs
) -> None:
    """As above, but B only takes the lock and finds the message committed (it does not run
    it). A goes on: its ``enqueue_handoff`` is refused (LeaseLost). Logged and swallowed, as it
    was, nobody queued the customer; raised, A runs the message again, finds it committed and
    queues it. Expected: a ticket."""
    channel = RecordingChannel()

    async def looks(other: Store, key: str) -> None:
        async with other.lock(key, timeout=5):
            assert await other.seen(asks.provider_id or "")

    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel, store=store)
        await chat.says("oi")
        asks = chat.inbound(text="quero falar com um atendente")
        async with stopped_once_before_queueing(store, looks):
            await runtime.engine.handle(asks)
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
    clears its row and lets go. A goes on: its enqueue is refused (LeaseLost), and its
    dispatcher then finished the inbox entry (still claimed by A: B's inbox sweep had not
    claimed it yet), so no `seen` reconcile ever happened: handoff flow, no ticket, no entry.
    Expected: a ticket, or the entry left for whoever claims it."""
    channel = RecordingChannel()

    async def sweeps(other: Store, key: str) -> None:
        async with other.lock(key, timeout=5):
            for row in await other.outbox_pending(key):
                await other.outbox_sent(row.token)

    async with bot(tmp_path, store, catalogs, channel) as runtime:
        chat = Chat(runtime.engine, channel, store=store)
        await chat.says("oi")
        asks = chat.inbound(text="quero falar com um atendente")
        async with stopped_once_before_queueing(store, sweeps):
            assert await runtime.dispatcher.submit(asks)
            await runtime.dispatcher.join()
        saved = await store.load(chat.key)
        ticket = await store.open_handoff(chat.key)
        left = await store.inbox_pending()
    assert saved is not None
    print(
        f"\nreview[handoff, lease lost to a sweep]: flow {saved.flow!r}, ticket: "
        f"{ticket is not None}, inbox entries left: {left}"
    )
    assert saved.flow != "handoff" or ticket is not None or left, "stranded for good"
