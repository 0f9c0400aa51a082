"""The dispatcher on a real SQLite inbox: per-conversation order, bounded concurrency,
de-duplication, drain, and messages that outlive the process that accepted them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.compose import compose
from bot.engine.dispatch import Closing, Dispatcher, orphans, this_host
from bot.errors import LockTimeout, StorageError
from bot.i18n import Catalogs
from bot.messages import Inbound
from bot.metrics import Metrics
from bot.storage.locks import Held
from bot.storage.sqlite import SqliteStore
from tests.engine.support import RecordingChannel
from tests.support.clock import ManualClock
from tests.support.settings import offline_settings

LEASE = 30.0


def msg(contact: str, text: str, pid: str | None = None) -> Inbound:
    return Inbound(channel="telegram", contact=contact, text=text, provider_id=pid)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "ozbot.db", clock=clock)
    await opened.open()
    yield opened
    await opened.close()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


# --- running turns ---------------------------------------------------------------------------


async def test_messages_of_one_conversation_run_in_order_one_at_a_time(
    store: SqliteStore,
) -> None:
    log: list[str] = []
    running = 0

    async def handle(inbound: Inbound) -> None:
        nonlocal running
        running += 1
        assert running == 1
        await asyncio.sleep(0.01 if inbound.text == "1" else 0)  # the first is the slowest
        log.append(inbound.text or "")
        running -= 1

    dispatcher = Dispatcher(handle, store, concurrency=8)
    for text in ("1", "2", "3"):
        assert await dispatcher.submit(msg("42", text, f"tg:{text}"))
    await dispatcher.join()
    assert log == ["1", "2", "3"]


async def test_conversations_run_concurrently_up_to_the_limit(store: SqliteStore) -> None:
    gate = asyncio.Event()
    started: list[str] = []

    async def handle(inbound: Inbound) -> None:
        started.append(inbound.contact)
        await gate.wait()

    metrics = Metrics()
    dispatcher = Dispatcher(handle, store, concurrency=3, metrics=metrics)
    for contact in "abcde":
        await dispatcher.submit(msg(contact, "oi", f"tg:{contact}"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(started) == 3
    assert metrics.in_flight._value.get() == 3
    assert dispatcher.pending == 5
    gate.set()
    await dispatcher.join()
    assert sorted(started) == list("abcde")
    assert dispatcher.pending == 0


async def test_a_message_stays_in_the_inbox_until_its_turn_is_done(store: SqliteStore) -> None:
    gate = asyncio.Event()

    async def handle(inbound: Inbound) -> None:
        await gate.wait()

    dispatcher = Dispatcher(handle, store)
    assert await dispatcher.submit(msg("1", "oi", "tg:1"))
    assert await store.inbox_pending() == 1  # kept before submit returned (the 200)
    gate.set()
    await dispatcher.join()
    assert await store.inbox_pending() == 0


async def test_a_provider_id_is_dispatched_once(store: SqliteStore) -> None:
    seen: list[str] = []

    async def handle(inbound: Inbound) -> None:
        seen.append(inbound.provider_id or "")

    dispatcher = Dispatcher(handle, store, seen_window=2)
    assert await dispatcher.submit(msg("1", "a", "p1")) is True
    assert await dispatcher.submit(msg("1", "a", "p1")) is False  # the window
    assert await dispatcher.submit(msg("2", "b", "p2")) is True
    assert await dispatcher.submit(msg("3", "c", "p3")) is True  # p1 leaves the window
    # another process (its own window) gets p3 while it is still in the inbox
    other = Dispatcher(handle, store)
    assert await other.submit(msg("3", "c", "p3")) is False
    await dispatcher.join()
    assert seen == ["p1", "p2", "p3"]
    assert await store.inbox_pending() == 0


async def test_a_failing_turn_does_not_stop_the_queue(store: SqliteStore) -> None:
    done: list[str] = []

    async def handle(inbound: Inbound) -> None:
        if inbound.text == "boom":
            raise RuntimeError("bug")
        done.append(inbound.text or "")

    metrics = Metrics()
    dispatcher = Dispatcher(handle, store, metrics=metrics)
    await dispatcher.submit(msg("1", "boom", "tg:1"))
    await dispatcher.submit(msg("1", "depois", "tg:2"))
    await dispatcher.join()
    assert done == ["depois"]
    assert metrics.turns.labels("telegram", "error")._value.get() == 1
    assert metrics.turns.labels("telegram", "ok")._value.get() == 1
    assert await store.inbox_pending() == 0  # a failed turn is not retried for ever


async def test_close_finishes_running_and_queued_turns_then_refuses(store: SqliteStore) -> None:
    done: list[str] = []

    async def handle(inbound: Inbound) -> None:
        await asyncio.sleep(0.01)
        done.append(inbound.text or "")

    dispatcher = Dispatcher(handle, store, concurrency=1)
    for text in ("a", "b", "c"):
        await dispatcher.submit(msg(text, text, f"tg:{text}"))
    await dispatcher.close(grace=10)
    assert sorted(done) == ["a", "b", "c"]
    with pytest.raises(Closing):
        await dispatcher.submit(msg("d", "d", "tg:d"))
    assert await store.inbox_pending() == 0


async def test_side_jobs_are_awaited_and_their_failures_contained(store: SqliteStore) -> None:
    ran: list[str] = []

    async def ok() -> None:
        ran.append("ok")

    async def bad() -> None:
        raise RuntimeError("nope")

    dispatcher = Dispatcher(lambda inbound: asyncio.sleep(0), store)
    dispatcher.spawn(ok(), "ok")
    dispatcher.spawn(bad(), "bad")
    await dispatcher.join()
    assert ran == ["ok"]


# --- the inbox refusing ----------------------------------------------------------------------


async def test_a_message_the_inbox_cannot_keep_is_refused_and_taken_when_sent_again(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    async def handle(inbound: Inbound) -> None:
        seen.append(inbound.text or "")

    store = SqliteStore(tmp_path / "ozbot.db")
    await store.open()
    dispatcher = Dispatcher(handle, store)
    await store.close()  # the database went away
    with pytest.raises(StorageError):
        await dispatcher.submit(msg("1", "oi", "tg:1"))
    assert dispatcher.pending == 0
    await store.open()
    try:
        # the messenger re-sends it (it got a 503): not taken for a duplicate
        assert await dispatcher.submit(msg("1", "oi", "tg:1")) is True
        await dispatcher.close()
    finally:
        await store.close()
    assert seen == ["oi"]


# --- what a stopped process left -------------------------------------------------------------


async def test_turns_cut_short_at_shutdown_run_in_the_next_process_in_order(
    store: SqliteStore,
) -> None:
    first_ran: list[str] = []

    async def stuck(inbound: Inbound) -> None:
        first_ran.append(inbound.text or "")
        await asyncio.Event().wait()  # outlasts the grace period

    before = Dispatcher(stuck, store)
    for n in (1, 2, 3):
        await before.submit(msg("1", f"m{n}", f"tg:{n}"))
    await before.submit(msg("2", "other", "tg:4"))
    await asyncio.sleep(0)
    await before.close(grace=0.01)  # cancels the turns: not done, given back
    assert await store.inbox_pending() == 4

    answered: list[str] = []

    async def handle(inbound: Inbound) -> None:
        answered.append(inbound.text or "")

    after = Dispatcher(handle, store)
    assert await after.start() == 4
    await after.join()
    await after.close()
    assert [t for t in answered if t != "other"] == ["m1", "m2", "m3"]
    assert sorted(answered) == ["m1", "m2", "m3", "other"]
    assert await store.inbox_pending() == 0
    assert set(first_ran) <= {"m1", "other"}  # the others never started before


async def test_what_a_process_elsewhere_left_runs_once_its_lease_runs_out(
    store: SqliteStore, clock: ManualClock
) -> None:
    gone = "other-host:4242:abcdef"
    for n in (1, 2, 3):
        await store.inbox_put(msg("1", f"m{n}", f"tg:{n}"), gone, LEASE)
    answered: list[str] = []
    all_in = asyncio.Event()

    async def handle(inbound: Inbound) -> None:
        answered.append(inbound.text or "")
        if len(answered) == 3:
            all_in.set()

    dispatcher = Dispatcher(handle, store, lease=LEASE, sweep_every=0.01)
    assert await dispatcher.start() == 0  # its lease still runs: it may be alive
    for _ in range(5):
        await asyncio.sleep(0.02)
    assert answered == []
    clock.advance(LEASE + 1)
    await asyncio.wait_for(all_in.wait(), 10)  # the periodic sweep finds them
    await dispatcher.close()
    assert answered == ["m1", "m2", "m3"]
    assert await store.inbox_pending() == 0


async def test_what_a_dead_process_on_this_host_left_runs_at_start_up(
    store: SqliteStore,
) -> None:
    gone = f"{this_host()}:{dead_pid()}:abcdef"
    await store.inbox_put(msg("1", "oi", "tg:1"), gone, LEASE)
    answered: list[str] = []

    async def handle(inbound: Inbound) -> None:
        answered.append(inbound.text or "")

    dispatcher = Dispatcher(handle, store)
    assert await dispatcher.start() == 1  # no waiting for the lease: that process is gone
    await dispatcher.join()
    await dispatcher.close()
    assert answered == ["oi"]


async def test_a_live_holder_is_never_taken_for_dead(store: SqliteStore) -> None:
    async def handle(inbound: Inbound) -> None:
        await asyncio.sleep(0)

    alive_here = Dispatcher(handle, store)
    ended_here = Dispatcher(handle, store)
    await ended_here.close()
    here = this_host()
    holders = [
        alive_here.owner,
        ended_here.owner,
        f"{here}:{dead_pid()}:x",
        f"{here}:{os.getppid()}:x",  # pytest's parent: alive
        "elsewhere:1:x",  # another host: only its lease can tell
        "garbage",
    ]
    assert orphans(holders) == [ended_here.owner, holders[2]]
    await alive_here.close()


async def test_a_turn_committed_before_a_crash_is_not_answered_again(
    store: SqliteStore, tmp_path: Path
) -> None:
    channel = RecordingChannel()
    message = Inbound(channel="test", contact="5548999990001", text="oi", provider_id="tg:1")
    async with compose(
        offline_settings(tmp_path),
        channels={"test": channel},
        store=store,
        catalogs=Catalogs.load(strict=True),
        background=False,  # this test recovers by hand
    ) as runtime:
        # what a process did before it died: kept the message, ran the turn (committed,
        # replied), and never got to clear the entry
        await store.inbox_put(message, f"{this_host()}:{dead_pid()}:abcdef", LEASE)
        await runtime.engine.handle(message)
        assert len(channel.sent) == 1

        assert await runtime.dispatcher.recover() == 1  # run again...
        await runtime.dispatcher.join()
    assert len(channel.sent) == 1  # ...and skipped by the engine: one answer
    assert await store.inbox_pending() == 0
    # and the messenger sending it once more (our 200 lost) does not queue it again
    assert await store.inbox_put(message, "elsewhere:1:x", LEASE) is None


# --- order across processes ------------------------------------------------------------------


async def test_a_message_taken_by_another_process_waits_for_the_earlier_one(
    store: SqliteStore,
) -> None:
    """Two dispatchers on one inbox stand for two processes behind a load balancer: the second
    message, accepted by the other one right after the first one's 200, runs after it."""
    log: list[str] = []
    gate = asyncio.Event()

    async def slow(inbound: Inbound) -> None:
        await gate.wait()
        log.append(inbound.text or "")

    async def fast(inbound: Inbound) -> None:
        log.append(inbound.text or "")

    first, second = Dispatcher(slow, store), Dispatcher(fast, store)
    assert await first.submit(msg("42", "1", "tg:1"))
    assert await second.submit(msg("42", "2", "tg:2"))
    assert await second.submit(msg("7", "other", "tg:3"))  # another customer does not wait
    for _ in range(5):
        await asyncio.sleep(0.02)
    assert log == ["other"]
    gate.set()
    await first.join()
    await second.join()
    assert log == ["other", "1", "2"]
    assert await store.inbox_pending() == 0
    await first.close()
    await second.close()


