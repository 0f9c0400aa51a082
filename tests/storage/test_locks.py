"""The ConversationLocks contract, within one process and across processes, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import bot.storage.leases
from bot.conversation import Conversation
from bot.errors import LockTimeout
from bot.messages import Inbound, Reply
from bot.storage.base import Store
from bot.storage.locks import ConversationLocks
from bot.storage.outbox import Outgoing
from bot.storage.postgres import PostgresStore
from tests.storage.conftest import Backend, conversation, line

REPO = Path(__file__).resolve().parents[2]

# -- locks within one process -------------------------------------------------------------------


async def test_lock_excludes_other_tasks_on_the_same_key(store: Store) -> None:
    holders: list[int] = []
    most = 0

    async def turn(n: int) -> None:
        nonlocal most
        async with store.lock("whatsapp:1"):
            holders.append(n)
            most = max(most, len(holders))
            value = int(await store.cache_get("test", "counter") or "0")
            await asyncio.sleep(0)
            await store.cache_put("test", "counter", str(value + 1), ttl=60)
            holders.remove(n)

    await asyncio.gather(*(turn(n) for n in range(20)))

    assert most == 1
    assert await store.cache_get("test", "counter") == "20"


async def test_waiters_get_the_lock_in_arrival_order(store: ConversationLocks) -> None:
    order: list[int] = []
    held = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with store.lock("whatsapp:1"):
            order.append(0)
            held.set()
            await release.wait()

    async def waiter(n: int) -> None:
        async with store.lock("whatsapp:1"):
            order.append(n)
            await asyncio.sleep(0)

    holder = asyncio.create_task(first())
    await held.wait()
    waiters = []
    for n in range(1, 8):
        waiters.append(asyncio.create_task(waiter(n)))
        await asyncio.sleep(0)  # let it queue before the next one arrives
    release.set()
    await asyncio.gather(holder, *waiters)

    assert order == list(range(8))


async def test_lock_times_out_while_another_task_holds_it(store: ConversationLocks) -> None:
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with store.lock("whatsapp:5511987654321"):
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()

    with pytest.raises(LockTimeout) as caught:
        async with store.lock("whatsapp:5511987654321", timeout=0.05):
            pytest.fail("the lock was given twice")
    assert "5511987654321" not in str(caught.value)  # phone numbers never reach the logs
    async with store.lock("telegram:42", timeout=1):  # other keys are not blocked
        pass

    release.set()
    await holder
    async with store.lock("whatsapp:5511987654321", timeout=1):  # usable again after a timeout
        pass


async def test_the_lock_is_released_when_the_body_raises(store: ConversationLocks) -> None:
    with pytest.raises(RuntimeError):
        async with store.lock("whatsapp:1"):
            raise RuntimeError("step failed")

    async with store.lock("whatsapp:1", timeout=1):
        pass


async def test_a_turn_runs_under_its_lock(store: Store) -> None:
    """The engine's sequence: lock, seen, load, commit, all on the locked conversation."""
    convo = conversation()
    async with store.lock(convo.key):
        assert await store.seen("m1") is False
        assert await store.load(convo.key) is None
        assert await store.commit_turn(convo, [line("oi")], provider_id="m1") is True
    async with store.lock(convo.key):
        assert await store.seen("m1") is True
        assert await store.load(convo.key) == convo


# -- locks across processes ---------------------------------------------------------------------


