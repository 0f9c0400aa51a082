"""Webhook benchmark: what a sales turn costs ``ozbot serve``, in CPU time, beside latency, against
a first python-telegram-bot bot and the HTTP floor, in one run.

    .venv/bin/python bench/webhooks.py [--tree today=/work/wt/perf-baseline --tree new=.]
        [--stores sqlite,postgres] [--channels telegram,twilio] [--baselines ptb,floor]
        [--customers 150] [--rate 10] [--think 1.0] [--processes 1[,2]] [--profile DIR]

Processes besides this one: the server under test, the OZmap sandbox standing in for a remote
OZmap (``--ozmap-latency`` adds network time), the Telegram and Twilio fakes
(``tests.fakes.serve``), and on PostgreSQL a counting proxy in front of it (:mod:`pgcount`).
The harness is this tree's; the server is ``<tree>/.venv/bin/python -m bot.cli serve`` of each
``--tree`` (so today's code and the new code are measured by the same harness, in the same
run), on SQLite and on a fresh PostgreSQL database of its own.

Phases, each on a freshly started server, each channel on its own: customers arrive as a
Poisson process at ``--rate`` per second and each sends five messages ``--think`` seconds apart,
whatever the bot answers (open loop; offered turns/s = 5 x rate): greeting, "I want internet"
(a tap, or "1" on WhatsApp), a location pin or a typed address (geocoding), "yes, that's my
address" (OZmap feasibility), their name. No reservation is made, so the sandbox's ports do not
run out. Before the measured load: one customer closed-loop (how many replies each step gives),
then ``--warmup`` customers unmeasured (caches, prepared statements, pools).

* ``ptb``: the same conversation as a python-telegram-bot ``ConversationHandler`` bot on
  Starlette (:mod:`ptb_bot`), Telegram only;
* ``floor``: a Starlette endpoint that only answers 200 (:mod:`floor`), the same requests.

Printed per phase: the server's CPU time per turn (utime+stime from /proc over the window, first
request to last reply, divided by the turns whose replies all arrived) and the kernel's share of
it (stime); on PostgreSQL the CPU of
its backends per turn (/proc of the bench database's backends) and round trips and transactions
per turn (counted on the wire by the proxy, in a second, shorter run of the phase: the proxy's
extra hop costs the server about 1 ms of CPU a turn, so the CPU figures come from a server
connected to PostgreSQL directly); the load client's own CPU per turn; turns/s; webhook
response p50/p99 (the POST, signature checking included) and reply latency p50/p99 (POST sent ->
the step's last reply received by the fake); the load average around the phase. Then each
ozbot row's ratio to the PTB bot and to the floor.

``--profile DIR`` samples each server's measured window on its CPU clock (bench/sampler, loaded
into the server through ``PYTHONPATH``, whatever its tree) and writes one file a phase;
``bench/profile.py`` sums a file up in microseconds of CPU per turn. (``--py-spy DIR`` records
with py-spy instead; on this virtual machine it counts runnable-but-waiting time as busy.)

CPU per turn moves little when other processes share the two cores (it still grew by up to a
third in phases where a loaded machine left the server behind its load); latency and
throughput do not hold at all: repeat a run (``--repeat``) before trusting a latency, and compare
trees in the same run. Not a test: numbers depend on the machine; record them.

Recorded 2026-12-01 17:30 UTC, load average 4.6-8.5 on the two cores (other helpers' suites),
150 customers at 10/s per phase: ``today`` = 7eeae71 (the issue's baseline), ``before`` = main at
de5c6da, ``new`` = the lock taken with the inbox entry and the asynchronous clear (main at
56e41a8 plus 7c14d67; it also carries other helpers' NLU and flow work landed in between):

    .venv/bin/python bench/webhooks.py --tree today=/work/wt/perf-baseline \
        --tree before=/work/wt/perf-db-main --tree new=/work/wt/perf-db

    server                     store    channel  turns CPU/turn  DB CPU DB RT DB tx
    HTTP floor (Starlette 200) -        telegram   750     0.28       -     -     -
    PTB ConversationHandler    pickle   telegram   750     2.92       -     -     -
    ozbot today                sqlite   telegram   750     5.05       -     -     -
    ozbot today                sqlite   twilio     749     4.04       -     -     -
    ozbot today                postgres telegram   748     6.34    1.98   8.2   8.1
    ozbot today                postgres twilio     749     5.87    2.34   9.2   9.2
    ozbot before               sqlite   telegram   750     3.79       -     -     -
    ozbot before               sqlite   twilio     750     4.16       -     -     -
    ozbot before               postgres telegram   750     4.69    1.77   6.2   6.1
    ozbot before               postgres twilio     750     5.45    1.87   6.4   6.4
    ozbot new                  sqlite   telegram   750     3.32       -     -     -
    ozbot new                  sqlite   twilio     750     3.77       -     -     -
    ozbot new                  postgres telegram   750     3.88    1.59   3.1   3.1
    ozbot new                  postgres twilio     750     4.23    1.55   3.3   3.3

PTB/ozbot 0.69-0.88x, ozbot/floor 12-15x. A PostgreSQL turn is three round trips (store the
message, taking its lock and reading the conversation; commit; clear, unlocking); the rest of
"DB RT" is the geocoder's cache write on the typed-address step (0.2 on Twilio) and the 5 s
sweeps (about 0.1 at 45 turns/s; a fixed cost per second, not per turn). Reply p50 on
PostgreSQL 35/26 ms before, 17/14 ms new (one fsync fewer a turn, and three statements fewer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from load import (
    TG_SECRET,
    TW_TOKEN,
    Customer,
    Fake,
    Outcome,
    client_cpu,
    cpu_seconds,
    cpu_split,
    drive,
    percentile,
    tally,
    telegram_customer,
    twilio_customer,
    wait_replies,
)
from rawhttp import Connections

from bot.ozmap.sandbox import Network
from bot.ozmap.sandbox.process import run_sandbox_process
from tests.fakes.payloads import ACCOUNT_SID, BOT_NUMBER
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SAMPLER = BENCH / "sampler"
PROFILE_HZ = 1000
TG_TOKEN = "7000000001:AAF-bench-token"  # noqa: S105  # the local fakes' credentials
OZMAP_TOKEN = "bench-ozmap-token"  # noqa: S105
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# the processes' output, one directory per run (other helpers run benchmarks too)
LOGS = Path(tempfile.gettempdir()) / f"ozbot-bench-{os.getpid()}"


@dataclass(frozen=True)
class Target:
    """A server to measure: ``kind`` ozbot (of ``tree``), ptb or floor, on ``store``."""

    label: str
    kind: str
    store: str
    channels: tuple[str, ...]
    tree: Path = ROOT
    processes: int = 1  # ``ozbot serve`` processes behind the round-robin (ozbot only)


@dataclass
class Row:
    target: Target
    channel: str
    outcome: Outcome
    db_cpu: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)  # SQL -> times run in the window
    counted_turns: int = 0  # the turns the counts are over (a run of their own)
    lock_timeouts: int = 0  # LockTimeout messages the servers logged in the phase (both runs)


@dataclass
class World:
    """What every phase shares: the sandbox, the fakes, the PostgreSQL proxy."""

    args: argparse.Namespace
    ozmap_url: str
    fakes: dict[str, Fake]
    fake_urls: dict[str, str]
    proxy_port: int = 0
    control_port: int = 0
    pin: tuple[float, float] = (0.0, 0.0)
    databases: int = 0


def start(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def give_up(why: str, log: Path) -> SystemExit:
    return SystemExit(f"{log.name}: {why}:\n{log.read_text()[-3000:]}")


def spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (``uv pip install py-spy``) sampling ``pid`` until SIGINT, without pausing it,
    into collapsed stacks (``bench/profile.py`` sums them up; flamegraph tools read them)."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking"]
    command += ["--pid", str(pid), "--rate", "250", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603


async def wait_up(port: int, path: str, process: subprocess.Popen[bytes], log: Path) -> None:
    http = Connections("127.0.0.1", port, limit=1)
    for _ in range(600):
        if process.poll() is not None:
            raise give_up("the process exited", log)
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await http.get(path)
            http.close()
            return
        await asyncio.sleep(0.1)
    raise give_up(f"nothing answered {path} in 60 s", log)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def base_env() -> dict[str, str]:
    prefixes = ("TELEGRAM_", "TWILIO_", "OZMAP_", "GEOCODER", "CEP_", "DATABASE_", "OZBOT_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@contextlib.contextmanager
def database(world: World) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its name."""
    world.databases += 1
    name = f"ozbot_bench_{os.getpid()}_{world.databases}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_commands(
    target: Target, world: World, ports: list[int], data: Path, db_url: str
) -> list[tuple[list[str], dict[str, str], Path]]:
    env = base_env() | {"PYTHONPATH": str(target.tree)}
    if world.args.profile:
        # bench/sampler/sitecustomize.py: samples the measured window when signalled
        env["PYTHONPATH"] = f"{SAMPLER}{os.pathsep}{target.tree}"
        env["OZBOT_BENCH_PROFILE"] = str(Path(world.args.profile).resolve() / "sampled")
        env["OZBOT_BENCH_PROFILE_HZ"] = str(PROFILE_HZ)
    python = str(target.tree / ".venv" / "bin" / "python")
    public = f"http://127.0.0.1:{ports[0]}"  # what Twilio signs, whichever process answers
    if target.kind == "floor":
        return [([sys.executable, str(BENCH / "floor.py"), "--port", str(ports[0])], env, ROOT)]
    if target.kind == "ptb":
        args = {
            "port": ports[0],
            "token": TG_TOKEN,
            "api-url": world.fake_urls["telegram"],
            "ozmap-url": world.ozmap_url,
            "ozmap-token": OZMAP_TOKEN,
            "secret": TG_SECRET,
            "data": data,
        }
        flags = [part for key, value in args.items() for part in (f"--{key}", str(value))]
        return [([sys.executable, str(BENCH / "ptb_bot.py"), *flags], env, ROOT)]
    env |= {
        "OZBOT_DATA_DIR": str(data),
        "DATABASE_URL": db_url,
        "OZMAP_URL": world.ozmap_url,
        "OZMAP_TOKEN": OZMAP_TOKEN,
        "GEOCODER": "gazetteer",
        "CEP_PROVIDER": "offline",
        "PUBLIC_BASE_URL": public,
        "TELEGRAM_TOKEN": TG_TOKEN,
        "TELEGRAM_SECRET": TG_SECRET,
        "TELEGRAM_API_URL": world.fake_urls["telegram"],
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TW_TOKEN,
        "TWILIO_FROM": BOT_NUMBER,
        "TWILIO_API_URL": world.fake_urls["whatsapp"],
        "OZBOT_SESSION_SECRET": "bench",
        "OZBOT_WEBHOOK_CONCURRENCY": str(world.args.concurrency),
    }
    return [
        ([python, "-m", "bot.cli", "serve", "--port", str(port)], env, target.tree)
        for port in ports
    ]


