"""The customers of bench/webhooks.py: their webhook requests, an open-loop load of them, and what
it cost the servers (CPU time from /proc) and what it took (latencies), read per phase.

Requests are built before the load starts (JSON updates, Twilio forms with their signatures), so
the load client only writes bytes and reads answers (:mod:`rawhttp`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import resource
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from rawhttp import Connections, build_request

from tests.fakes.payloads import tg_callback, tg_location, tg_text, twilio_text
from tests.fakes.twilio_api import sign

TG_SECRET = "bench_secret"  # noqa: S105  # what the local fakes and servers accept
TW_TOKEN = "bench-twilio-auth-token"  # noqa: S105
COVERED = "R. Delminda Silveira, 900"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")

_ids = itertools.count(1_000_000)  # chat ids, update ids and numbers: unique across phases

# Customers' names, one each (600 of them): a name the same for every customer would be read
# once and then found in the understander's kept scores (bot.nlu.model), which real customers'
# names are not.
_FIRST = (
    "Ana",
    "Maria",
    "João",
    "José",
    "Carlos",
    "Paulo",
    "Lucas",
    "Pedro",
    "Marcos",
    "Luiz",
    "Fernanda",
    "Juliana",
    "Patrícia",
    "Aline",
    "Camila",
    "Bruno",
    "Rafael",
    "Daniel",
    "Marcelo",
    "Rodrigo",
    "Gabriel",
    "Mariana",
    "Letícia",
    "Beatriz",
    "Larissa",
    "Vanessa",
    "Amanda",
    "Felipe",
    "Gustavo",
    "Thiago",
)
_LAST = (
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
)


def customer_name(n: int) -> str:
    return f"{_FIRST[n % len(_FIRST)]} {_LAST[n // len(_FIRST) % len(_LAST)]}"


@dataclass(frozen=True)
class Customer:
    name: str  # the recipient as the fake records it
    channel: str
    requests: tuple[bytes, ...]  # one per step


def telegram_customer(host: str, pin: tuple[float, float]) -> Customer:
    chat_id = next(_ids)
    updates = [
        tg_text(next(_ids), chat_id, "oi"),
        tg_callback(next(_ids), chat_id, "intent:sales"),
        tg_location(next(_ids), chat_id, *pin),
        tg_callback(next(_ids), chat_id, "yes"),
        tg_text(next(_ids), chat_id, customer_name(chat_id)),
    ]
    headers = [("Content-Type", "application/json"), ("X-Telegram-Bot-Api-Secret-Token", TG_SECRET)]
    return Customer(
        str(chat_id),
        "telegram",
        tuple(
            build_request("POST", "/webhooks/telegram", host, json.dumps(u).encode(), headers)
            for u in updates
        ),
    )


def twilio_customer(host: str, public_url: str) -> Customer:
    n = next(_ids)
    number = f"55489{n:08d}"
    url = public_url.rstrip("/") + "/webhooks/twilio"
    requests = []
    for text in ("oi", "1", COVERED, "1", customer_name(n)):
        form = twilio_text(number, text)
        headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Twilio-Signature", sign(url, form, TW_TOKEN)),
            ("I-Twilio-Idempotency-Token", f"{time.time_ns():x}"),
            ("User-Agent", "TwilioProxy/1.1"),
        ]
        body = urlencode(list(form.items())).encode()
        requests.append(build_request("POST", "/webhooks/twilio", host, body, headers))
    return Customer(f"whatsapp:+{number}", "whatsapp", tuple(requests))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads (0 once it is gone)."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """utime and stime of a process, all its threads (zeros once it is gone): the second is
    the kernel's part (system calls, the loopback TCP a request's bytes cross)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / CLOCK_TICK, int(fields[12]) / CLOCK_TICK  # 14 and 15 of stat(5)


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Fake:
    """A messenger fake in its own process, read through ``/_fake/count`` and ``/_fake/sent``."""

    def __init__(self, port: int) -> None:
        self.http = Connections("127.0.0.1", port, limit=4)

    async def count(self) -> int:
        return int(json.loads((await self.http.get("/_fake/count"))[1]))

    async def sent(self, since: int) -> list[dict[str, Any]]:
        return list(json.loads((await self.http.get(f"/_fake/sent?since={since}"))[1]))

    async def quiet(self, before: int, *, settle: float = 0.4, limit: float = 30.0) -> int:
        """Wait for at least one message after ``before`` and then ``settle`` seconds without
        another; returns the count."""
        deadline = time.monotonic() + limit
        count = await self.count()
        while count <= before:
            if time.monotonic() > deadline:
                raise SystemExit("the server under test sent nothing within 30 s")
            await asyncio.sleep(0.02)
            count = await self.count()
        while True:
            await asyncio.sleep(settle)
            now = await self.count()
            if now == count:
                return count
            count = now