async def spawn(backend: Backend, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.storage.lock_child",
        *backend.child_args(),
        *args,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


async def read_line(child: asyncio.subprocess.Process) -> str:
    assert child.stdout is not None
    return (await asyncio.wait_for(child.stdout.readline(), timeout=30)).decode().strip()


async def test_a_lock_held_by_another_process_makes_this_one_wait(
    store: ConversationLocks, backend: Backend
) -> None:
    child = await spawn(backend, "hold", "whatsapp:1")
    assert await read_line(child) == "held"

    with pytest.raises(LockTimeout):
        async with store.lock("whatsapp:1", timeout=0.2):
            pytest.fail("the lock was given while another process held it")

    got_it = asyncio.Event()

    async def wait_for_it() -> None:
        async with store.lock("whatsapp:1", timeout=30):
            got_it.set()

    waiter = asyncio.create_task(wait_for_it())
    await asyncio.sleep(0.1)  # give a broken lock the chance to let it in
    assert not got_it.is_set()

    assert child.stdin is not None
    child.stdin.write(b"go\n")
    await child.stdin.drain()
    assert await read_line(child) == "released"
    await waiter
    assert await child.wait() == 0


async def test_a_holder_that_dies_does_not_block_the_conversation_forever(
    store: ConversationLocks, backend: Backend
) -> None:
    child = await spawn(backend, "hold", "whatsapp:1")
    assert await read_line(child) == "held"
    child.send_signal(signal.SIGKILL)
    await child.wait()

    # the child's lease is 1 s: taken over when it runs out, if not at once (see below)
    async with store.lock("whatsapp:1", timeout=30):
        pass


async def test_a_holder_on_this_host_that_dies_is_taken_over_at_once(
    store: ConversationLocks, backend: Backend
) -> None:
    """With the lease a server runs with (30 s): a restarted server after a ``kill -9`` does not
    wait for its predecessor's locks (the store sees the holder's process is gone, on both
    databases)."""
    child = await spawn(backend, "hold", "whatsapp:1", "30")
    assert await read_line(child) == "held"
    child.send_signal(signal.SIGKILL)
    await child.wait()
    async with store.lock("whatsapp:1", timeout=3):
        pass


async def test_processes_incrementing_under_the_lock_lose_no_update(backend: Backend) -> None:
    # The real clock, as in the children: the counter lives in the cache and must not expire.
    store = backend.new_store()
    await store.open()
    children = [await spawn(backend, "count", "counter", "20") for _ in range(3)]
    for child in children:
        assert await read_line(child) == "ready"
    for child in children:  # start together, so that the increments really interleave
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    await asyncio.gather(increment_here(store, 20), *(c.wait() for c in children))

    assert [c.returncode for c in children] == [0, 0, 0]
    assert await store.cache_get("test", "counter") == str(20 * 4)


async def increment_here(store: Store, times: int) -> None:
    from tests.storage.lock_child import increment

    await increment(store, "counter", times)


# -- locks taken with an inbox entry ------------------------------------------------------------

OWNER, LEASE = "host-a:11:aaaa", 30.0


def message(text: str, pid: str, contact: str = "1") -> Inbound:
    return Inbound(channel="telegram", contact=contact, text=text, provider_id=pid)


def telegram(
    contact: str, flow: str = "menu", state: str = "choosing", **context: object
) -> Conversation:
    saved = Conversation.new("telegram", contact)
    saved.flow, saved.state, saved.context = flow, state, dict(context)
    return saved


async def test_a_lock_taken_with_an_entry_holds_until_the_entry_is_done(
    store: Store, backend: Backend
) -> None:
    accepted = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE, lock=True)
    assert accepted is not None and accepted.held is not None
    held = accepted.held
    assert (held.key, held.loaded, held.stale) == ("telegram:1", None, False)  # new customer

    other = backend.new_store()  # another process on the same database
    await other.open()
    with pytest.raises(LockTimeout):
        async with other.lock("telegram:1", timeout=0.2):
            pytest.fail("another process got a lock taken with an inbox entry")
    with pytest.raises(LockTimeout):
        async with store.lock("telegram:1", timeout=0.2):
            pytest.fail("another task of this process got a lock taken with an inbox entry")

    await store.inbox_done(accepted.id, OWNER, held=held)
    assert await store.inbox_pending() == 0
    async with other.lock("telegram:1", timeout=1), store.lock("telegram:2", timeout=1):
        pass
    async with store.lock("telegram:1", timeout=1):
        pass
    await store.release(held)  # given back already: nothing happens


