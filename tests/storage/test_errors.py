"""Every store maps its driver's errors to StorageError, naming the database and what failed,
with the driver's error as the cause; SQLite file and PostgreSQL schema alike."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import psycopg
import pytest

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import StorageError
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from tests.storage.conftest import Backend

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
KEY = "whatsapp:5548999990001"

Operation = Callable[[Store], Awaitable[object]]

# (table dropped behind the store's back, an operation that needs it, what the message names):
# one-statement reads and writes, multi-statement transactions, and the adapters' own ways.
CASES: list[tuple[str, Operation, str]] = [
    ("conversations", lambda s: s.load(KEY), "loading a conversation"),
    ("cache", lambda s: s.cache_put("geocode", "k", "v", 60), "writing the cache"),
    ("timers", lambda s: s.forget(KEY), "forgetting a conversation"),
    (
        "transcript",
        lambda s: s.commit_turn(
            Conversation.new("whatsapp", "5548999990001"), [TranscriptEntry("customer", "oi")]
        ),
        "committing a turn",
    ),
    ("timers", lambda s: s.set_timers(KEY, {"nudge": T0}), "scheduling timers"),
    ("handoffs", lambda s: s.claim_handoff(KEY, "ana", T0), "claiming a handoff"),
    ("timers", lambda s: s.claim_timers(T0, limit=5, lease=60), "claiming timers"),
]


@pytest.mark.parametrize(("table", "operation", "what"), CASES, ids=[c[2] for c in CASES])
async def test_a_database_error_is_a_storage_error_naming_what_failed(
    store: Store, backend: Backend, table: str, operation: Operation, what: str
) -> None:
    await store.load(KEY)  # the store has run statements already (and may have cached them)
    backend.execute(f"DROP TABLE {table}")

    with pytest.raises(StorageError) as caught:
        await operation(store)

    database, driver_error = {
        "sqlite": ("SQLite", sqlite3.Error),
        "postgres": ("PostgreSQL", psycopg.Error),
    }[backend.kind]
    assert str(caught.value).startswith(f"{database} {what} failed: ")
    assert isinstance(caught.value.__cause__, driver_error)


@pytest.mark.postgres
async def test_postgres_errors_carry_no_data_of_the_statement(
    postgres_url: str, postgres_schema: str
) -> None:
    """PostgreSQL's DETAIL and CONTEXT lines quote the values a statement was given (a
    message's text, a phone number): neither the StorageError nor its cause, which a logged
    traceback prints, may carry them."""
    store = PostgresStore(postgres_url, schema=postgres_schema, max_size=1)
    await store.open()
    secret = '{"text": "meu cpf 12345678909\\u0000", "phone": "+5511987654321"}'
    with pytest.raises(StorageError) as caught:
        try:
            await store._fetch("storing an accepted message", "SELECT %s::jsonb", [secret])
        finally:
            await store.close()
    cause = caught.value.__cause__
    assert isinstance(cause, psycopg.Error)
    for shown in (str(caught.value), str(cause), repr(cause)):
        assert "12345678909" not in shown
        assert "5511987654321" not in shown
        assert "CONTEXT" not in shown
    assert "22P05" in str(caught.value)  # what went wrong is still said