@dataclass
class Sent:
    customer: str
    step: int
    at: float  # wall clock, as the fakes record replies
    response_s: float
    status: int


@dataclass
class Outcome:
    """One measured load: what was sent, answered and spent."""

    customers: int
    turns: int  # turns whose replies all arrived (requests answered, for the HTTP floor)
    seconds: float  # first request to last reply
    server_cpu: float
    client_cpu: float
    server_sys: float = 0.0  # the kernel's part of server_cpu
    load: tuple[float, float] = (0.0, 0.0)  # the 1-minute load average at the start and end
    responses: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    non_200: int = 0
    bad: int = 0  # customers whose reply count differs from the calibrated one


async def drive(
    servers: Sequence[Connections],
    customers: Sequence[Customer],
    *,
    rate: float,
    think: float,
    seed: int,
) -> list[Sent]:
    """Customers arrive as a Poisson process at ``rate`` per second; each sends its steps
    ``think`` seconds apart whatever is answered (open loop). Request ``i`` of the whole run goes
    to ``servers[i % len(servers)]``, as a round-robin balancer would send it."""
    rng = random.Random(seed)
    sent: list[Sent] = []
    counter = itertools.count()

    async def post(customer: Customer, step: int) -> None:
        server = servers[next(counter) % len(servers)]
        at, start = time.time(), time.perf_counter()
        try:
            status, _ = await server.request(customer.requests[step])
        except (ConnectionError, asyncio.IncompleteReadError):
            status = 599
        sent.append(Sent(customer.name, step, at, time.perf_counter() - start, status))

    async def one(customer: Customer) -> None:
        posts = []
        for step in range(len(customer.requests)):
            posts.append(asyncio.create_task(post(customer, step)))
            if step < len(customer.requests) - 1:
                await asyncio.sleep(think)
        await asyncio.gather(*posts)

    tasks = []
    for customer in customers:
        tasks.append(asyncio.create_task(one(customer)))
        await asyncio.sleep(rng.expovariate(rate))
    await asyncio.gather(*tasks)
    return sent


async def wait_replies(fake: Fake | None, target: int, limit: float) -> None:
    """Until the fake (another process: nothing to wait on here) has ``target`` messages."""
    deadline = time.monotonic() + limit
    while fake is not None and time.monotonic() < deadline:
        if await fake.count() >= target:
            return
        await asyncio.sleep(0.1)


def tally(
    sent: list[Sent],
    replies: list[dict[str, Any]],
    per_step: Sequence[int] | None,
    customers: int,
    started: float,
) -> Outcome:
    """Match each step's replies (by the calibrated count per step) to its request."""
    outcome = Outcome(customers, 0, 0.0, 0.0, 0.0)
    outcome.responses = [s.response_s for s in sent]
    outcome.non_200 = sum(1 for s in sent if s.status != 200)
    if per_step is None:  # the HTTP floor: a turn is an answered request
        outcome.turns = len(sent) - outcome.non_200
        outcome.latencies = outcome.responses
        outcome.seconds = max((s.at + s.response_s for s in sent), default=started) - started
        return outcome
    got: dict[str, list[float]] = defaultdict(list)
    for row in replies:
        got[row["to"]].append(float(row["at"]))
    by_customer: dict[str, list[Sent]] = defaultdict(list)
    for s in sent:
        by_customer[s.customer].append(s)
    last = started
    for name, sends in by_customer.items():
        sends.sort(key=lambda s: s.step)
        times = sorted(got.get(name, []))
        if len(times) != sum(per_step):
            outcome.bad += 1
        cursor = 0
        for s, count in zip(sends, per_step, strict=True):
            cursor += count
            if cursor > len(times):
                break
            outcome.turns += 1
            outcome.latencies.append(times[cursor - 1] - s.at)
        if times:
            last = max(last, times[-1])
    outcome.seconds = last - started
    return outcome
