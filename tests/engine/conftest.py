"""Engine fixtures: real stores (SQLite in a temporary directory; PostgreSQL in a schema of its
own, dropped afterwards) and the real catalogs in strict mode."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bot.i18n import Catalogs
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from tests.support.services import unavailable

POSTGRES_URL = os.environ.get("OZBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs.load(strict=True)


def _postgres_or_skip() -> None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL unreachable ({exc}): run scripts/services-up")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    schema = None
    if request.param == "sqlite":
        opened = SqliteStore(tmp_path / "ozbot.db")
    else:
        _postgres_or_skip()
        schema = f"ozbot_engine_{uuid.uuid4().hex[:12]}"
        opened = PostgresStore(POSTGRES_URL, schema=schema, max_size=4)
    await opened.open()
    yield opened
    await opened.close()
    if schema is not None:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
