"""The ConversationLocks contract, within one process and across processes, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.errors import LockTimeout
from bot.storage.base import Store
from bot.storage.locks import ConversationLocks
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

    # PostgreSQL frees the dead session's lock at once; SQLite takes the lease over when it
    # expires (the child's lease is 1 s).
    async with store.lock("whatsapp:1", timeout=30):
        pass


async def test_a_holder_on_this_host_that_dies_is_taken_over_at_once(
    store: ConversationLocks, backend: Backend
) -> None:
    """With the lease a server runs with (30 s): a restarted server after a ``kill -9`` does not
    wait for its predecessor's locks (PostgreSQL frees them with the session; SQLite sees the
    holder's process is gone)."""
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
