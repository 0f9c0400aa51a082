"""``ozbot migrate`` applies the pending migrations; ``--check`` changes nothing and exits 1 while
some are pending (or the database is newer than this ozbot), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import StorageError
from bot.ops.migrate import migrate, schema_status
from bot.storage.migrations import MIGRATIONS

LATEST = len(MIGRATIONS)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["migrate", *args])
    return code, capsys.readouterr().out


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no .env
    url = f"sqlite:///{tmp_path / 'db' / 'ozbot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_check_migrate_check_on_sqlite(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "--check")
    assert code == 1
    assert f"at schema version 0 of {LATEST}" in out and "run `ozbot migrate`" in out
    assert not (tmp_path / "db").exists()  # checking created nothing

    code, out = run(capsys)
    assert code == 0
    assert f"migrated from schema version 0 to {LATEST}" in out
    assert ", ".join(m.name for m in MIGRATIONS) in out

    code, out = run(capsys, "--check")
    assert code == 0
    assert out.strip().endswith(f"is at schema version {LATEST}, the latest")
    code, out = run(capsys)
    assert code == 0 and "nothing to do" in out


def test_a_database_newer_than_this_ozbot_fails_both(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys)[0] == 0
    with sqlite3.connect(tmp_path / "db" / "ozbot.db") as db:
        db.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future', 'now')",
            (LATEST + 1,),
        )
    for args in (("--check",), ()):
        code, out = run(capsys, *args)
        assert code == 1
        assert f"at schema version {LATEST + 1}, newer than this ozbot" in out
        assert "upgrade ozbot" in out


def test_an_unusable_url_names_database_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "mysql://db/ozbot")
    assert main(["migrate", "--check"]) == 1
    assert "DATABASE_URL" in capsys.readouterr().err


@pytest.mark.postgres
async def test_check_and_migrate_on_postgres(postgres_database_url: str) -> None:
    before = await schema_status(postgres_database_url)
    assert (before.current, before.latest) == (0, LATEST)
    assert before.pending == tuple(m.name for m in MIGRATIONS)
    assert "postgres@" in before.database and "options" not in before.database

    first, after = await migrate(postgres_database_url)
    assert first == before and after.current == LATEST and after.pending == ()
    again, same = await migrate(postgres_database_url)
    assert again.current == same.current == LATEST


@pytest.mark.postgres
async def test_check_names_an_unreachable_postgres() -> None:
    with pytest.raises(StorageError, match="check DATABASE_URL"):
        await schema_status("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
