"""A turn's commit is fenced by its conversation's lease, on SQLite and PostgreSQL alike: a
holder stopped for longer than its lease (a GC pause, ``SIGSTOP``, a slow disk), whose
conversation another process took over meanwhile, commits nothing when it goes on; a holder
whose lease is still its own commits as before, as often as it likes.
"""

from __future__ import annotations

import asyncio
import signal

import psycopg
import pytest
from psycopg import sql

from bot.errors import LockTimeout
from bot.storage.base import Store
from bot.storage.locks import LeaseLost
from bot.storage.outbox import Outgoing
from bot.storage.postgres import PostgresStore
from tests.storage.conftest import Backend, line
from tests.storage.test_locks import LEASE, OWNER, message, read_line, spawn, telegram

# another process's owner (another host: never taken for dead)
ELSEWHERE = "host-x:1:xxxx"


async def test_a_holder_stopped_past_its_lease_commits_nothing_once_taken_over(
    store: Store, backend: Backend
) -> None:
    """The fault itself, with a real second process: it takes the lock (a 1 s lease), is
    stopped, this process takes the conversation over once the lease ran out and commits a
    newer turn; continued, the first one's commit must be refused."""
    child = await spawn(backend, "commit", "telegram:1", "stale", "1")
    assert await read_line(child) == "held"
    child.send_signal(signal.SIGSTOP)
    try:
        async with store.lock("telegram:1", timeout=30):  # once the child's lease ran out
            assert await store.commit_turn(telegram("1", "sales", "newer"), [line("newer")], "tg:2")
    finally:
        child.send_signal(signal.SIGCONT)
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    await child.stdin.drain()
    assert await read_line(child) == "refused: LeaseLost"
    assert await read_line(child) == "released"
    assert await child.wait() == 0

    saved = await store.load("telegram:1")
    assert saved is not None and saved.state == "newer"
    assert [entry.text for entry in await store.transcript("telegram:1")] == ["newer"]
    assert not await store.seen("child:1")  # its message would run again, not be skipped


async def test_a_holder_stopped_between_its_commit_and_its_send_knows_it_lost_the_lock(
    store: Store, backend: Backend
) -> None:
    """The same fault one step later, with a real second process: it commits a turn under its
    lock (a 1 s lease), is stopped before sending the replies, and this process takes the
    conversation over once the lease ran out. Continued, the first one must learn that the lock
    is no longer its own (the replies are the new holder's to send: it found them committed),
    though its commit had moved the lease on."""
    child = await spawn(backend, "send", "telegram:1", "1")
    assert await read_line(child) == "committed"
    child.send_signal(signal.SIGSTOP)
    try:
        async with store.lock("telegram:1", timeout=30):  # once the child's lease ran out
            assert await store.seen("child:1")  # the new holder finds its turn committed
    finally:
        child.send_signal(signal.SIGCONT)
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    await child.stdin.drain()
    assert await read_line(child) == "lost"
    assert await read_line(child) == "released"
    assert await child.wait() == 0


async def test_a_holder_that_kept_its_lock_past_half_its_lease_still_holds_it(
    store: Store, backend: Backend
) -> None:
    """Nobody took it over: asked after half its lease (so the store asks the database),
    the holder still holds the lock, and goes on committing under it."""
    child = await spawn(backend, "send", "telegram:1", "1")
    assert await read_line(child) == "committed"
    await asyncio.sleep(0.7)  # past half of the child's 1 s lease (it renews it meanwhile)
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    await child.stdin.drain()
    assert await read_line(child) == "ours"
    assert await read_line(child) == "released"
    assert await child.wait() == 0
    assert await store.still_holds("telegram:1")  # a key this store does not hold: nothing known
    async with store.lock("telegram:1", timeout=1):
        assert await store.still_holds("telegram:1")


async def test_a_holder_stopped_past_its_lease_closes_no_handoff_once_taken_over(
    store: Store, backend: Backend
) -> None:
    """A write a holder makes before its commit is fenced like the commit: a real second
    process holds the lock (a 1 s lease) of a conversation waiting for an agent, as a timer
    giving it back to the bot does, and is stopped; this process takes the conversation over.
    Continued, the first one's closing of the ticket must be refused, the ticket left open
    (closed, the conversation would wait in the handoff flow with no ticket for any agent)."""
    now = line("").at
    await store.enqueue_handoff("telegram:1", "asked", now)
    child = await spawn(backend, "close", "telegram:1", "1")
    assert await read_line(child) == "held"
    child.send_signal(signal.SIGSTOP)
    try:
        async with store.lock("telegram:1", timeout=30):  # once the child's lease ran out
            assert await store.open_handoff("telegram:1") is not None
    finally:
        child.send_signal(signal.SIGCONT)
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    await child.stdin.drain()
    assert await read_line(child) == "refused: LeaseLost"
    assert await read_line(child) == "released"
    assert await child.wait() == 0
    assert await store.open_handoff("telegram:1") is not None


