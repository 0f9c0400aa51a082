"""make_store: DATABASE_URL to an adapter, and errors that name the setting and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError, StorageError
from bot.settings import load_settings
from bot.storage import make_store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore


def test_sqlite_urls_give_relative_and_absolute_paths() -> None:
    relative = make_store("sqlite:///data/ozbot.db")
    absolute = make_store("sqlite:////var/lib/ozbot/ozbot.db")

    assert isinstance(relative, SqliteStore) and relative.path == Path("data/ozbot.db")
    assert isinstance(absolute, SqliteStore) and absolute.path == Path("/var/lib/ozbot/ozbot.db")


def test_the_default_setting_is_a_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(environ={"OZBOT_DATA_DIR": str(tmp_path / "d")}, env_file=None)

    store = make_store(settings.effective_database_url)

    assert isinstance(store, SqliteStore) and store.path == tmp_path / "d" / "ozbot.db"


@pytest.mark.parametrize(
    "url", ["postgresql://bot:pw@db.example:5432/ozbot", "postgres://bot@localhost/ozbot"]
)
def test_postgres_urls_give_the_postgres_store(url: str) -> None:
    assert isinstance(make_store(url), PostgresStore)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///file::memory:?cache=shared", "in-memory"),
        ("sqlite://host/ozbot.db", "names a host"),
        ("sqlite:///", "no SQLite file name"),
        ("sqlite:///data/", "no SQLite file name"),
        ("sqlite:///data/ozbot.db?mode=ro", "no ?options"),
        ("mysql://root:hunter22@db/ozbot", "mysql://"),
        ("data/ozbot.db", "without a scheme"),
        ("", "without a scheme"),
    ],
)
def test_unusable_urls_are_config_errors_naming_the_setting(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_store(url)

    message = str(caught.value)
    assert "DATABASE_URL" in message
    assert why in message
    assert "hunter22" not in message
    assert "sqlite:///" in message  # every message shows an accepted form


async def test_an_unreachable_postgres_is_a_storage_error_without_the_password() -> None:
    # Port 1 on loopback refuses at once: no server, no waiting.
    store = PostgresStore("postgresql://bot:s3cr3t-pw@127.0.0.1:1/ozbot", open_timeout=2)

    with pytest.raises(StorageError) as caught:
        await store.open()

    message = str(caught.value)
    assert "DATABASE_URL" in message
    assert "s3cr3t-pw" not in message
    assert "postgresql://bot@127.0.0.1:1/ozbot" in message


async def test_a_sqlite_file_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory")
    store = SqliteStore(tmp_path / "taken" / "ozbot.db")

    with pytest.raises(StorageError, match="OZBOT_DATA_DIR"):
        await store.open()


async def test_using_a_store_before_open_says_to_open_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ozbot.db")

    with pytest.raises(StorageError, match=r"store\.open\(\)"):
        await store.load("whatsapp:1")


def test_schema_names_are_plain_identifiers() -> None:
    with pytest.raises(StorageError, match="identifier"):
        PostgresStore("postgresql://localhost/test", schema='x"; DROP TABLE y; --')
