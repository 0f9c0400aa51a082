"""The Store contract, run against every adapter (SQLite file and PostgreSQL schema alike)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import LockTimeout, StorageError
from bot.storage.base import Store
from bot.storage.migrations import MIGRATIONS, Migration
from tests.storage.conftest import Backend, FakeClock

REPO = Path(__file__).resolve().parents[2]
BRT = timezone(timedelta(hours=-3))


def conversation(contact: str = "5511987654321", **changes: object) -> Conversation:
    convo = Conversation.new("whatsapp", contact)
    for name, value in changes.items():
        setattr(convo, name, value)
    return convo


def line(text: str, role: str = "customer", second: int = 0) -> TranscriptEntry:
    return TranscriptEntry(role=role, text=text, at=datetime(2024, 5, 1, 12, 0, second, tzinfo=UTC))  # type: ignore[arg-type]


# -- conversations ------------------------------------------------------------------------------


async def test_a_new_contact_has_no_conversation(store: Store) -> None:
    assert await store.load("whatsapp:5511000000000") is None


async def test_conversation_round_trip_keeps_every_field(store: Store) -> None:
    saved = conversation(
        flow="sales",
        state="awaiting_number",
        language="es",
        failures=2,
        context={
            "address": "Rua São João, 123 — Praça da Sé, São Paulo",
            "coords": [-23.5505, -46.6333],
            "feasibility": {"box": "CTO-07", "free_ports": 3, "ok": True, "note": None},
            "emoji": "📶",
        },
        # Not UTC on purpose: what comes back is the same instant, in UTC.
        created_at=datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=BRT),
        updated_at=datetime(2024, 5, 1, 12, 45, 0, 654321, tzinfo=UTC),
    )
    assert await store.commit_turn(saved, []) is True

    loaded = await store.load(saved.key)

    assert loaded == saved
    assert loaded is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.updated_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


async def test_commit_turn_overwrites_the_saved_state(store: Store) -> None:
    convo = conversation(state="start")
    await store.commit_turn(convo, [line("oi")])
    convo.state = "awaiting_cep"
    convo.context = {"cep": "01001000"}
    await store.commit_turn(convo, [line("quero contratar", second=1)])

    loaded = await store.load(convo.key)

    assert loaded is not None
    assert (loaded.state, loaded.context) == ("awaiting_cep", {"cep": "01001000"})


async def test_a_context_that_is_not_json_is_refused_and_nothing_is_written(store: Store) -> None:
    convo = conversation(context={"when": datetime(2024, 5, 1, tzinfo=UTC)})

    with pytest.raises(StorageError, match="JSON"):
        await store.commit_turn(convo, [line("oi")], provider_id="m-bad")

    assert await store.load(convo.key) is None
    assert await store.seen("m-bad") is False


# -- de-duplication -----------------------------------------------------------------------------


async def test_a_message_id_is_seen_once_its_turn_is_committed(store: Store) -> None:
    assert await store.seen("wamid.1") is False
    assert await store.commit_turn(conversation(), [line("oi")], provider_id="wamid.1") is True
    assert await store.seen("wamid.1") is True
    assert await store.seen("wamid.2") is False


async def test_a_repeated_message_id_commits_nothing(store: Store) -> None:
    first = conversation(state="awaiting_cep")
    assert await store.commit_turn(first, [line("oi")], provider_id="wamid.1") is True

    again = conversation(state="somewhere_else", failures=3, context={"x": 1})
    repeated = [line("oi de novo", second=5)]
    duplicate = await store.commit_turn(again, repeated, provider_id="wamid.1")

    assert duplicate is False
    loaded = await store.load(first.key)
    assert loaded is not None
    assert (loaded.state, loaded.failures, loaded.context) == ("awaiting_cep", 0, {})
    assert [entry.text for entry in await store.transcript(first.key)] == ["oi"]


async def test_turns_without_a_message_id_always_commit(store: Store) -> None:
    convo = conversation()
    assert await store.commit_turn(convo, [line("a")]) is True
    assert await store.commit_turn(convo, [line("b", second=1)]) is True
    assert len(await store.transcript(convo.key)) == 2


# -- transcript ---------------------------------------------------------------------------------


async def test_transcript_keeps_insertion_order_and_limit_gives_the_latest(store: Store) -> None:
    convo = conversation()
    other = conversation(contact="5521999990000")
    # Equal timestamps on purpose: the order is the order of commit, not of the clock.
    await store.commit_turn(convo, [line("1"), line("2", role="bot"), line("3", role="bot")])
    await store.commit_turn(other, [line("elsewhere")])
    await store.commit_turn(convo, [line("4"), line("5", role="agent", second=9)])

    everything = await store.transcript(convo.key)
    assert [(e.role, e.text) for e in everything] == [
        ("customer", "1"),
        ("bot", "2"),
        ("bot", "3"),
        ("customer", "4"),
        ("agent", "5"),
    ]
    assert everything[-1].at == datetime(2024, 5, 1, 12, 0, 9, tzinfo=UTC)
    assert everything[-1].at.utcoffset() == timedelta(0)
    assert [e.text for e in await store.transcript(convo.key, limit=2)] == ["4", "5"]
    assert len(await store.transcript(convo.key, limit=50)) == 5
    assert await store.transcript(convo.key, limit=0) == []
    assert await store.transcript("telegram:nobody") == []


# -- forget -------------------------------------------------------------------------------------


async def test_forget_erases_one_conversation_and_keeps_the_rest(store: Store) -> None:
    gone = conversation()
    kept = conversation(contact="5521999990000")
    await store.commit_turn(gone, [line("meu CPF é ...")], provider_id="m1")
    await store.commit_turn(kept, [line("oi")], provider_id="m2")

    await store.forget(gone.key)

    assert await store.load(gone.key) is None
    assert await store.transcript(gone.key) == []
    assert await store.load(kept.key) == kept
    assert [e.text for e in await store.transcript(kept.key)] == ["oi"]
    # A webhook redelivered after the erasure is still recognised as a duplicate.
    assert await store.seen("m1") is True
    assert await store.commit_turn(gone, [line("again")], provider_id="m1") is False
    assert await store.load(gone.key) is None


# -- cache --------------------------------------------------------------------------------------


async def test_cache_returns_a_value_until_its_ttl_runs_out(store: Store, clock: FakeClock) -> None:
    await store.cache_put("geocode", "Rua São João, 123", '{"lat": -23.5}', ttl=60)

    clock.advance(59.9)
    assert await store.cache_get("geocode", "Rua São João, 123") == '{"lat": -23.5}'
    clock.advance(0.2)
    assert await store.cache_get("geocode", "Rua São João, 123") is None


async def test_cache_put_replaces_and_namespaces_are_separate(
    store: Store, clock: FakeClock
) -> None:
    await store.cache_put("geocode", "k", "old", ttl=10)
    clock.advance(9)
    await store.cache_put("geocode", "k", "new", ttl=10)  # also restarts the TTL
    await store.cache_put("cep", "k", "other", ttl=10)
    clock.advance(5)

    assert await store.cache_get("geocode", "k") == "new"
    assert await store.cache_get("cep", "k") == "other"
    assert await store.cache_get("viacep", "k") is None


# -- migrations ---------------------------------------------------------------------------------


async def test_open_is_idempotent_and_reopening_keeps_the_data(
    store: Store, backend: Backend
) -> None:
    convo = conversation()
    await store.commit_turn(convo, [line("oi")], provider_id="m1")
    await store.open()  # a second open does nothing
    await store.close()
    await store.close()

    reopened = backend.new_store()
    await reopened.open()

    assert await reopened.schema_version() == len(MIGRATIONS)  # type: ignore[attr-defined]
    assert await reopened.load(convo.key) == convo
    assert await reopened.seen("m1") is True


async def test_an_appended_migration_runs_once_on_the_next_open(
    store: Store, backend: Backend
) -> None:
    await store.commit_turn(conversation(), [line("oi")])
    await store.close()
    extra = Migration(
        "test_notes",
        sqlite="CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n"
        "INSERT INTO notes (body) VALUES ('x');",
        postgres="CREATE TABLE notes (id serial PRIMARY KEY, body text);\n"
        "INSERT INTO notes (body) VALUES ('x');",
    )

    for _ in range(2):  # the second open finds nothing pending (the insert would run twice)
        upgraded = backend.new_store(migrations=[*MIGRATIONS, extra])
        await upgraded.open()
        assert await upgraded.schema_version() == len(MIGRATIONS) + 1  # type: ignore[attr-defined]
        await upgraded.close()

    # Code that knows fewer migrations than the database refuses it rather than misread it.
    older = backend.new_store(migrations=MIGRATIONS[:0])
    with pytest.raises(StorageError, match="upgrade ozbot"):
        await older.open()


async def test_a_failing_migration_leaves_the_schema_as_it_was(
    store: Store, backend: Backend
) -> None:
    await store.close()
    broken = Migration(
        "broken",
        sqlite="CREATE TABLE half (x INTEGER);\nTHIS IS NOT SQL;",
        postgres="CREATE TABLE half (x integer);\nTHIS IS NOT SQL;",
    )

    with pytest.raises(StorageError):
        await backend.new_store(migrations=[*MIGRATIONS, broken]).open()

    fixed = backend.new_store(
        migrations=[
            *MIGRATIONS,
            Migration(
                "fixed",
                sqlite="CREATE TABLE half (x INTEGER)",
                postgres="CREATE TABLE half (x integer)",
            ),
        ]
    )
    await fixed.open()  # would fail with "table half already exists" had the first half stayed
    assert await fixed.schema_version() == len(MIGRATIONS) + 1  # type: ignore[attr-defined]


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


async def test_waiters_get_the_lock_in_arrival_order(store: Store) -> None:
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


async def test_lock_times_out_while_another_task_holds_it(store: Store) -> None:
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


async def test_the_lock_is_released_when_the_body_raises(store: Store) -> None:
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
    store: Store, backend: Backend
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
    store: Store, backend: Backend
) -> None:
    child = await spawn(backend, "hold", "whatsapp:1")
    assert await read_line(child) == "held"
    child.send_signal(signal.SIGKILL)
    await child.wait()

    # PostgreSQL frees the dead session's lock at once; SQLite takes the lease over when it
    # expires (the child's lease is 1 s).
    async with store.lock("whatsapp:1", timeout=30):
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
