"""Storage benchmark: what one turn's store work costs on SQLite and PostgreSQL.

    .venv/bin/python bench/storage.py [--turns 3000] [--postgres URL] [--concurrency 32]

A turn is what the engine does: lock, seen_and_load (seen and load, one statement since
2026-12-01), commit_turn (two transcript lines), unlock. A dispatched turn adds the inbox around
it, both ways: "lock apart" (store the entry; lock, load, commit with its outbox row, unlock;
clear the entry and the row), as until 2026-12-01 evening, and "lock w/ entry" (store the entry
taking the lock and reading the conversation; commit; clear the entry, the row and the lock),
as the dispatcher does now.
Reports, per store, the whole turn sequentially (latency) and with ``--concurrency`` tasks over
distinct contacts (throughput), plus commit_turn and load alone. PostgreSQL runs in a throwaway
schema, dropped at the end. Not a test: numbers depend on the machine; record them in reports.

Recorded (2 shared cores, PostgreSQL 15 on loopback, load average ~0.8; before -> after each
store operation became one call: SQLite on the event loop with busy timeout 0, falling back to
its database thread; PostgreSQL commit_turn in one statement):

    SQLite      turn sequential    p50 0.73 -> 0.115 ms   p99 1.28 -> 0.20 ms
                turn 32 concurrent 1,222 -> 7,839 turns/s
                turn paced 1000/s  p50 0.81 -> 0.15 ms    p99 13.9 -> 0.34 ms
                commit_turn alone  p50 0.39 -> 0.046 ms   load alone p50 0.070 -> 0.008 ms
    PostgreSQL  turn sequential    p50 1.12 -> 0.91 ms    p99 1.67 -> 1.47 ms
                turn 32 concurrent 1,635 -> 1,866 turns/s
                turn paced 1000/s  p50 1.37 -> 1.20 ms    p99 5.6 -> 3.6 ms
                commit_turn alone  p50 0.78 -> 0.66 ms (one round trip; the rest is the server's
                                   WAL flush, synchronous_commit=on)
    Before background checkpoints, one SQLite turn in ~100 paid a WAL checkpoint: p99 4 ms.

Recorded 2026-12-01 16:33 UTC, ``--turns 1500``, load average 13.7 (so latencies say little;
CPU per operation is this process's, every thread), a dispatched turn both ways:

    SQLite      dispatched, lock apart     cpu  295 us/op    lock w/ entry   cpu  220 us/op
    PostgreSQL  dispatched, lock apart     cpu 2315 us/op    lock w/ entry   cpu 1294 us/op
                (six statements against three; the clear still waited for the disk then)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from psycopg import sql

from bot.conversation import Conversation, TranscriptEntry
from bot.messages import Inbound, Reply
from bot.storage.base import Store
from bot.storage.outbox import Outgoing
from bot.storage.postgres import PostgresStore, describe_dsn
from bot.storage.sqlite import SqliteStore


def report(name: str, samples: list[float], wall: float, cpu: float) -> None:
    """``cpu``: this process's CPU seconds over the run (every thread: the SQLite database and
    checkpoint threads too), which a loaded machine inflates far less than latency."""
    samples.sort()
    p50 = samples[len(samples) // 2] * 1000
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
    print(
        f"  {name:<26} {len(samples) / wall:>7,.0f} ops/s   p50 {p50:6.3f} ms   "
        f"p99 {p99:6.3f} ms   mean {statistics.fmean(samples) * 1000:6.3f} ms   "
        f"cpu {cpu / len(samples) * 1e6:5.0f} us/op"
    )


class Phase:
    """Wall and process CPU time from its start."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def done(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


async def timed(samples: list[float], op: Callable[[], Awaitable[object]]) -> None:
    start = time.perf_counter()
    await op()
    samples.append(time.perf_counter() - start)


async def turn(store: Store, n: int, contacts: int) -> None:
    key_contact = f"55119{n % contacts:08d}"
    key = f"whatsapp:{key_contact}"
    async with store.lock(key):
        seen, loaded = await store.seen_and_load(key, f"wamid.{n}")
        if seen:
            return
        convo = loaded or Conversation.new("whatsapp", key_contact)
        convo.state = "awaiting_cep" if n % 2 else "start"
        convo.context["turns"] = convo.context.get("turns", 0) + 1
        lines = [
            TranscriptEntry("customer", f"mensagem {n}"),
            TranscriptEntry("bot", "Qual o CEP?"),
        ]
        await store.commit_turn(convo, lines, provider_id=f"wamid.{n}")


OWNER = "bench-host:1:bench"


def message(n: int, contacts: int) -> Inbound:
    return Inbound(
        channel="whatsapp",
        contact=f"55119{n % contacts:08d}",
        text=f"rua das flores {n}",
        name="Zé",
        provider_id=f"wamid.d{n}",
    )


def outgoing(key: str, contact: str) -> Outgoing:
    replies = (Reply("Achei: Rua das Flores, 12 - Centro. É aí?"),)
    return Outgoing(uuid.uuid4().hex, key, "whatsapp", contact, replies, OWNER, 30.0)