async def test_writes_of_a_holder_besides_its_commit_land_while_it_holds_the_lock(
    store: Store, backend: Backend
) -> None:
    """Fenced, a holder's other writes land as before, as often as it likes, its commit
    after them too; a lease taken over refuses each of them, nothing written."""
    now = line("").at
    async with store.lock("telegram:1"):
        await store.enqueue_handoff("telegram:1", "asked", now)
        await store.set_timers("telegram:1", {"nudge": now})
        await store.record_agent_message("telegram:1", "olá", now)
        assert await store.close_handoff("telegram:1", "resolved", now) is not None
        assert await store.commit_turn(telegram("1", "menu", "start"), [line("1")], "tg:1")
    assert [t.kind for t in await store.pending_timers("telegram:1")] == ["nudge"]
    assert [e.text for e in await store.transcript("telegram:1")] == ["olá", "1"]

    async with store.lock("telegram:1"):
        backend.execute(
            f"UPDATE locks SET owner = '{ELSEWHERE}', expires_at = 9e9 WHERE key = 'telegram:1'"  # noqa: S608
        )
        with pytest.raises(LeaseLost):
            await store.enqueue_handoff("telegram:1", "asked", now)
        with pytest.raises(LeaseLost):
            await store.set_timers("telegram:1", {"nudge": None})
        with pytest.raises(LeaseLost):
            await store.record_agent_message("telegram:1", "tarde", now)
        with pytest.raises(LeaseLost):
            await store.close_handoff("telegram:1", "resolved", now)
    assert await store.open_handoff("telegram:1") is None
    assert [t.kind for t in await store.pending_timers("telegram:1")] == ["nudge"]
    assert [e.text for e in await store.transcript("telegram:1")] == ["olá", "1"]


async def test_a_lock_taken_with_an_entry_fences_its_turn(store: Store, backend: Backend) -> None:
    accepted = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE, lock=True)
    assert accepted is not None and accepted.held is not None
    # this process stopped past its lease, and another took the conversation over
    backend.execute(
        f"UPDATE locks SET owner = '{ELSEWHERE}', expires_at = 9e9 WHERE key = 'telegram:1'"  # noqa: S608
    )
    outgoing = Outgoing("t1", "telegram:1", "telegram", "1", (), owner=OWNER, lease=30.0)
    plan = {"nudge": line("").at}
    with pytest.raises(LeaseLost):
        await store.commit_turn(telegram("1"), [line("oi")], "tg:1", outgoing, plan)
    # nothing of it landed: no conversation, no line, no reply kept, no timer, no message id
    assert await store.load("telegram:1") is None
    assert await store.transcript("telegram:1") == []
    assert await store.outbox_pending("telegram:1") == []
    assert await store.pending_timers("telegram:1") == []
    assert not await store.seen("tg:1")

    # finishing the entry leaves the other's lease alone
    await store.inbox_done(accepted.id, OWNER, held=accepted.held)
    with pytest.raises(LockTimeout):
        async with store.lock("telegram:1", timeout=0.2):
            pytest.fail("the lease another process took over was dropped")


async def test_commits_under_a_lease_still_held_land(store: Store, backend: Backend) -> None:
    other = backend.new_store()
    await other.open()
    async with store.lock("telegram:1"):
        assert await store.commit_turn(telegram("1", "sales", "one"), [line("1")], "tg:1")
        assert await store.commit_turn(telegram("1", "sales", "two"), [line("2")])
        assert not await store.commit_turn(telegram("1", "sales", "x"), [line("x")], "tg:1")
        with pytest.raises(LockTimeout):  # a commit keeps the lease the holder's
            async with other.lock("telegram:1", timeout=0.2):
                pytest.fail("the lock was given while its holder committed")
    accepted = await store.inbox_accept(message("3", "tg:3"), OWNER, LEASE, lock=True)
    assert accepted is not None and accepted.held is not None
    assert await store.commit_turn(telegram("1", "sales", "three"), [line("3")], "tg:3")
    await store.inbox_done(accepted.id, OWNER, held=accepted.held)
    async with other.lock("telegram:1", timeout=1):
        assert await other.commit_turn(telegram("1", "sales", "four"), [line("4")], "tg:4")

    saved = await store.load("telegram:1")
    assert saved is not None and saved.state == "four"
    assert [e.text for e in await store.transcript("telegram:1")] == ["1", "2", "3", "4"]
    # (a commit with no lock held, as the other suites make, is not fenced: it lands)
    assert await store.commit_turn(telegram("1", "sales", "five"), [line("5")], "tg:5")


@pytest.mark.postgres
async def test_a_take_waits_for_a_commit_under_the_lease_and_finds_it_renewed(
    postgres_url: str, postgres_schema: str
) -> None:
    """A commit under a lease that has run out (its holder slow, nobody has taken it yet) and
    another process's take, at the same moment: the commit's fence holds the lease row, so
    the take waits for it, then finds the lease renewed by it and takes nothing. (Without the
    fence the take went ahead at once and read the conversation from before the commit.)"""
    holder = PostgresStore(postgres_url, schema=postgres_schema, max_size=2, lease=300)
    other = PostgresStore(postgres_url, schema=postgres_schema, max_size=2)
    await holder.open()
    await other.open()
    blocker = await psycopg.AsyncConnection.connect(postgres_url)
    try:
        await blocker.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema))
        )
        async with holder.lock("telegram:1"):
            assert await holder.commit_turn(telegram("1", "sales", "old"), [], "tg:0")
            await blocker.execute("UPDATE locks SET expires_at = 1 WHERE key = 'telegram:1'")
            await blocker.commit()  # the lease ran out; nobody took it
            await blocker.execute("SELECT FROM conversations WHERE key = 'telegram:1' FOR UPDATE")
            commit = asyncio.create_task(
                holder.commit_turn(telegram("1", "sales", "new"), [line("new")], "tg:1")
            )
            await asyncio.sleep(0.3)  # the commit runs, and waits for the conversation's row
            taking = asyncio.create_task(
                other.inbox_accept(message("next", "tg:2"), OWNER, LEASE, lock=True)
            )
            await asyncio.sleep(0.3)
            assert not commit.done()
            await blocker.rollback()
            assert await commit
            accepted = await taking
        assert accepted is not None and accepted.held is None  # not taken: renewed
        await other.inbox_done(accepted.id, OWNER)
        saved = await other.load("telegram:1")
        assert saved is not None and saved.state == "new"
    finally:
        await blocker.close()
        await holder.close()
        await other.close()
