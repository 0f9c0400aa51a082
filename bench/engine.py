"""Engine benchmark: whole turns through the engine, on SQLite and PostgreSQL, against the OZmap
sandbox running in its own process.

    .venv/bin/python bench/engine.py [--customers 50] [--menu-turns 3000] [--postgres URL]
                                     [--latencies 0,0.05] [--stores sqlite,postgres]

Three measurements per store:

* **engine alone** (menu turns: lock, de-duplicate, load, route, step, save, send; no OZmap):
  sequential turns (latency per turn) and ``--customers`` concurrent customers (throughput);
* **sales conversations** for each injected OZmap latency: ``--customers`` customers at once,
  each "oi", "1", an address, "sim" (feasibility), a name, "sim" (reservation); p50/p99 per kind
  of turn. At 50 ms the feasibility turn should cost ~1 round trip (the radius and condominium
  requests run in parallel), the reservation turn ~2 (look the code up, then create).

Replies go to a channel that drops them. PostgreSQL runs in a throwaway schema. Not a test: the
numbers depend on the machine; record them in reports.

Recorded 2026-11-23, after the store rewrite (2 cores, machine otherwise quiet, load ~1.0):

    engine's own work per menu turn (route, transitions step, prompts, i18n, copy; no store)
                                 p50 0.08 ms   p99 0.13 ms
    menu turns, whole            SQLite      sequential p50 0.24 ms  p99 0.41 ms
                                             50 customers 3,765 turns/s
                                             paced 1,000/s: 983 turns/s, p50 0.39 ms, p99 1.13 ms
                                 PostgreSQL  sequential p50 1.38 ms  p99 2.03 ms
                                             50 customers 1,604 turns/s
                                             paced 1,000/s: 998 turns/s, p50 1.20 ms, p99 2.89 ms
    OZmap at 50 ms, one customer at a time:
        radius request alone 55.1 ms, condominium request alone 54.5 ms
        feasibility turn     p50 56.1 ms (SQLite) / 57.1 ms (PostgreSQL): one round trip
        reservation turn     p50 106-107 ms: two (look the code up, then create)
        turns without OZmap  p50 0.3-1.5 ms
    50 sales conversations at once, 50 ms: 332 (SQLite) / 209 (PostgreSQL) turns/s; the
    single-process sandbox's own CPU (feasibility over the whole network) is the bottleneck
    there, not the engine.

(The paced runs show 983-998 turns/s rather than 1,000: the load generator's sleep granularity;
all 3,000 turns completed.)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from psycopg import sql

from bot.channels.base import Channel
from bot.compose import Runtime, compose
from bot.conversation import Conversation
from bot.engine import Engine, route
from bot.engine.turns import succeeded
from bot.geo.gazetteer import Gazetteer, GazetteerGeocoder, OfflineCepLookup
from bot.i18n import Catalogs
from bot.messages import Inbound, Reply
from bot.ozmap.client import OzmapClient
from bot.ozmap.sandbox.process import run_sandbox_process
from bot.settings import load_settings
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from flows import INTENTS

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
# covered addresses spread over the network, so reservations do not all fight for one box
ADDRESSES = [
    *(f"Rua Delminda Silveira, {n}" for n in range(100, 2000, 150)),
    *(f"Rua Lauro Linhares, {n}" for n in range(100, 2200, 200)),
    *(f"Rua Rui Barbosa, {n}" for n in range(100, 1500, 200)),
    *(f"Rua Felipe Schmidt, {n}" for n in range(100, 1500, 200)),
]
SALES = [("greeting", "oi"), ("menu choice", "1"), ("address", None), ("feasibility", "sim")]
SALES += [("name", "Maria da Silva"), ("reservation", "sim")]


class NullChannel(Channel):
    name = "bench"

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        return None


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def line(name: str, samples: list[float], wall: float | None = None) -> str:
    rate = f"{len(samples) / wall:>8,.0f} turns/s" if wall else " " * 16
    return (
        f"    {name:<22} {rate}   p50 {percentile(samples, 0.5):7.2f} ms   "
        f"p99 {percentile(samples, 0.99):7.2f} ms   mean {statistics.fmean(samples) * 1000:7.2f}"
        f" ms   n={len(samples)}"
    )


@asynccontextmanager
async def open_store(kind: str, directory: Path, postgres: str) -> AsyncIterator[Store]:
    store: Store
    schema = None
    if kind == "sqlite":
        store = SqliteStore(directory / f"{uuid.uuid4().hex}.db")
    else:
        schema = f"ozbot_bench_{uuid.uuid4().hex[:10]}"
        store = PostgresStore(postgres, schema=schema, max_size=10)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        if schema is not None:
            with psycopg.connect(postgres, autocommit=True) as conn:
                drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                conn.execute(drop)


@asynccontextmanager
async def composed(
    store: Store, sandbox_url: str, token: str, directory: Path, streets: Gazetteer
) -> AsyncIterator[Runtime]:
    """The bot as the composition root builds it, on ``store``, replies dropped. No timers
    (as when the figures above were recorded) and no background sweeps: turns only."""
    settings = load_settings(
        environ={},
        env_file=None,
        data_dir=directory,
        ozmap_url=sandbox_url,
        ozmap_token=token,
        nudge_minutes=0,
        expire_minutes=0,
        handoff_timeout_minutes=0,
    )
    async with compose(
        settings,
        channels={"bench": NullChannel()},
        store=store,
        geocoder=GazetteerGeocoder(streets),
        ceps=OfflineCepLookup(streets),
        background=False,
    ) as runtime:
        yield runtime


def message(contact: str, text: str) -> Inbound:
    return Inbound(channel="bench", contact=contact, text=text, provider_id=uuid.uuid4().hex)


async def timed_turn(engine: Engine, contact: str, text: str) -> float:
    start = time.perf_counter()
    await engine.handle(message(contact, text))
    return time.perf_counter() - start


async def engine_own(engine: Engine, catalogs: Catalogs, turns: int) -> None:
    """Route, step (transitions machine, prompts, translations) and the saved copy, without the
    store: what the engine itself adds to a turn."""
    conversation = Conversation.new("bench", "own")
    t = catalogs.translator("pt_BR")
    texts = ["oi", "qual o preço?", "menu"]
    samples = []
    for i in range(turns):
        start = time.perf_counter()
        routed = route(conversation, message("own", texts[i % 3]), INTENTS)
        turn = await engine.turns.step(conversation, routed, t)
        conversation = succeeded(conversation, turn)
        samples.append(time.perf_counter() - start)
    print(line("engine's own work", samples))


async def engine_alone(engine: Engine, turns: int, customers: int, rate: float) -> None:
    """Menu turns only: the engine's own cost, no OZmap."""
    texts = ["oi", "qual o preço?", "menu"]
    sequential = []
    for i in range(turns // 3):
        sequential.append(await timed_turn(engine, "seq", texts[i % 3]))
    print(line("sequential", sequential))

    samples: list[float] = []

    async def customer(c: int) -> None:
        for i in range(turns // customers):
            samples.append(await timed_turn(engine, f"menu{c}", texts[i % 3]))

    start = time.perf_counter()
    await asyncio.gather(*(customer(c) for c in range(customers)))
    print(line(f"{customers} customers", samples, time.perf_counter() - start))

    # open loop: turns arrive at a steady rate over many customers, as webhooks do
    paced: list[float] = []
    tasks = []
    start = time.perf_counter()
    for i in range(turns):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed_turn(engine, f"paced{i % 300}", texts[i % 3])))
    paced = list(await asyncio.gather(*tasks))
    print(line(f"paced at {rate:,.0f}/s", paced, time.perf_counter() - start))