async def test_a_message_waiting_for_another_process_runs_under_the_lock_its_look_took(
    store: SqliteStore,
) -> None:
    """The second process's message waits for the first one's turn, and the look at the inbox
    that finds it first takes the conversation's lock too: its turn runs under it."""
    log: list[tuple[str, bool]] = []
    gate = asyncio.Event()

    async def handle(inbound: Inbound) -> None:
        log.append((inbound.text or "", False))

    async def held_slow(inbound: Inbound, held: Held) -> None:
        await gate.wait()
        log.append((inbound.text or "", True))

    async def held_fast(inbound: Inbound, held: Held) -> None:
        log.append((inbound.text or "", True))

    first = Dispatcher(handle, store, handle_held=held_slow)
    second = Dispatcher(handle, store, handle_held=held_fast)
    assert await first.submit(msg("42", "1", "tg:1"))
    assert await second.submit(msg("42", "2", "tg:2"))
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.wait_for(first.join(), 5)
    await asyncio.wait_for(second.join(), 5)
    assert log == [("1", True), ("2", True)]
    assert await store.inbox_pending() == 0
    async with store.lock("telegram:42", timeout=1):
        pass
    await first.close()
    await second.close()


async def test_an_older_entry_recovered_meanwhile_runs_before_the_waiting_one(
    store: SqliteStore,
) -> None:
    """The first message's process died: the second waits, the sweep claims the first once
    its holder is known dead, and it runs first, here."""
    log: list[str] = []

    async def handle(inbound: Inbound) -> None:
        log.append(inbound.text or "")

    gone = f"{this_host()}:{dead_pid()}:abcdef"
    await store.inbox_put(msg("42", "1", "tg:1"), gone, LEASE)
    dispatcher = Dispatcher(handle, store)
    assert await dispatcher.submit(msg("42", "2", "tg:2"))
    await asyncio.sleep(0.05)
    assert log == []  # still behind the dead process's entry
    assert await dispatcher.recover() == 1
    await dispatcher.join()
    assert log == ["1", "2"]
    await dispatcher.close()


