"""Opening a store: the schema created, migrated once, and refused when newer than the code;
SQLite file and PostgreSQL schema alike."""

from __future__ import annotations

import pytest

from bot.errors import StorageError
from bot.storage.base import Store
from bot.storage.migrations import MIGRATIONS, Migration
from tests.storage.conftest import Backend, conversation, line


async def test_open_is_idempotent_and_reopening_keeps_the_data(
    store: Store, backend: Backend
) -> None:
    convo = conversation()
    await store.commit_turn(convo, [line("oi")], provider_id="m1")
    await store.open()  # a second open does nothing
    await store.close()
    await store.close()

    reopened = backend.new_store()
    await reopened.open()

    assert await reopened.schema_version() == len(MIGRATIONS)
    assert await reopened.load(convo.key) == convo
    assert await reopened.seen("m1") is True


async def test_an_appended_migration_runs_once_on_the_next_open(
    store: Store, backend: Backend
) -> None:
    await store.commit_turn(conversation(), [line("oi")])
    await store.close()
    extra = Migration(
        "test_notes",
        sqlite="CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n"
        "INSERT INTO notes (body) VALUES ('x');",
        postgres="CREATE TABLE notes (id serial PRIMARY KEY, body text);\n"
        "INSERT INTO notes (body) VALUES ('x');",
    )

    for _ in range(2):  # the second open finds nothing pending (the insert would run twice)
        upgraded = backend.new_store(migrations=[*MIGRATIONS, extra])
        await upgraded.open()
        assert await upgraded.schema_version() == len(MIGRATIONS) + 1
        await upgraded.close()

    # Code that knows fewer migrations than the database refuses it rather than misread it.
    older = backend.new_store(migrations=MIGRATIONS[:0])
    with pytest.raises(StorageError, match="upgrade ozbot"):
        await older.open()


async def test_a_failing_migration_leaves_the_schema_as_it_was(
    store: Store, backend: Backend
) -> None:
    await store.close()
    broken = Migration(
        "broken",
        sqlite="CREATE TABLE half (x INTEGER);\nTHIS IS NOT SQL;",
        postgres="CREATE TABLE half (x integer);\nTHIS IS NOT SQL;",
    )

    with pytest.raises(StorageError):
        await backend.new_store(migrations=[*MIGRATIONS, broken]).open()

    fixed = backend.new_store(
        migrations=[
            *MIGRATIONS,
            Migration(
                "fixed",
                sqlite="CREATE TABLE half (x INTEGER)",
                postgres="CREATE TABLE half (x integer)",
            ),
        ]
    )
    await fixed.open()  # would fail with "table half already exists" had the first half stayed
    assert await fixed.schema_version() == len(MIGRATIONS) + 1