def after(loaded: Conversation | None, inbound: Inbound) -> Conversation:
    convo = loaded or Conversation.new("whatsapp", inbound.contact)
    convo.state = "confirming"
    convo.context["turns"] = convo.context.get("turns", 0) + 1
    return convo


def lines(inbound: Inbound) -> list[TranscriptEntry]:
    return [TranscriptEntry("customer", inbound.text or ""), TranscriptEntry("bot", "É aí?")]


async def dispatched_apart(store: Store, n: int, contacts: int) -> None:
    """A dispatched turn as before 2026-12-01 (evening): store the entry; lock, load, commit,
    unlock; clear the entry with the sent replies."""
    inbound = message(n, contacts)
    accepted = await store.inbox_accept(inbound, OWNER, 30.0)
    assert accepted is not None
    async with store.lock(inbound.key):
        _, loaded = await store.seen_and_load(inbound.key, inbound.provider_id)
        out = outgoing(inbound.key, inbound.contact)
        await store.commit_turn(after(loaded, inbound), lines(inbound), inbound.provider_id, out)
    await store.inbox_done(accepted.id, OWNER, out.token)


async def dispatched_held(store: Store, n: int, contacts: int) -> None:
    """A dispatched turn now: store the entry, taking the lock and reading the conversation;
    commit; clear the entry with the sent replies and the lock."""
    inbound = message(n, contacts)
    accepted = await store.inbox_accept(inbound, OWNER, 30.0, lock=True)
    assert accepted is not None and accepted.held is not None
    held = accepted.held
    loaded = held.loaded
    if held.stale:
        _, loaded = await store.seen_and_load(inbound.key, inbound.provider_id)
    out = outgoing(inbound.key, inbound.contact)
    await store.commit_turn(after(loaded, inbound), lines(inbound), inbound.provider_id, out)
    await store.inbox_done(accepted.id, OWNER, out.token, held=held)


async def bench(name: str, store: Store, turns: int, concurrency: int) -> None:
    await store.open()
    print(f"{name}:")
    try:
        contacts = 500
        for n in range(200):  # warm up: statement caches, pool, pages
            await turn(store, -n - 1, contacts)

        samples: list[float] = []
        phase = Phase()
        for n in range(turns):
            await timed(samples, lambda n=n: turn(store, n, contacts))  # type: ignore[misc]
        report("turn, sequential", samples, *phase.done())

        samples = []
        counter = iter(range(turns, 2 * turns))

        async def worker() -> None:
            for n in counter:
                await timed(samples, lambda n=n: turn(store, n, contacts))  # type: ignore[misc]

        phase = Phase()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        report(f"turn, {concurrency} concurrent", samples, *phase.done())

        # Open loop at the engine's target rate: a turn starts every millisecond whether or not
        # the previous ones finished, as webhooks would arrive.
        samples = []
        rate = 1000
        tasks = []
        phase = Phase()
        for n in range(2 * turns, 3 * turns):
            delay = phase.wall + (n - 2 * turns) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(timed(samples, lambda n=n: turn(store, n, contacts))))  # type: ignore[misc]
        await asyncio.gather(*tasks)
        report(f"turn, paced at {rate}/s", samples, *phase.done())

        for label, dispatched, base in (
            ("dispatched, lock apart", dispatched_apart, 10 * turns),
            ("dispatched, lock w/ entry", dispatched_held, 20 * turns),
        ):
            for n in range(base - 200, base):  # warm up
                await dispatched(store, n, contacts)
            samples = []
            phase = Phase()
            for n in range(base, base + turns):
                await timed(samples, lambda n=n, d=dispatched: d(store, n, contacts))  # type: ignore[misc]
            report(label, samples, *phase.done())

        # Dispatched turns of distinct conversations at once, as webhooks under load bring them:
        # on SQLite a finished entry's clear then shares the next write's transaction.
        samples = []
        counter = iter(range(30 * turns, 31 * turns))

        async def dispatcher() -> None:
            for n in counter:
                await timed(samples, lambda n=n: dispatched_held(store, n, contacts))  # type: ignore[misc]

        phase = Phase()
        await asyncio.gather(*(dispatcher() for _ in range(concurrency)))
        report(f"dispatched, {concurrency} concurrent", samples, *phase.done())

        convo = Conversation.new("whatsapp", "5511900000000")
        line = [TranscriptEntry("customer", "oi"), TranscriptEntry("bot", "Olá!")]
        samples = []
        phase = Phase()
        for n in range(turns):
            await timed(samples, lambda n=n: store.commit_turn(convo, line, f"c.{n}"))  # type: ignore[misc]
        report("commit_turn alone", samples, *phase.done())

        samples = []
        phase = Phase()
        for _ in range(turns):
            await timed(samples, lambda: store.load(convo.key))
        report("load alone", samples, *phase.done())
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        await bench(
            "SQLite (WAL, synchronous=NORMAL)",
            SqliteStore(Path(tmp) / "bench.db"),
            args.turns,
            args.concurrency,
        )

    schema = f"ozbot_bench_{uuid.uuid4().hex[:8]}"
    try:
        store = PostgresStore(args.postgres, schema=schema, max_size=args.concurrency + 2)
        await bench(
            f"PostgreSQL ({describe_dsn(args.postgres)})", store, args.turns, args.concurrency
        )
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    asyncio.run(main())