class _Looking(SqliteStore):
    """The real store, counting its looks at a conversation's inbox."""

    looks = 0

    async def inbox_first(self, key: str) -> int | None:
        self.looks += 1
        return await super().inbox_first(key)


async def test_a_conversations_queued_messages_run_under_one_lock_handed_on(
    tmp_path: Path,
) -> None:
    """Messages queued behind a running one (the customer writes faster than the bot answers)
    run under the lock taken with the first, handed on: nobody else gets it in between, the
    inbox is not asked whose turn it is, and it is given back with the last."""
    store = _Looking(tmp_path / "ozbot.db")
    await store.open()
    other = SqliteStore(tmp_path / "ozbot.db")  # another process on the same file
    await other.open()
    gate = asyncio.Event()
    ran: list[tuple[str, Held | None, bool]] = []
    taken_between: list[bool] = []

    async def handle(inbound: Inbound) -> None:
        ran.append((inbound.text or "", None, False))

    async def handle_held(inbound: Inbound, held: Held) -> None:
        if inbound.text == "1":
            await gate.wait()
        else:
            try:
                async with other.lock(inbound.key, timeout=0.05):
                    taken_between.append(True)
            except LockTimeout:
                taken_between.append(False)
        ran.append((inbound.text or "", held, held.stale))

    dispatcher = Dispatcher(handle, store, handle_held=handle_held)
    try:
        for text in ("1", "2", "3"):
            assert await dispatcher.submit(msg("42", text, f"tg:{text}"))
        await asyncio.sleep(0.02)
        gate.set()
        await asyncio.wait_for(dispatcher.join(), 5)
        assert [text for text, _, _ in ran] == ["1", "2", "3"]
        held = ran[0][1]
        assert held is not None and all(each is held for _, each, _ in ran)
        assert [stale for _, _, stale in ran] == [False, True, True]  # loaded again after
        assert taken_between == [False, False] and store.looks == 0
        assert await store.inbox_pending() == 0
        async with other.lock("telegram:42", timeout=1):  # given back with the last
            pass
    finally:
        await dispatcher.close()
        await other.close()
        await store.close()


class _FlakyDone(SqliteStore):
    """The real store, whose first ``inbox_done`` fails (the database blinked)."""

    failed = False

    async def inbox_done(
        self, entry_id: int, owner: str, sent: str | None = None, *, held: Held | None = None
    ) -> None:
        if not self.failed:
            self.failed = True
            raise StorageError("the database blinked")
        await super().inbox_done(entry_id, owner, sent, held=held)


async def test_a_finished_entry_left_in_the_inbox_does_not_hold_up_the_next(
    tmp_path: Path,
) -> None:
    store = _FlakyDone(tmp_path / "flaky.db")
    await store.open()
    log: list[str] = []

    async def handle(inbound: Inbound) -> None:
        log.append(inbound.text or "")

    dispatcher = Dispatcher(handle, store)
    try:
        assert await dispatcher.submit(msg("42", "1", "tg:1"))
        assert await dispatcher.submit(msg("42", "2", "tg:2"))  # behind the first
        await asyncio.wait_for(dispatcher.join(), 5)
        assert log == ["1", "2"]
        assert store.failed and await store.inbox_pending() == 0
    finally:
        await dispatcher.close()
        await store.close()