async def test_the_lock_taken_with_an_entry_reads_the_conversation_as_saved(
    store: Store,
) -> None:
    saved = telegram("1", "sales", "asked_address", nome="zé", n=7)
    async with store.lock("telegram:1"):
        assert await store.commit_turn(saved, [line("quero net")], "tg:0")
    accepted = await store.inbox_accept(
        message("rua das flores 12", "tg:1"), OWNER, LEASE, lock=True
    )
    assert accepted is not None and accepted.held is not None
    assert not accepted.held.stale
    loaded = accepted.held.loaded
    assert loaded is not None
    assert (loaded.flow, loaded.state, loaded.context) == ("sales", "asked_address", saved.context)
    await store.inbox_done(accepted.id, OWNER, held=accepted.held)


async def test_no_lock_is_taken_with_an_entry_that_must_wait(
    store: Store, backend: Backend
) -> None:
    first = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE, lock=True)
    assert first is not None and first.held is not None
    # an earlier entry of the conversation waits: this one is behind it, and takes nothing
    second = await store.inbox_accept(message("quero net", "tg:2"), OWNER, LEASE, lock=True)
    assert second is not None and (second.behind, second.held) == (True, None)
    await store.inbox_done(first.id, OWNER, held=first.held)
    await store.inbox_done(second.id, OWNER)

    # held by a task of this process (a timer's turn), or by another process: not taken
    async with store.lock("telegram:1"):
        busy = await store.inbox_accept(message("oi?", "tg:3"), OWNER, LEASE, lock=True)
    assert busy is not None and (busy.behind, busy.held) == (False, None)
    await store.inbox_done(busy.id, OWNER)
    other = backend.new_store()
    await other.open()
    async with other.lock("telegram:1"):
        elsewhere = await store.inbox_accept(message("alo", "tg:4"), OWNER, LEASE, lock=True)
    assert elsewhere is not None and (elsewhere.behind, elsewhere.held) == (False, None)
    async with store.lock("telegram:1"):  # its turn ran and committed it
        assert await store.commit_turn(telegram("1"), [line("alo")], "tg:4")
    await store.inbox_done(elsewhere.id, OWNER)
    # and a re-delivered message is not stored, so takes nothing either
    assert await store.inbox_accept(message("alo", "tg:4"), OWNER, LEASE, lock=True) is None
    assert await store.inbox_pending() == 0
    async with other.lock("telegram:1", timeout=1):
        pass


async def test_a_lock_handed_on_to_the_next_entry_stays_held_in_between(
    store: Store, backend: Backend
) -> None:
    first = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE, lock=True)
    second = await store.inbox_accept(message("quero net", "tg:2"), OWNER, LEASE, lock=True)
    assert first is not None and first.held is not None
    assert second is not None and (second.behind, second.held) == (True, None)
    held = first.held
    kept = Outgoing("t1", "telegram:1", "telegram", "1", (Reply("Olá!"),), OWNER, LEASE)
    assert await store.commit_turn(telegram("1"), [line("oi")], "tg:1", kept)  # fenced by it

    assert await store.inbox_pass(first.id, OWNER, "t1", held, second.id)
    assert await store.inbox_pending() == 1  # the first is gone, with its replies
    assert await store.outbox_pending("telegram:1") == []
    other = backend.new_store()
    await other.open()
    with pytest.raises(LockTimeout):
        async with other.lock("telegram:1", timeout=0.2):
            pytest.fail("another process got a lock handed on to the next entry")
    # the next turn commits under it, fenced as before, and gives it back with its entry
    assert await store.commit_turn(telegram("1", "sales", "asked_address"), [line("x")], "tg:2")
    await store.inbox_done(second.id, OWNER, held=held)
    assert await store.inbox_pending() == 0
    async with other.lock("telegram:1", timeout=1):
        pass