async def proxy_counts(world: World) -> dict[str, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", world.control_port)
    line = await reader.readline()
    writer.close()
    return dict(json.loads(line))


def backend_pids(name: str) -> list[int]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return [int(row[0]) for row in rows]


async def calibrate(world: World, servers: list[Connections], customer: Customer) -> list[int]:
    """Replies per step for one customer, one step at a time."""
    fake = world.fakes[customer.channel]
    counts = []
    for raw in customer.requests:
        before = await fake.count()
        status, _ = await servers[0].request(raw)
        if status != 200:
            raise SystemExit(f"calibration: the webhook answered {status}")
        counts.append(await fake.quiet(before) - before)
    return counts


def new_customer(world: World, channel: str, host: str, public: str) -> Customer:
    if channel == "telegram":
        return telegram_customer(host, world.pin)
    return twilio_customer(host, public)


def signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        os.kill(pid, signum)


async def keep_profiles(
    folder: Path, target: Target, channel: str, pids: list[int], outcome: Outcome
) -> None:
    """Name the sampler's files (bench/sampler) after the phase, with a first line saying what
    they cover, for ``bench/profile.py --per-turn``."""
    for i, pid in enumerate(pids):
        raw = folder / f"sampled-{pid}.txt"
        for _ in range(100):
            if raw.exists():
                break
            await asyncio.sleep(0.05)
        else:
            print(f"  no profile from process {pid} (is bench/sampler on its PYTHONPATH?)")
            continue
        name = f"{target.label}-{target.store}-{shown(channel)}-{i}.txt".replace(" ", "_")
        header = f"# turns {outcome.turns} cpu {outcome.server_cpu:.3f} hz {PROFILE_HZ}\n"
        (folder / name).write_text(header + raw.read_text())
        raw.unlink()
        print(f"  profile: {folder / name}")


async def phase(
    world: World,
    target: Target,
    channel: str,
    ports: list[int],
    pids: list[int],
    db: str | None,
    customers: int,
    direct: bool,
) -> Row:
    args = world.args
    servers = [Connections("127.0.0.1", port) for port in ports]
    host, public = f"127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[0]}"
    fake = None if target.kind == "floor" else world.fakes[channel]
    per_step = None
    if fake is not None:
        per_step = await calibrate(world, servers, new_customer(world, channel, host, public))
    total = sum(per_step) if per_step else 0
    for count, seed, timed in ((args.warmup, 1, False), (customers, 7, True)):
        customers = [new_customer(world, channel, host, public) for _ in range(count)]
        since = await fake.count() if fake is not None else 0
        before_cpu = sum(cpu_seconds(pid) for pid in pids)
        before_sys = sum(cpu_split(pid)[1] for pid in pids)
        load_before = os.getloadavg()[0]
        db_pids = backend_pids(db) if db else []
        before_db = {pid: cpu_seconds(pid) for pid in db_pids}
        counting = db is not None and not direct
        before_counts = await proxy_counts(world) if counting else {}
        before_client = client_cpu()
        started = time.time()
        if timed and args.profile:
            signal_all(pids, signal.SIGUSR1)
        sent = await drive(servers, customers, rate=args.rate, think=args.think, seed=seed)
        await wait_replies(fake, since + total * count, 120)
        await asyncio.sleep(0.3)  # what a turn does after its last reply (the inbox entry)
        if timed and args.profile:
            signal_all(pids, signal.SIGUSR2)
        replies = await fake.sent(since) if fake is not None else []
        outcome = tally(sent, replies, per_step, count, started)
        if not timed:
            continue
        outcome.server_cpu = sum(cpu_seconds(pid) for pid in pids) - before_cpu
        outcome.server_sys = sum(cpu_split(pid)[1] for pid in pids) - before_sys
        outcome.load = (load_before, os.getloadavg()[0])
        outcome.client_cpu = client_cpu() - before_client
        row = Row(target, channel, outcome)
        if args.profile:
            await keep_profiles(Path(args.profile), target, channel, pids, outcome)
        if db:
            after = {pid: cpu_seconds(pid) for pid in backend_pids(db)}
            row.db_cpu = sum(value - before_db.get(pid, 0.0) for pid, value in after.items())
            if counting:
                end = await proxy_counts(world)
                ran, ran_before = end.pop("statements"), before_counts.pop("statements")
                row.counts = {k: end[k] - before_counts[k] for k in end}
                row.statements = {k: n - ran_before.get(k, 0) for k, n in ran.items()}
    for server in servers:
        server.close()
    if per_step is not None and direct:
        print(f"  {target.label} {target.store} {channel}: replies per step {per_step}")
    return row


async def measure(world: World, target: Target) -> list[Row]:
    """The target's phases. On PostgreSQL the server connects to it directly (the counting
    proxy's extra hop costs the server CPU: about 1 ms a turn here), then a second server,
    through the proxy, runs ``--count-customers`` more per channel for the round trips."""
    rows = await serve(world, target, direct=True, customers=world.args.customers)
    if target.store == "postgres" and world.args.count_customers > 0:
        counted = await serve(world, target, direct=False, customers=world.args.count_customers)
        for row, count in zip(rows, counted, strict=True):
            row.counts, row.statements = count.counts, count.statements
            row.counted_turns = count.outcome.turns
            row.lock_timeouts += count.lock_timeouts
            if world.args.pg_statements:
                turns = max(count.outcome.turns, 1)
                print(f"  statements per turn, {target.label} {shown(row.channel)}:")
                for sql, n in sorted(count.statements.items(), key=lambda kv: -kv[1]):
                    if n:
                        print(f"    {n / turns:5.2f}  {sql}")
    for row in rows:
        print(line(row), flush=True)
    return rows


async def serve(world: World, target: Target, *, direct: bool, customers: int) -> list[Row]:
    args = world.args
    ports = [free_port() for _ in range(target.processes)]
    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ozbot-bench-")))
        db = None
        db_url = f"sqlite:///{data}/ozbot.db"
        if target.store == "postgres":
            db = stack.enter_context(database(world))
            port = 5432 if direct else world.proxy_port
            db_url = (
                f"postgresql://postgres@127.0.0.1:{port}/{db}?sslmode=disable&gssencmode=disable"
            )
        processes: list[subprocess.Popen[bytes]] = []
        stack.callback(stop, processes)
        commands = server_commands(target, world, ports, data, db_url)
        logs = []
        for i, (command, env, cwd) in enumerate(commands):
            name = f"{target.label}-{target.store}-{i}".replace(" ", "_")
            log = LOGS / f"{name}.log"
            logs.append(log)
            processes.append(start(command, env, log, cwd))
            await wait_up(ports[i], "/healthz", processes[-1], log)
        spies = []
        if args.py_spy and direct:
            for i, process in enumerate(processes):
                name = f"{target.label}-{target.store}-{i}.txt".replace(" ", "_")
                spies.append(spy(process.pid, Path(args.py_spy) / name))
        pids = [process.pid for process in processes]
        rows = []
        for channel in target.channels:
            logged = lock_timeouts(logs)
            row = await phase(world, target, channel, ports, pids, db, customers, direct)
            row.lock_timeouts = lock_timeouts(logs) - logged
            rows.append(row)
        for spying in spies:
            spying.send_signal(signal.SIGINT)
            spying.wait(60)
    return rows


def lock_timeouts(logs: list[Path]) -> int:
    """How many times the servers logged a conversation lock they waited for in vain (the
    messages of :class:`bot.errors.LockTimeout`), in these logs so far."""
    found = 0
    for log in logs:
        with contextlib.suppress(OSError):
            text = log.read_text(errors="replace")
            found += text.count("stayed locked by another process") + text.count("stayed busy for")
    return found


def ms(value: float) -> str:
    return f"{value * 1000:7.2f}"


HEADER = (
    f"{'server':<26} {'store':<8} {'channel':<8} {'turns':>5} {'turns/s':>7} "
    f"{'CPU/turn':>8} {'sys':>4} {'DB CPU':>7} {'DB RT':>5} {'DB tx':>5} {'client':>6} "
    f"{'webhook p50/p99':>16} {'reply p50/p99':>16} {'bad':>4} {'lockTO':>6} {'load':>9}"
)


def shown(channel: str) -> str:
    return "twilio" if channel == "whatsapp" else channel


def line(row: Row) -> str:
    o = row.outcome
    turns = max(o.turns, 1)
    db_cpu = f"{row.db_cpu / turns * 1000:7.2f}" if row.db_cpu is not None else f"{'-':>7}"
    counted = max(row.counted_turns or o.turns, 1)
    rt = f"{row.counts['round_trips'] / counted:5.1f}" if row.counts else f"{'-':>5}"
    tx = f"{row.counts['transactions'] / counted:5.1f}" if row.counts else f"{'-':>5}"
    hook = f"{ms(percentile(o.responses, 0.5))}/{ms(percentile(o.responses, 0.99)).strip()}"
    reply = (
        f"{ms(percentile(o.latencies, 0.5))}/{ms(percentile(o.latencies, 0.99)).strip()}"
        if row.target.kind != "floor"
        else "-"
    )
    return (
        f"{row.target.label:<26} {row.target.store:<8} {shown(row.channel):<8} {o.turns:>5} "
        f"{o.turns / max(o.seconds, 1e-9):7.1f} {o.server_cpu / turns * 1000:8.2f} "
        f"{o.server_sys / max(o.server_cpu, 1e-9):4.0%} {db_cpu} "
        f"{rt} {tx} {o.client_cpu / turns * 1000:6.2f} {hook:>16} {reply:>16} "
        f"{o.bad + o.non_200:>4} {row.lock_timeouts:>6} {o.load[0]:4.1f}-{o.load[1]:<4.1f}"
    )


def report(rows: list[Row]) -> None:
    print()
    print(
        "CPU/turn, DB CPU (PostgreSQL backends) and client (this load client) in ms of CPU per "
        "turn; sys: the kernel's share of the server's CPU; DB RT and DB tx: PostgreSQL round "
        "trips and transactions per turn; latencies in ms; bad: customers with unexpected "
        "replies + non-200 answers; lockTO: conversation locks the servers waited for in vain "
        "(LockTimeout, counted in their logs, the run through the proxy included); load: the "
        "1-minute load average when the phase began-ended "
        "(above 2, the two cores are shared: CPU per turn grows with it)"
    )
    print(HEADER)
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.target.label, row.target.store, row.channel), []).append(row)
    for group in groups.values():
        for row in group:
            print(line(row))
    # medians over --repeat runs
    cost = {
        key: statistics.median(r.outcome.server_cpu / max(r.outcome.turns, 1) for r in group)
        for key, group in groups.items()
    }
    ptb = next((cost[k] for k, g in groups.items() if g[0].target.kind == "ptb"), None)
    floor = next((cost[k] for k, g in groups.items() if g[0].target.kind == "floor"), None)
    print()
    print("server CPU per turn (median of the runs), and its ratios:")
    for key, group in groups.items():
        label, store, channel = key
        parts = [f"  {label:<26} {store:<8} {shown(channel):<8} {cost[key] * 1000:6.2f} ms"]
        if group[0].target.kind == "ozbot":
            if ptb:
                parts.append(f"PTB/ozbot {ptb / cost[key]:4.2f}x")
            if floor:
                parts.append(f"ozbot/floor {cost[key] / floor:4.1f}x")
            counts = [
                r.counts["round_trips"] / max(r.counted_turns or r.outcome.turns, 1)
                for r in group
                if r.counts
            ]
            if counts:
                parts.append(f"DB round trips/turn {statistics.median(counts):.1f}")
        print("  ".join(parts))


