"""``kill -9`` of a real ``ozbot serve`` under load, on SQLite and on PostgreSQL: customers go
through the sales flow to a reservation (their updates re-sent until a server answers 200, as
Telegram does) while the server is killed and restarted; afterwards every acknowledged message
was answered, every turn ran once and in order, nobody holds two reservations.

The size of the run: ``OZBOT_FAULT_CUSTOMERS`` (default 24) and ``OZBOT_FAULT_KILLS`` (3).
Telegram's sendMessage takes ``OZBOT_FAULT_LATENCY`` seconds (default 0.15, about what it
takes from Brazil) to reach the fake, so kills land between turns' commits and their replies'
arrival as often as they do in production.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path

import httpx
import pytest

from bot.ozmap.sandbox import RunningSandbox
from tests.faults.database import database, next_chat
from tests.faults.support import (
    Customer,
    Replies,
    Server,
    base_env,
    messenger,
    reserved_by,
    until,
)

CUSTOMERS = int(os.environ.get("OZBOT_FAULT_CUSTOMERS", "24"))
KILLS = int(os.environ.get("OZBOT_FAULT_KILLS", "3"))
LATENCY = float(os.environ.get("OZBOT_FAULT_LATENCY", "0.15"))
ANSWER_WITHIN = 45.0  # seconds: a restart, and what the killed process left, included


def pins(sandbox: RunningSandbox, count: int) -> list[tuple[float, float]]:
    """Points on the seed network's boxes, so customers do not all queue for one box's ports."""
    boxes = sorted(sandbox.network.docs("boxes"), key=lambda b: str(b["_id"]))
    return [(b["coords"][1], b["coords"][0]) for b in boxes][:count] or [(0.0, 0.0)]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.timeout(420)
async def test_kill_9_under_load_leaves_no_acknowledged_message_unanswered(
    tmp_path: Path, sandbox: RunningSandbox, kind: str
) -> None:
    async with database(kind, tmp_path) as db:
        with messenger(tmp_path, LATENCY) as fake:
            server = Server(tmp_path, base_env(fake, sandbox, db.url), "serve", db.port)
            await server.start()
            places = pins(sandbox, CUSTOMERS)
            customers = [Customer(next_chat(), places[n % len(places)]) for n in range(CUSTOMERS)]
            kills = 0
            try:
                async with (
                    httpx.AsyncClient(timeout=10) as client,
                    Replies(fake, client) as replies,
                ):

                    async def shop(customer: Customer, delay: float) -> None:
                        await asyncio.sleep(delay)
                        for update in customer.updates:
                            before = len(replies.to(customer.chat_id))
                            await customer.deliver(client, server.url, update)
                            if not await replies.more(customer.chat_id, before, ANSWER_WITHIN):
                                customer.unanswered += 1

                    async def killer() -> None:
                        nonlocal kills
                        rng = random.Random()
                        for _ in range(KILLS):
                            await asyncio.sleep(rng.uniform(1.0, 3.0))
                            server.kill(signal.SIGKILL)
                            kills += 1
                            await server.start()

                    await asyncio.gather(
                        *(shop(c, n * 0.15) for n, c in enumerate(customers)), killer()
                    )
                    await until(lambda: db.settled(), "the inbox and the outbox to empty")
            finally:
                server.kill(signal.SIGTERM)
            report = await db.report(customers)

    reserved = reserved_by(sandbox, customers)
    doubles = sum(1 for n in reserved.values() if n > 1)
    unanswered = sum(c.unanswered for c in customers)
    acknowledged = sum(c.acknowledged for c in customers)
    print(
        f"\nfaults[{kind}]: {CUSTOMERS} customers, {kills} kill -9, {acknowledged} messages "
        f"acknowledged ({sum(c.tries for c in customers)} posts), {unanswered} unanswered, "
        f"{report.out_of_order} conversations out of order, {report.lost} turns lost, "
        f"{sum(reserved.values())} reservations, {doubles} double; "
        f"{server.logs().count('replies left unsent')} turns' replies re-sent"
    )
    assert kills == KILLS
    assert unanswered == 0, server.logs()[-4000:]
    assert report.lost == 0 and report.out_of_order == 0
    assert doubles == 0
    assert sum(reserved.values()) >= CUSTOMERS // 2  # the sales really reach OZmap
    assert db.leftover == (0, 0)
