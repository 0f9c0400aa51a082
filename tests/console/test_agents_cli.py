"""``ozbot agents add|list|remove`` on a real SQLite file, and the account rules behind them."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.agents import read_password, verify_login
from bot.cli import main
from bot.errors import ConfigError
from bot.storage.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env but the test's
    path = tmp_path / "ozbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


def test_add_reads_a_piped_password_and_the_agent_can_log_in(database: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "agents", "add", "Maria.Souza"],
        input="a long enough secret\n",
        capture_output=True,
        text=True,
        cwd=database.parent,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"sqlite:///{database}",
        },
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "agent maria.souza added" in done.stdout
    assert "a long enough secret" not in done.stdout + done.stderr

    async def check() -> None:
        store = SqliteStore(database)
        await store.open()
        try:
            assert await verify_login(store, "maria.souza", "a long enough secret") == "maria.souza"
            assert await verify_login(store, "MARIA.SOUZA", "a long enough secret") == "maria.souza"
            assert await verify_login(store, "maria.souza", "a long enough secreT") is None
            assert await verify_login(store, "nobody", "a long enough secret") is None
            stored = await store.agent_password("maria.souza")
            assert stored is not None and stored.startswith("$argon2id$")
        finally:
            await store.close()

    asyncio.run(check())


def test_list_and_remove(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agents", "list"]) == 0
    assert "no agents yet" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("another good password\n"))
    assert main(["agents", "add", "joao"]) == 0
    assert main(["agents", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("joao\tsince ")
    assert main(["agents", "remove", "joao"]) == 0
    assert main(["agents", "remove", "joao"]) == 1
    assert "no agent named 'joao'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "password", "error"),
    [
        ("maria", "short", "at least 10 characters"),
        ("_maria", "a long enough secret", "not usable"),
        ("maria souza", "a long enough secret", "not usable"),
        ("m", "a long enough secret", "not usable"),
    ],
)
def test_add_refuses_bad_names_and_short_passwords_saying_why(
    database: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    password: str,
    error: str,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    assert main(["agents", "add", name]) == 1
    assert error in capsys.readouterr().err


def test_a_taken_name_is_refused(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough secret\n"))
        main(["agents", "add", "maria"])
    assert "an agent named 'maria' exists" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_password_is_asked_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["first secret 123", "first secret 123", "one", "two"])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert read_password(_Terminal()) == "first secret 123"
    assert prompts == ["Password: ", "Password again: "]
    with pytest.raises(ConfigError, match="differ"):
        read_password(_Terminal())
    with pytest.raises(ConfigError, match="no password on stdin"):
        read_password(io.StringIO(""))


def test_a_burst_of_logins_hashes_on_fewer_threads_than_cores(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 logins at once run argon2 (the real one) at most one-fewer-than-the-cores at a time, so
    a storm of guesses leaves a core to the event loop (asyncio's default pool ran six at once on
    this two-core machine, and webhook acknowledgements waited behind them)."""
    import os
    import threading

    import bot.agents

    running = 0
    most = 0
    lock = threading.Lock()
    verify = bot.agents._verify

    def counted(stored: str, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return verify(stored, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(bot.agents, "_verify", counted)

    async def burst() -> list[str | None]:
        store = SqliteStore(database)
        await store.open()
        try:
            return await asyncio.gather(
                *(verify_login(store, f"guess{n}", "a long enough secret") for n in range(20))
            )
        finally:
            await store.close()

    assert asyncio.run(burst()) == [None] * 20
    assert most == max(1, (os.cpu_count() or 1) - 1)
