"""Webhook benchmark: open-loop load on the real routes of ``ozbot serve`` over loopback.

    .venv/bin/python bench/webhooks.py [--customers 300] [--rate 30] [--think 1.0]
                                      [--concurrency 32]

Four processes besides this one: ``ozbot serve`` (real engine, flows, SQLite, offline
geocoder), the OZmap sandbox standing in for a remote OZmap (``--ozmap-latency`` adds its
network time), and the Telegram and Twilio fakes (``tests.fakes.serve``). Customers arrive as a
Poisson process at ``--rate`` per second, alternately on Telegram and WhatsApp, and each sends
five messages ``--think`` seconds apart whatever the bot answers (open loop): greeting, "I want
internet" (a tap or a typed option), a location pin or a typed address (geocoding + OZmap
feasibility), "yes, that's my address", their name. No reservation is made, so the sandbox's
ports do not run out.

Prints turns/s and p50/p99 of the webhook response time (the POST, signature checking included)
and of the reply latency (POST sent → the turn's last reply received by the fake). The replies
of each turn are told apart by the number of replies each step gives, measured first with one
customer per channel. Not a test: numbers depend on the machine; record them in reports.

Recorded 2026-11-23 (2 cores: server, sandbox, both fakes and this client on one machine;
SQLite; durable inbox; webhook concurrency 32; think 1 s; offered turns/s is 5x the customer
rate), after two fixes found by profiling the server with py-spy under this load: sniffio made a
direct dependency (httpcore re-imported it on every pool operation and failed, 8% of the CPU;
encode/httpcore#1103) and one connection pool per upstream (httpcore's per-request scan of the
pool, 24% of the CPU; encode/httpcore#928):

    customers/s  offered  done turns/s  webhook p50 / p99     reply p50 / p99
         30        150        108         2.5 ms / 8.1 ms      6.3 ms / 46 ms
         40        200        131         2.6 ms / 9.5 ms      7.5 ms / 68 ms
         60        300        165         3.9 ms / 18.5 ms      16 ms / 458 ms  (near capacity)
         80        400        190         6-7 ms / 55-70 ms   0.3-0.5 s / 1.1 s (saturated)

Before those fixes, 40/s gave reply p50 857 ms / p99 1.7 s, and 60/s p50 1.7 s.
Near capacity the runs are noisy (the same setting varied 3-5x in p99 between runs).

"done turns/s" averages over the whole run, ramp and 4 s tail included, so it stays below the
offered rate even when nothing queues (30/s: 1,500 turns in 13.9 s, 14 s being the ideal).
One process tops out near 190 sales turns/s here (five processes sharing two cores); past
that turns queue (reply latency grows) while webhooks are still acknowledged, until the event
loop itself is starved (100/s: webhook p99 in seconds, and a customer's messages sent 1 s apart
start overtaking each other in flight, which changes their conversation: "unexpected reply
counts"). Scale out with more processes on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bot.ozmap.sandbox import Network
from bot.ozmap.sandbox.process import run_sandbox_process
from tests.fakes.payloads import (
    ACCOUNT_SID,
    BOT_NUMBER,
    tg_callback,
    tg_location,
    tg_text,
    twilio_text,
)
from tests.fakes.twilio_api import signed_post

ROOT = Path(__file__).resolve().parents[1]
# credentials the local fakes accept, nothing real
TG_TOKEN = "7000000001:AAF-bench-token"  # noqa: S105
TG_SECRET = "bench_secret"  # noqa: S105
TW_TOKEN = "bench-twilio-auth-token"  # noqa: S105
# the sandbox's own random default may start with "-", which its command line misreads
OZMAP_TOKEN = "bench-ozmap-token"  # noqa: S105
COVERED = "R. Delminda Silveira, 900"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Sent:
    customer: str  # the recipient as the fake records it
    step: int
    at: float
    response_s: float
    status: int


@dataclass
class Run:
    base: str
    client: httpx.AsyncClient
    sent: list[Sent] = field(default_factory=list)

    async def post(
        self, customer: str, step: int, send: Callable[[], Awaitable[httpx.Response]]
    ) -> None:
        at = time.time()
        start = time.perf_counter()
        response = await send()
        self.sent.append(
            Sent(customer, step, at, time.perf_counter() - start, response.status_code)
        )


def telegram_steps(
    run: Run, chat_id: int, pin: tuple[float, float]
) -> list[Callable[[], Awaitable[httpx.Response]]]:
    ids = iter(range(chat_id * 10, chat_id * 10 + 10))
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}

    def post(update: dict[str, Any]) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: run.client.post(
            run.base + "/webhooks/telegram", json=update, headers=headers
        )

    return [
        post(tg_text(next(ids), chat_id, "oi")),
        post(tg_callback(next(ids), chat_id, "intent:sales")),
        post(tg_location(next(ids), chat_id, *pin)),
        post(tg_callback(next(ids), chat_id, "yes")),
        post(tg_text(next(ids), chat_id, "Cliente Teste")),
    ]


def whatsapp_steps(run: Run, number: str) -> list[Callable[[], Awaitable[httpx.Response]]]:
    url = run.base + "/webhooks/twilio"

    def post(text: str) -> Callable[[], Awaitable[httpx.Response]]:
        form = twilio_text(number, text)
        return lambda: run.client.post(url, **signed_post(url, form, TW_TOKEN))

    return [post("oi"), post("1"), post(COVERED), post("1"), post("Cliente Teste")]


async def turns_done(client: httpx.AsyncClient, base: str) -> int:
    text = (await client.get(base + "/metrics")).text
    return int(
        sum(float(v) for v in re.findall(r"^ozbot_turns_total\{[^}]*\} ([0-9.e+]+)$", text, re.M))
    )


async def wait_turns(client: httpx.AsyncClient, base: str, target: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while await turns_done(client, base) < target:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {await turns_done(client, base)} of {target} turns finished in {limit:.0f}s"
            )
        await asyncio.sleep(0.05)


async def fake_sent(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    return list((await client.get(url + "/_fake/sent")).json())


async def calibrate(
    run: Run, fakes: dict[str, str], pin: tuple[float, float]
) -> dict[str, list[int]]:
    """Replies per step for one customer of each channel, run closed-loop."""
    counts: dict[str, list[int]] = {}
    for channel, customer, steps in (
        ("telegram", "1", telegram_steps(run, 1, pin)),
        ("whatsapp", "whatsapp:+5548900000000", whatsapp_steps(run, "5548900000000")),
    ):
        per_step = []
        for step, send in enumerate(steps):
            before = [r for r in await fake_sent(run.client, fakes[channel]) if r["to"] == customer]
            done = await turns_done(run.client, run.base)
            await run.post(customer, step, send)
            await wait_turns(run.client, run.base, done + 1, 30)
            after = [r for r in await fake_sent(run.client, fakes[channel]) if r["to"] == customer]
            per_step.append(len(after) - len(before))
        counts[channel] = per_step
    run.sent.clear()
    return counts


async def bench(args: argparse.Namespace, base: str, fakes: dict[str, str]) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        run = Run(base, client)
        network = Network.load()
        covered = network.samples["covered"]
        pin = (float(covered["lat"]), float(covered["lng"]))
        counts = await calibrate(run, fakes, pin)
        print(f"replies per step: telegram {counts['telegram']}, whatsapp {counts['whatsapp']}")
        baseline = await turns_done(client, base)
        calibration_replies = {
            name: len(await fake_sent(client, url)) for name, url in fakes.items()
        }

        rng = random.Random(7)
        tasks: list[asyncio.Task[None]] = []
        channel_of: dict[str, str] = {}

        async def customer(i: int) -> None:
            if i % 2 == 0:
                chat_id = 10_000 + i
                name, steps = str(chat_id), telegram_steps(run, chat_id, pin)
                channel_of[name] = "telegram"
            else:
                number = f"55489{10_000_000 + i:08d}"
                name, steps = f"whatsapp:+{number}", whatsapp_steps(run, number)
                channel_of[name] = "whatsapp"
            posts = []
            for step, send in enumerate(steps):
                posts.append(asyncio.create_task(run.post(name, step, send)))
                if step < len(steps) - 1:
                    await asyncio.sleep(args.think)
            await asyncio.gather(*posts)

        started = time.time()
        for i in range(args.customers):
            tasks.append(asyncio.create_task(customer(i)))
            await asyncio.sleep(rng.expovariate(args.rate))
        await asyncio.gather(*tasks)
        total = args.customers * 5
        await wait_turns(client, base, baseline + total, 300)

        replies: dict[str, list[float]] = defaultdict(list)
        for name, url in fakes.items():
            for row in (await fake_sent(client, url))[calibration_replies[name] :]:
                replies[row["to"]].append(float(row["at"]))
        latencies: list[float] = []
        last_reply = started
        missing = 0
        by_customer: dict[str, list[Sent]] = defaultdict(list)
        for sent in run.sent:
            by_customer[sent.customer].append(sent)
        for name, sends in by_customer.items():
            sends.sort(key=lambda s: s.step)
            got = sorted(replies.get(name, []))
            per_step = counts[channel_of[name]]
            if len(got) != sum(per_step):
                missing += 1
                continue
            cursor = 0
            for sent, count in zip(sends, per_step, strict=True):
                cursor += count
                latencies.append(got[cursor - 1] - sent.at)
            last_reply = max(last_reply, got[-1])
        responses = [s.response_s for s in run.sent]
        errors = sum(1 for s in run.sent if s.status != 200)
        elapsed = last_reply - started
        print(
            f"customers {args.customers} at {args.rate}/s, {total} turns, think {args.think}s, "
            f"webhook concurrency {args.concurrency}"
        )
        print(f"turns/s            {total / elapsed:8.1f}   (all turns done in {elapsed:.1f}s)")
        print(
            f"webhook response   p50 {percentile(responses, 0.5) * 1000:7.1f} ms   "
            f"p99 {percentile(responses, 0.99) * 1000:7.1f} ms   non-200: {errors}"
        )
        print(
            f"reply latency      p50 {percentile(latencies, 0.5) * 1000:7.1f} ms   "
            f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   "
            f"customers with unexpected reply counts: {missing}"
        )


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def give_up(why: str, log: Path) -> SystemExit:
    return SystemExit(f"{why}:\n{log.read_text()}")


async def wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise give_up(f"{url} exited", log)
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise give_up(f"{url} did not come up", log)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="new customers per second")
    parser.add_argument(
        "--think", type=float, default=1.0, help="seconds between a customer's messages"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="OZBOT_WEBHOOK_CONCURRENCY")
    parser.add_argument(
        "--ozmap-latency", type=float, default=0.0, help="seconds the sandbox adds per request"
    )
    args = parser.parse_args()

    logs = Path(tempfile.gettempdir())
    tg_port, tw_port, port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_", "OZMAP_", "GEOCODER", "CEP_", "DATABASE_"))
    }
    env |= {"PYTHONPATH": str(ROOT)}
    fake_cmd = [sys.executable, "-m", "tests.fakes.serve"]
    with (
        tempfile.TemporaryDirectory(prefix="ozbot-bench-") as data,
        # OZmap stands in for a remote server: its own process, not a thread of ozbot's
        run_sandbox_process(token=OZMAP_TOKEN, latency=args.ozmap_latency) as sandbox,
    ):
        processes = [
            start(
                [*fake_cmd, "telegram", "--port", str(tg_port), "--token", TG_TOKEN],
                env,
                logs / "bench-tg.log",
            ),
            start(
                [*fake_cmd, "twilio", "--port", str(tw_port), "--token", TW_TOKEN],
                env,
                logs / "bench-tw.log",
            ),
        ]
        server_env = env | {
            "OZBOT_DATA_DIR": data,
            "DATABASE_URL": f"sqlite:///{data}/ozbot.db",
            "OZMAP_URL": sandbox.url,
            "OZMAP_TOKEN": sandbox.token,
            "GEOCODER": "gazetteer",
            "CEP_PROVIDER": "offline",
            "PUBLIC_BASE_URL": base,
            "TELEGRAM_TOKEN": TG_TOKEN,
            "TELEGRAM_SECRET": TG_SECRET,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{tg_port}",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TW_TOKEN,
            "TWILIO_FROM": BOT_NUMBER,
            "TWILIO_API_URL": f"http://127.0.0.1:{tw_port}",
            "OZBOT_SESSION_SECRET": "bench",
            "OZBOT_WEBHOOK_CONCURRENCY": str(args.concurrency),
        }
        server_log = logs / "bench-serve.log"
        processes.append(
            start(
                [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
                server_env,
                server_log,
            )
        )
        fakes = {
            "telegram": f"http://127.0.0.1:{tg_port}",
            "whatsapp": f"http://127.0.0.1:{tw_port}",
        }
        try:

            async def go() -> None:
                await wait_up(
                    fakes["telegram"] + "/_fake/sent", processes[0], logs / "bench-tg.log"
                )
                await wait_up(
                    fakes["whatsapp"] + "/_fake/sent", processes[1], logs / "bench-tw.log"
                )
                await wait_up(base + "/healthz", processes[2], server_log)
                await bench(args, base, fakes)

            asyncio.run(go())
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
