"""Two real ``ozbot serve`` processes on one PostgreSQL, each message of a customer sent to the
other process right after the previous one's 200 (a load balancer's round robin): every
customer's turns run in the order they were sent, and their sales complete.

The size of the run: ``OZBOT_FAULT_ORDER_CUSTOMERS`` (default 16).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import httpx
import pytest

from bot.ozmap.sandbox import RunningSandbox
from tests.faults.database import database, next_chat
from tests.faults.support import Customer, Replies, Server, base_env, messenger, reserved_by, until
from tests.faults.test_kill import pins
from tests.support.net import free_port

CUSTOMERS = int(os.environ.get("OZBOT_FAULT_ORDER_CUSTOMERS", "16"))


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_two_processes_keep_each_customers_order(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    async with database("postgres", tmp_path) as db:
        with messenger(tmp_path) as fake:
            env = base_env(fake, sandbox, db.url)
            servers = [Server(tmp_path, env, name, free_port()) for name in ("a", "b")]
            await asyncio.gather(*(s.start() for s in servers))
            places = pins(sandbox, CUSTOMERS)
            customers = [Customer(next_chat(), places[n % len(places)]) for n in range(CUSTOMERS)]
            try:
                async with (
                    httpx.AsyncClient(timeout=10) as client,
                    Replies(fake, client) as replies,
                ):

                    async def shop(customer: Customer) -> None:
                        for n, update in enumerate(customer.updates):
                            await customer.deliver(client, servers[n % 2].url, update)

                    await asyncio.gather(*(shop(c) for c in customers))
                    await until(db.settled, "the inbox and the outbox to empty")

                    async def caught_up() -> bool:  # (the fake is read every 50 ms)
                        return all(len(replies.to(c.chat_id)) >= len(c.updates) for c in customers)

                    with contextlib.suppress(AssertionError):  # asserted below, with figures
                        await until(caught_up, "every message's reply", seconds=10)
                    answered = [len(replies.to(c.chat_id)) for c in customers]
            finally:
                for server in servers:
                    server.kill(signal.SIGTERM)
            report = await db.report(customers)

    reserved = reserved_by(sandbox, customers)
    print(
        f"\nfaults[two processes]: {CUSTOMERS} customers, "
        f"{sum(c.acknowledged for c in customers)} messages acknowledged, "
        f"{report.out_of_order} conversations out of order, {report.lost} turns lost, "
        f"{sum(1 for n in reserved.values() if n == 1)} sales completed"
    )
    assert report.out_of_order == 0 and report.lost == 0
    assert all(n >= len(c.updates) for n, c in zip(answered, customers, strict=True))
    assert all(n <= 1 for n in reserved.values())
    assert sum(reserved.values()) >= CUSTOMERS // 2  # the sales really complete
