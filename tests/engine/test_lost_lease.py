"""A turn that loses its conversation's lock mid-step (its process stopped for longer than the
lease, another process took the conversation over and committed): its commit is refused by the
store (:class:`bot.storage.locks.LeaseLost`), it sends nothing, and its message runs again from
what is saved now, or not at all when the other process ran it. On both stores.

"Another process" is a second store on the same database, which takes the lease once it has
run out (made to run out behind the first store's back, as a stopped process's would).
"""

# ruff: noqa: F811 - the engine suite's fixtures, imported by name, are the tests' arguments

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3

import psycopg
from psycopg import sql

from bot.compose import Runtime
from bot.engine import Engine
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from tests.engine.conftest import POSTGRES_URL
from tests.engine.support import Chat, RecordingChannel
from tests.engine.test_engine import (  # noqa: F401 - the fixtures, used by name
    Probe,
    channel,
    engine,
    probe,
    runtime,
    start_probe,
)

_RUN_OUT = "UPDATE locks SET expires_at = 1 WHERE key = {}"


def other_process(store: Store) -> Store:
    if isinstance(store, SqliteStore):
        return SqliteStore(store.path)
    assert isinstance(store, PostgresStore)
    return PostgresStore(POSTGRES_URL, schema=store.schema, max_size=2)


def run_out(store: Store, key: str) -> None:
    """The lease of ``key`` runs out, as a stopped holder's does."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path, isolation_level=None) as db:
            db.execute(_RUN_OUT.format("?"), (key,))
        return
    assert isinstance(store, PostgresStore)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema or "")))
        conn.execute(_RUN_OUT.format("%s").encode(), (key,))


async def take_over(store: Store, key: str, note: str, provider_id: str) -> None:
    """Another process takes the conversation over and commits a turn noting ``note``."""
    run_out(store, key)
    other = other_process(store)
    await other.open()
    try:
        async with other.lock(key, timeout=5):
            saved = await other.load(key)
            assert saved is not None
            context = dict(saved.context)
            context["noted"] = [*context.get("noted", []), note]
            newer = dataclasses.replace(saved, context=context)
            assert await other.commit_turn(newer, [], provider_id)
    finally:
        await other.close()


async def test_a_turn_that_lost_its_lock_runs_again_from_the_newer_state(
    engine: Engine, channel: RecordingChannel, store: Store, probe: Probe
) -> None:
    chat = Chat(engine, channel)
    await start_probe(chat)
    probe.entered["slow"] = asyncio.Event()
    probe.gates["slow"] = asyncio.Event()
    before = len(channel.replies_to(chat.contact))
    turn = asyncio.create_task(engine.handle(chat.inbound(text="slow")))
    await probe.entered["slow"].wait()
    await take_over(store, chat.key, "elsewhere", "other:1")
    probe.gates["slow"].set()
    await turn

    saved = await store.load(chat.key)
    assert saved is not None
    # the refused attempt left nothing; the run again built on the other process's turn
    assert saved.context["noted"] == ["elsewhere", "slow"]
    lines = [e.text for e in await store.transcript(chat.key) if e.role == "customer"]
    assert lines.count("slow") == 1
    # one answer, the run again's, and no apology for the refused commit
    assert [r.text for r in channel.replies_to(chat.contact)[before:]] == ["• Nome: slow"]


async def test_a_dispatched_turn_that_lost_its_lock_to_the_process_that_ran_it_sends_nothing(
    runtime: Runtime, channel: RecordingChannel, store: Store, probe: Probe
) -> None:
    chat = Chat(runtime.engine, channel)
    await start_probe(chat)
    probe.entered["slow"] = asyncio.Event()
    probe.gates["slow"] = asyncio.Event()
    before = len(channel.replies_to(chat.contact))
    message = chat.inbound(text="slow")
    assert await runtime.dispatcher.submit(message)  # its lock taken with its entry
    await probe.entered["slow"].wait()
    # the other process ran this very message (its inbox lease ran out too) and answered it
    assert message.provider_id is not None
    await take_over(store, chat.key, "slow elsewhere", message.provider_id)
    probe.gates["slow"].set()
    await runtime.dispatcher.join()

    saved = await store.load(chat.key)
    assert saved is not None and saved.context["noted"] == ["slow elsewhere"]
    assert channel.replies_to(chat.contact)[before:] == []  # answered once, by the other
    assert await store.inbox_pending() == 0
    async with store.lock(chat.key, timeout=1):  # and nothing of this process holds it
        pass