async def sales(engine: Engine, customers: int, run: str, *, concurrent: bool) -> None:
    by_kind: dict[str, list[float]] = defaultdict(list)

    async def customer(c: int) -> None:
        contact = f"{run}-{c}"
        for kind, text in SALES:
            said = text if text is not None else ADDRESSES[c % len(ADDRESSES)]
            by_kind[kind].append(await timed_turn(engine, contact, said))

    start = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(customer(c) for c in range(customers)))
    else:
        for c in range(customers):
            await customer(c)
    wall = time.perf_counter() - start
    total = sum(len(v) for v in by_kind.values())
    how = f"{customers} at once" if concurrent else f"{customers}, one after another"
    print(f"    sales conversations, {how}: {total / wall:,.0f} turns/s overall")
    for kind, _ in SALES:
        print(line(kind, by_kind[kind]))


async def bare_requests(ozmap: OzmapClient, repeats: int = 20) -> None:
    """The two feasibility requests alone, for comparison with the feasibility turn."""
    for name, call in (
        ("radius request", lambda: ozmap.feasibility(-27.5782, -48.5274, 250)),
        ("condominium request", lambda: ozmap.condominium_feasibility(-27.5782, -48.5274)),
    ):
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - start)
        print(line(name, samples))


async def main(args: argparse.Namespace) -> None:
    streets = Gazetteer.from_file()
    latencies = [float(x) for x in args.latencies.split(",") if x]
    with tempfile.TemporaryDirectory(prefix="ozbot-bench-") as tmp:
        for kind in args.stores.split(","):
            print(f"\n== {kind}")
            for latency in latencies:
                with run_sandbox_process(latency=latency) as sandbox:
                    async with (
                        open_store(kind, Path(tmp), args.postgres) as store,
                        composed(store, sandbox.url, sandbox.token, Path(tmp), streets) as bot,
                    ):
                        engine, ozmap, catalogs = bot.engine, bot.ozmap, bot.catalogs
                        if latency == latencies[0]:
                            print("  engine alone (menu turns, no OZmap):")
                            await engine_own(engine, catalogs, args.menu_turns)
                            await engine_alone(engine, args.menu_turns, args.customers, args.rate)
                        # warm the client's condominium directory: a cold one costs 2 more trips
                        await ozmap.condominium_feasibility(-27.5782, -48.5274)
                        print(f"  OZmap latency {latency * 1000:.0f} ms:")
                        await bare_requests(ozmap)
                        await sales(engine, 10, f"{kind}{latency}s", concurrent=False)
                        await sales(engine, args.customers, f"{kind}{latency}", concurrent=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--menu-turns", type=int, default=3000)
    parser.add_argument("--latencies", default="0,0.05")
    parser.add_argument("--rate", type=float, default=1000.0, help="paced menu turns per second")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--postgres", default=POSTGRES)
    asyncio.run(main(parser.parse_args()))