def targets(args: argparse.Namespace) -> list[Target]:
    found = []
    if "floor" in args.baselines:
        found.append(Target("HTTP floor (Starlette 200)", "floor", "-", ("telegram",)))
    if "ptb" in args.baselines:
        found.append(Target("PTB ConversationHandler", "ptb", "pickle", ("telegram",)))
    for spec in args.tree or [f"new={ROOT}"]:
        label, _, path = spec.rpartition("=")
        tree = Path(path).resolve()
        if not (tree / ".venv" / "bin" / "python").exists():
            raise SystemExit(f"{tree} has no .venv: run `make lint` there once")
        for store in args.stores.split(","):
            for processes in args.processes:
                name = f"ozbot {label or tree.name}" + (f" x{processes}" if processes > 1 else "")
                channels = tuple(args.channels.split(","))
                found.append(Target(name, "ozbot", store, channels, tree, processes))
    return found


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tree",
        action="append",
        help="LABEL=PATH: a checkout whose .venv runs `ozbot serve` (repeatable; default: this)",
    )
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--channels", default="telegram,twilio")
    parser.add_argument("--baselines", default="floor,ptb", help="floor,ptb, or none")
    parser.add_argument("--customers", type=int, default=150, help="measured customers per phase")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured customers first")
    parser.add_argument("--rate", type=float, default=10.0, help="new customers per second")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between messages")
    parser.add_argument("--concurrency", type=int, default=32, help="OZBOT_WEBHOOK_CONCURRENCY")
    parser.add_argument(
        "--processes",
        default="1",
        help="ozbot serve processes on one database, round-robin (1,2: each tree both ways, "
        "one after the other in the same run)",
    )
    parser.add_argument("--ozmap-latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--count-customers",
        type=int,
        default=40,
        help="on PostgreSQL, customers per channel run again through the counting proxy",
    )
    parser.add_argument(
        "--pg-statements", action="store_true", help="print the statements a turn runs"
    )
    parser.add_argument("--repeat", type=int, default=1, help="run every phase this many times")
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="py-spy each server (it counts runnable-but-waiting time too: see --profile)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample each server's measured window on its CPU clock (bench/sampler) into DIR, "
        "one file a phase; bench/profile.py --per-turn sums them up",
    )
    args = parser.parse_args()
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    args.channels = args.channels.replace("twilio", "whatsapp")
    args.processes = [int(n) for n in str(args.processes).split(",")]
    return args