async def test_a_lock_is_not_handed_on_past_an_earlier_entry_or_once_given_back(
    store: Store, backend: Backend
) -> None:
    first = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE, lock=True)
    assert first is not None and first.held is not None
    # another process's entry between this one and the next
    between = await store.inbox_accept(message("alo", "tg:2"), "host-b:22:bbbb", LEASE)
    last = await store.inbox_accept(message("quero net", "tg:3"), OWNER, LEASE)
    assert between is not None and last is not None
    assert not await store.inbox_pass(first.id, OWNER, None, first.held, last.id)
    assert await store.inbox_pending() == 2  # the first is gone all the same
    other = backend.new_store()
    await other.open()
    async with other.lock("telegram:1", timeout=1):  # given back
        pass

    again = await store.inbox_accept(message("oi?", "tg:4", contact="2"), OWNER, LEASE, lock=True)
    later = await store.inbox_accept(message("e ai", "tg:5", contact="2"), OWNER, LEASE)
    assert again is not None and again.held is not None and later is not None
    await store.release(again.held)  # (its turn lost it)
    assert not await store.inbox_pass(again.id, OWNER, None, again.held, later.id)
    assert await store.inbox_pending() == 3
    async with other.lock("telegram:2", timeout=1):
        pass


async def test_a_waiting_entry_takes_the_lock_with_the_look_that_finds_it_first(
    store: Store, backend: Backend
) -> None:
    saved = telegram("1", "sales", "asked_address", nome="zé")
    async with store.lock("telegram:1"):
        assert await store.commit_turn(saved, [line("quero net")], "tg:0")
    other = backend.new_store()  # another process, running the conversation's earlier entry
    await other.open()
    earlier = await other.inbox_accept(message("oi", "tg:1"), "host-b:22:bbbb", LEASE, lock=True)
    waiting = await store.inbox_accept(message("rua das flores 12", "tg:2"), OWNER, LEASE)
    assert earlier is not None and earlier.held is not None
    assert waiting is not None and waiting.behind
    assert await store.inbox_ready("telegram:1", waiting.id, "tg:2") == (earlier.id, None)
    await other.inbox_done(earlier.id, "host-b:22:bbbb", held=earlier.held)

    first, held = await store.inbox_ready("telegram:1", waiting.id, "tg:2")
    assert first == waiting.id and held is not None and not held.stale
    assert held.loaded is not None and held.loaded.context == saved.context
    with pytest.raises(LockTimeout):
        async with other.lock("telegram:1", timeout=0.2):
            pytest.fail("another process got a lock taken with a look at the inbox")
    await store.inbox_done(waiting.id, OWNER, held=held)
    async with other.lock("telegram:1", timeout=1):
        pass


async def test_a_look_takes_no_lock_held_elsewhere_and_trusts_no_committed_message(
    store: Store, backend: Backend
) -> None:
    waiting = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE)
    assert waiting is not None
    other = backend.new_store()
    await other.open()
    async with other.lock("telegram:1"):
        assert await store.inbox_ready("telegram:1", waiting.id, "tg:1") == (waiting.id, None)
        # its turn ran elsewhere meanwhile (a stopped process's entry taken over)
        assert await other.commit_turn(telegram("1"), [line("oi")], "tg:1")
    first, held = await store.inbox_ready("telegram:1", waiting.id, "tg:1")
    assert first == waiting.id and held is not None and held.stale  # the turn looks again
    await store.inbox_done(waiting.id, OWNER, held=held)


async def test_a_lock_taken_with_an_entry_can_be_given_back_alone(
    store: Store, backend: Backend
) -> None:
    accepted = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE, lock=True)
    assert accepted is not None and accepted.held is not None
    await store.release(accepted.held)
    await store.release(accepted.held)  # idempotent
    other = backend.new_store()
    await other.open()
    async with other.lock("telegram:1", timeout=1):
        pass
    assert await store.inbox_pending() == 1  # the entry stays, for whoever runs it


async def test_an_erased_conversation_leaves_no_lock_row(store: Store, backend: Backend) -> None:
    accepted = await store.inbox_accept(message("oi", "tg:1"), OWNER, LEASE, lock=True)
    assert accepted is not None and accepted.held is not None
    await store.commit_turn(telegram("1"), [line("oi")], "tg:1")
    await store.forget("telegram:1")
    await store.inbox_done(accepted.id, OWNER, held=accepted.held)
    async with store.lock("telegram:2"):
        await store.commit_turn(telegram("2"), [line("oi")], "tg:2")
        await store.forget("telegram:2")
    assert lock_rows(backend) == []


