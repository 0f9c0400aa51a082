"""Lease holders on another machine are never called dead (bot/owners.py): not even when that
machine has this one's host name (a cloned VM image: "ubuntu", "localhost"), and both run in
their initial PID namespace, whose inode is the same constant on every Linux (4026531836).

The twin is named as its process names itself: this host's name, with its own boot of its
kernel instead of ours (without the boot in the name, a twin's name is ours exactly).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bot.errors import LockTimeout
from bot.owners import orphans, this_host
from bot.storage.postgres import PostgresStore

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def pid_not_here() -> int:
    """A process id no process on this machine has (the twin's process may)."""
    for pid in range(4_000_000, 3_000_000, -7919):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("no free pid found")


def twin_holder() -> str:
    """A holder on another machine with this one's host name and PID namespace inode."""
    ours = BOOT_ID.read_text().strip()
    theirs = str(uuid.uuid4())
    return f"{this_host().replace(ours, theirs)}:{pid_not_here()}:7w1n7w1n7w1n"


def test_a_holder_on_a_machine_with_this_host_name_is_not_dead() -> None:
    assert BOOT_ID.exists()  # Linux: what tells two machines of one host name apart
    gone_here = f"{this_host()}:{pid_not_here()}:abcdef"
    assert orphans([twin_holder(), gone_here]) == [gone_here]


@pytest.mark.postgres
async def test_a_live_lease_of_a_machine_with_this_host_name_is_not_taken_at_once(
    postgres_url: str, postgres_schema: str
) -> None:
    """Two app servers on one PostgreSQL, on machines named alike: the other's live, renewed
    lease is waited for, not taken over (which would run its conversation's message in both,
    OZmap calls included)."""
    store = PostgresStore(postgres_url, schema=postgres_schema, max_size=2)
    await store.open()
    try:
        conn = await psycopg.AsyncConnection.connect(postgres_url, autocommit=True)
        async with conn:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {}.locks (key, owner, expires_at) VALUES ('telegram:1', %s, 9e9)"
                ).format(sql.Identifier(postgres_schema)),
                (twin_holder(),),
            )
        with pytest.raises(LockTimeout):
            async with store.lock("telegram:1", timeout=1):
                pytest.fail("a live lease of another machine's process was taken over")
    finally:
        await store.close()