async def run(world: World) -> None:
    rows: list[Row] = []
    for _ in range(world.args.repeat):
        for target in targets(world.args):
            rows += await measure(world, target)
    report(rows)


def main() -> None:
    args = parse_args()
    LOGS.mkdir(exist_ok=True)
    print(f"logs in {LOGS}")
    env = base_env() | {"PYTHONPATH": str(ROOT)}
    tg_port, tw_port = free_port(), free_port()
    fake_cmd = [sys.executable, "-m", "tests.fakes.serve"]
    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(
            run_sandbox_process(token=OZMAP_TOKEN, latency=args.ozmap_latency)
        )
        helpers: list[subprocess.Popen[bytes]] = []
        stack.callback(stop, helpers)
        helpers.append(
            start([*fake_cmd, "telegram", "--port", str(tg_port), "--token", TG_TOKEN],
                  env, LOGS / "bench-tg.log", ROOT)
        )  # fmt: skip
        helpers.append(
            start([*fake_cmd, "twilio", "--port", str(tw_port), "--token", TW_TOKEN],
                  env, LOGS / "bench-tw.log", ROOT)
        )  # fmt: skip
        proxy_port, control_port = free_port(), free_port()
        if "postgres" in args.stores:
            helpers.append(
                start([sys.executable, str(BENCH / "pgcount.py"), "--port", str(proxy_port),
                       "--control-port", str(control_port)], env, LOGS / "bench-pg.log", ROOT)
            )  # fmt: skip
        covered = Network.load().samples["covered"]
        world = World(
            args,
            sandbox.url,
            {"telegram": Fake(tg_port), "whatsapp": Fake(tw_port)},
            {"telegram": f"http://127.0.0.1:{tg_port}", "whatsapp": f"http://127.0.0.1:{tw_port}"},
            proxy_port,
            control_port,
            (float(covered["lat"]), float(covered["lng"])),
        )

        async def go() -> None:
            await wait_up(tg_port, "/_fake/count", helpers[0], LOGS / "bench-tg.log")
            await wait_up(tw_port, "/_fake/count", helpers[1], LOGS / "bench-tw.log")
            await run(world)

        try:
            import uvloop
        except ImportError:
            asyncio.run(go())
        else:
            uvloop.run(go())


if __name__ == "__main__":
    main()