def lock_rows(backend: Backend) -> list[str]:
    if backend.kind == "sqlite":
        with sqlite3.connect(backend.target) as db:
            return [row[0] for row in db.execute("SELECT key FROM locks")]
    with psycopg.connect(backend.target, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "")))
        return [row[0] for row in conn.execute("SELECT key FROM locks").fetchall()]


@pytest.mark.postgres
async def test_a_lock_taken_while_its_holder_drops_it_reads_the_conversation_again(
    postgres_url: str, postgres_schema: str
) -> None:
    """The statement that takes the lock with the entry reads the conversation from its
    snapshot. A holder that changes the conversation and drops its lease while that statement
    runs commits after the snapshot was taken: the statement must not trust what it read."""
    store = PostgresStore(postgres_url, schema=postgres_schema, max_size=2)
    await store.open()
    try:
        async with store.lock("telegram:1"):
            await store.commit_turn(telegram("1"), [], "tg:0")
        holder = await psycopg.AsyncConnection.connect(postgres_url)
        await holder.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(postgres_schema))
        )
        # another process's turn: it holds the lease, saves, and drops the lease, not yet
        # committed when the statement below begins
        await holder.execute(
            "UPDATE locks SET owner = 'host-x:1:xxxx', expires_at = 9e9 WHERE key = 'telegram:1'"
        )
        await holder.commit()
        await holder.execute("UPDATE conversations SET flow = 'sales' WHERE key = 'telegram:1'")
        await holder.execute(
            "UPDATE locks SET expires_at = 0, turn = turn + 1 WHERE key = 'telegram:1'"
        )
        taking = asyncio.create_task(
            store.inbox_accept(message("rua x 1", "tg:1"), OWNER, LEASE, lock=True)
        )
        await asyncio.sleep(0.3)  # the statement runs, and waits for the holder's row
        assert not taking.done()
        await holder.commit()
        await holder.close()
        accepted = await taking
        assert accepted is not None and accepted.held is not None  # the lock was taken
        assert accepted.held.stale  # what its snapshot showed is the conversation before
        seen, loaded = await store.seen_and_load("telegram:1", "tg:1")
        assert loaded is not None and loaded.flow == "sales" and not seen
        await store.inbox_done(accepted.id, OWNER, held=accepted.held)
    finally:
        await store.close()


async def test_a_renewal_that_arrives_after_the_drop_does_not_take_the_lock_back(
    store: Store, backend: Backend
) -> None:
    """The renewer reads which leases are held, then renews them on its own connection: a
    turn that dropped its lease meanwhile must not find it renewed (nobody else could take the
    conversation until it ran out)."""
    async with store.lock("telegram:1"):
        await store.commit_turn(telegram("1"), [line("oi")], "tg:1")  # its row stays (PostgreSQL)
    leases = store._locks  # type: ignore[attr-defined]
    await leases.renew_leases(["telegram:1"], time.time() + 30)
    other = backend.new_store()
    await other.open()
    async with other.lock("telegram:1", timeout=1):
        pass


class SkewedTime:
    """The ``time`` module as bot.storage.leases uses it, with a clock ``ahead`` seconds fast."""

    def __init__(self, ahead: float) -> None:
        self.ahead = ahead

    def time(self) -> float:
        return time.time() + self.ahead

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.mark.postgres
async def test_a_replica_whose_clock_runs_ahead_cannot_take_a_live_lease(
    postgres_url: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's leases are stamped and judged by the database server's clock: a replica
    whose own clock is ahead by more than a lease must not see live leases as run out.
    (From the reviewer's probe.)"""
    a = PostgresStore(postgres_url, schema=postgres_schema, max_size=2)
    b = PostgresStore(postgres_url, schema=postgres_schema, max_size=2)
    await a.open()
    await b.open()
    try:
        async with a.lock("telegram:1"):
            monkeypatch.setattr(bot.storage.leases, "time", SkewedTime(60))
            with pytest.raises(LockTimeout):
                async with b.lock("telegram:1", timeout=0.5):
                    pytest.fail("a skewed clock took a live lease")
    finally:
        await a.close()
        await b.close()
