"""A process stopped mid-turn for longer than its lease (a GC pause, ``SIGSTOP``, a slow disk)
and continued after another process took the conversation over: its turn must not land.

Two real ``ozbot serve`` processes on one PostgreSQL. Process A fires a customer's nudge
timer: it takes the conversation's lease and loads the conversation, and is stopped there
(``SIGSTOP``) until its lease has run out. Process B then answers the customer's next
message. A is continued (``SIGCONT``) and goes on with the nudge it had loaded. Its commit must
be refused: the conversation stays as B left it (a stale commit would put back the state from
before the customer's answer, so their answer is forgotten), and the customer gets each reply
once and in order (no nudge after B's answer to the question it nudges about).

Where A is stopped is made exact without touching its code: the test holds PostgreSQL's
strongest lock on ``conversations`` while A's timer comes due, so A waits, lease in hand, in
the statement loading the conversation; A is stopped there and the table let go (A's load
completes on the server; A reads it when continued).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import psycopg
import pytest

from bot.i18n import Catalogs
from bot.ozmap.sandbox import RunningSandbox
from tests.faults.database import database, next_chat
from tests.faults.support import Customer, Replies, Server, base_env, messenger, until
from tests.faults.test_kill import pins
from tests.support.net import free_port

#: the lease a server runs with (bot/storage/leases.py): A is stopped for longer than this
LEASE = 30.0
#: A's nudge comes due this long after the customer's last message (B's much later: the only
#: nudge of the test is A's)
NUDGE_MINUTES_A, NUDGE_MINUTES_B = "0.05", "60"

_WAITING_ON_LOAD = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
AND strpos(query, 'FROM conversations WHERE key') > 0
"""
_LEASE_RUN_OUT = """
SELECT coalesce(bool_and(expires_at < extract(epoch FROM clock_timestamp())), true)
FROM locks WHERE key = %s
"""
_STATE = "SELECT flow, state, context::text FROM conversations WHERE key = %s"


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_a_turn_stopped_past_its_lease_does_not_land(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    nudge = Catalogs.load().translator("pt_BR")("timers.nudge")
    async with database("postgres", tmp_path) as db:
        with messenger(tmp_path) as fake:
            env = base_env(fake, sandbox, db.url)
            a = Server(tmp_path, env | {"OZBOT_NUDGE_MINUTES": NUDGE_MINUTES_A}, "a", free_port())
            b = Server(tmp_path, env | {"OZBOT_NUDGE_MINUTES": NUDGE_MINUTES_B}, "b", free_port())
            await a.start()
            customer = Customer(next_chat(), pins(sandbox, 1)[0])
            hello, sales, location = customer.updates[:3]
            chat = customer.chat_id
            blocker = await psycopg.AsyncConnection.connect(db.url)
            reader = await psycopg.AsyncConnection.connect(db.url, autocommit=True)

            async def row(query: str, *params: object) -> tuple[object, ...]:
                found = await (await reader.execute(query.encode(), params or None)).fetchone()
                assert found is not None
                return found

            async def scalar(query: str, *params: object) -> object:
                return (await row(query, *params))[0]

            try:
                async with (
                    httpx.AsyncClient(timeout=10) as client,
                    Replies(fake, client) as replies,
                ):
                    # A answers the greeting and the choice of a sale: the flow now waits for
                    # the customer's location, and A's nudge comes due in 3 s
                    for update in (hello, sales):
                        before = len(replies.to(chat))
                        await customer.deliver(client, a.url, update)
                        assert await replies.more(chat, before, 30), a.logs()[-3000:]
                    await blocker.execute("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")

                    async def a_waits_on_the_load() -> bool:
                        return bool(await scalar(_WAITING_ON_LOAD))

                    await until(a_waits_on_the_load, "A's nudge to load the conversation", 30)
                    a.signal(signal.SIGSTOP)
                    await blocker.rollback()  # A's load completes; A reads it when continued
                    stopped_at = len(replies.to(chat))

                    await b.start()

                    async def lease_ran_out() -> bool:
                        return bool(await scalar(_LEASE_RUN_OUT, customer.key))

                    await until(lease_ran_out, "A's lease to run out", LEASE + 20)
                    # B takes the conversation over and answers the customer's location
                    await customer.deliver(client, b.url, location)
                    assert await replies.more(chat, stopped_at, 30), b.logs()[-3000:]
                    await until(db.settled, "B's turn to finish", 30)
                    answered = list(replies.to(chat))
                    after_b = await row(_STATE, customer.key)

                    a.signal(signal.SIGCONT)
                    # what A would do it does at once (its nudge is loaded, its lease renewed
                    # or not within a third of the lease): wait for a little more than that
                    await asyncio.sleep(LEASE / 3 + 3)
                    await until(db.settled, "A's turn to finish", 30)
                    final = await row(_STATE, customer.key)
                    got = list(replies.to(chat))
            finally:
                a.signal(signal.SIGCONT)
                await blocker.close()
                await reader.close()
                for server in (a, b):
                    server.kill(signal.SIGTERM)
            logs = a.logs()

    print(
        f"\nfaults[stalled turn]: {len(answered)} replies before A was continued, "
        f"{len(got)} after; nudges sent: {got.count(nudge)}; state after B {after_b[:2]}, "
        f"at the end {final[:2]}"
    )
    assert nudge not in answered  # A was stopped before it could send it
    # A's stale turn did not land: the customer's answer stands, and nothing more was sent
    assert final == after_b, logs[-3000:]
    assert got == answered, logs[-3000:]
    assert "LeaseLost" in logs  # refused by the fence (not, say, a nudge that never came)


_WAITING_ON_COMMIT = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
AND strpos(query, 'fence AS') > 0
"""  # (the statement's text is cut short there: the commit's opens with its fence)
_KEPT = "SELECT count(*) FROM outbox WHERE key = %s"


@pytest.mark.postgres
@pytest.mark.timeout(300)
async def test_a_turn_stopped_between_its_commit_and_its_send_is_answered_once(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    """Process A commits the customer's turn (its reply kept in the outbox), and is stopped
    before sending it until its lease has run out; process B takes the conversation over and
    sends the kept reply (A's message, found committed). A is continued: it must not send the
    reply again.

    Where A is stopped is made exact as above: the test holds PostgreSQL's strongest lock on
    ``transcript`` while A's turn comes to its commit, so A waits in the committing statement;
    A is stopped there and the table let go: the commit completes on the server, and A reads
    its answer when continued, its lease long gone."""
    async with database("postgres", tmp_path) as db:
        with messenger(tmp_path) as fake:
            env = base_env(fake, sandbox, db.url)
            a = Server(tmp_path, env, "a", free_port())
            b = Server(tmp_path, env, "b", free_port())
            await a.start()
            customer = Customer(next_chat(), pins(sandbox, 1)[0])
            hello, sales, location = customer.updates[:3]
            chat = customer.chat_id
            blocker = await psycopg.AsyncConnection.connect(db.url)
            reader = await psycopg.AsyncConnection.connect(db.url, autocommit=True)

            async def scalar(query: str, *params: object) -> object:
                found = await (await reader.execute(query.encode(), params or None)).fetchone()
                assert found is not None
                return found[0]

            try:
                async with (
                    httpx.AsyncClient(timeout=10) as client,
                    Replies(fake, client) as replies,
                ):
                    for update in (hello, sales):
                        before = len(replies.to(chat))
                        await customer.deliver(client, a.url, update)
                        assert await replies.more(chat, before, 30), a.logs()[-3000:]
                    await blocker.execute("LOCK TABLE transcript IN ACCESS EXCLUSIVE MODE")
                    stopped_at = len(replies.to(chat))
                    await customer.deliver(client, a.url, location)  # in A's inbox: 200

                    async def a_waits_on_its_commit() -> bool:
                        return bool(await scalar(_WAITING_ON_COMMIT))

                    await until(a_waits_on_its_commit, "A's turn to reach its commit", 30)
                    a.signal(signal.SIGSTOP)
                    await blocker.rollback()  # A's commit completes; A reads it when continued

                    async def kept() -> bool:
                        return bool(await scalar(_KEPT, customer.key))

                    await until(kept, "A's commit to complete", 30)
                    await b.start()
                    # B claims A's entry once its lease ran out, finds the turn committed and
                    # sends the reply it kept (or its outbox sweep does)
                    assert await replies.more(chat, stopped_at, LEASE + 40), b.logs()[-3000:]
                    await until(db.settled, "B to finish", 30)
                    answered = list(replies.to(chat))

                    a.signal(signal.SIGCONT)
                    await asyncio.sleep(5)  # what A would send it sends at once
                    await until(db.settled, "A's turn to finish", 30)
                    got = list(replies.to(chat))
            finally:
                a.signal(signal.SIGCONT)
                await blocker.close()
                await reader.close()
                for server in (a, b):
                    server.kill(signal.SIGTERM)
            logs = a.logs()

    print(
        f"\nfaults[stopped before sending]: {len(answered) - stopped_at} replies to the location "
        f"by B, {len(got) - len(answered)} more after A was continued"
    )
    assert len(answered) == stopped_at + 1  # the location's reply, once, by B
    assert got == answered, logs[-3000:]  # and A sent nothing more
    assert "taken over before its replies went out" in logs
