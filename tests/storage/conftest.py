"""Fixtures for the storage contract suites (one per part of the port): one ``backend`` per
adapter, a controllable clock, and small builders of conversations and transcript lines.

PostgreSQL comes from ``OZBOT_TEST_POSTGRES`` (default the local ``test`` database); each test
gets its own schema, dropped afterwards, and touches nothing outside it (other suites share the
database). Unreachable PostgreSQL fails the run when ``CI=true`` and skips, saying why, otherwise.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bot.conversation import Conversation, TranscriptEntry
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore, describe_dsn
from bot.storage.sqlite import SqliteStore
from tests.support.clock import ManualClock
from tests.support.services import unavailable

POSTGRES_URL = os.environ.get("OZBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def conversation(contact: str = "5511987654321", **changes: object) -> Conversation:
    """A new WhatsApp conversation, with ``changes`` made to its fields."""
    convo = Conversation.new("whatsapp", contact)
    for name, value in changes.items():
        setattr(convo, name, value)
    return convo


def line(text: str, role: str = "customer", second: int = 0) -> TranscriptEntry:
    """A transcript line at 12:00:``second`` on 2024-05-01, UTC."""
    at = datetime(2024, 5, 1, 12, 0, second, tzinfo=UTC)
    return TranscriptEntry(role=role, text=text, at=at)  # type: ignore[arg-type]


#: epoch seconds that move only when a test says so (the storage tests' name for it)
FakeClock = ManualClock


@dataclass
class Backend:
    """How to build stores on one shared database, and how a child process finds it."""

    kind: str
    target: str  # the SQLite file, or the PostgreSQL URL
    schema: str | None = None
    stores: list[Store] = field(default_factory=list)

    def new_store(self, **options: Any) -> Store:
        store: Store
        if self.kind == "sqlite":
            store = SqliteStore(self.target, **options)
        else:
            store = PostgresStore(self.target, schema=self.schema, max_size=4, **options)
        self.stores.append(store)
        return store

    def child_args(self) -> list[str]:
        return [self.kind, self.target, self.schema or "-"]

    def execute(self, statement: str) -> None:
        """Run ``statement`` on the database behind the stores' backs, as another program
        (or an operator) would."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.target, isolation_level=None) as db:
                db.execute(statement)
            return
        with psycopg.connect(self.target, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema or "")))
            conn.execute(statement.encode())


@pytest.fixture(scope="session")
def postgres_url() -> str:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        unavailable(
            f"PostgreSQL is not reachable at {describe_dsn(POSTGRES_URL)} ({exc}); run "
            "scripts/services-up or set OZBOT_TEST_POSTGRES"
        )
    return POSTGRES_URL


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema of our own, dropped (with everything in it) after the test."""
    schema = f"ozbot_storage_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        chosen = Backend("sqlite", str(tmp_path / "data" / "ozbot.db"))
    else:
        url = request.getfixturevalue("postgres_url")
        chosen = Backend("postgres", url, schema=request.getfixturevalue("postgres_schema"))
    yield chosen
    for store in chosen.stores:
        await store.close()


@pytest.fixture
async def store(backend: Backend, clock: FakeClock) -> Store:
    opened = backend.new_store(clock=clock)
    await opened.open()
    return opened
