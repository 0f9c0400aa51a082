"""``ozbot telegram ...`` against the Bot API fake on loopback, and ``ozbot serve --sandbox`` as
its own process: it becomes ready, answers the web chat, and shuts down gracefully."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from tests.fakes.serve import serve_in_thread
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support.net import free_port
from tests.web.support import TG_SECRET, TG_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_telegram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegramAPI]:
    fake = FakeTelegramAPI(TG_TOKEN)
    with serve_in_thread(fake.app) as url:
        monkeypatch.chdir(tmp_path)  # no .env but the test's
        for name, value in {
            "TELEGRAM_API_URL": url,
            "TELEGRAM_TOKEN": TG_TOKEN,
            "TELEGRAM_SECRET": TG_SECRET,
            "PUBLIC_BASE_URL": "https://bot.example.com.br",
        }.items():
            monkeypatch.setenv(name, value)
        yield fake


def test_set_webhook_registers_the_public_url_with_the_secret(
    fake_telegram: FakeTelegramAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["telegram", "set-webhook", "--drop-pending"]) == 0
    assert fake_telegram.webhook["url"] == "https://bot.example.com.br/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == TG_SECRET
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    (call,) = [c for c in fake_telegram.calls if c.method == "setWebhook"]
    assert call.params["drop_pending_updates"] in (True, "true", "True")
    out = capsys.readouterr().out
    assert "https://bot.example.com.br/webhooks/telegram" in out
    assert TG_SECRET not in out and TG_TOKEN not in out


def test_set_webhook_to_an_explicit_url_then_info_then_delete(
    fake_telegram: FakeTelegramAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["telegram", "set-webhook", "https://other.example.com/hook"]) == 0
    assert main(["telegram", "webhook-info"]) == 0
    assert "url: https://other.example.com/hook" in capsys.readouterr().out
    assert main(["telegram", "delete-webhook"]) == 0
    assert fake_telegram.webhook["url"] == ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TELEGRAM_SECRET": ""}, "TELEGRAM_SECRET"),
        ({"TELEGRAM_TOKEN": ""}, "TELEGRAM_TOKEN"),
        ({"PUBLIC_BASE_URL": "http://bot.example.com.br"}, "https"),
    ],
)
def test_set_webhook_refuses_what_cannot_work_and_names_the_fix(
    fake_telegram: FakeTelegramAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["telegram", "set-webhook"]) == 1
    assert message in capsys.readouterr().err
    assert fake_telegram.calls == []


def test_a_rejected_token_is_one_clear_line(
    fake_telegram: FakeTelegramAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", "111:not-the-right-token")
    assert main(["telegram", "set-webhook"]) == 1
    err = capsys.readouterr().err
    assert "TELEGRAM_TOKEN" in err and "not-the-right-token" not in err


def test_serve_sandbox_runs_answers_and_stops_gracefully(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603  # our own interpreter and fixed arguments
            [sys.executable, "-m", "bot.cli", "serve", "--sandbox", "--port", str(port)],
            cwd=tmp_path,
            env=env | {"PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            page = client.get("/chat")
            client.cookies.set("ozbot_chat", page.cookies["ozbot_chat"], path="/chat")
            assert client.post("/chat/api/messages", json={"text": "oi"}).status_code == 202
            with client.stream("GET", "/chat/api/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        assert "Contratar internet" in line  # the real menu, from the catalogs
                        break
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    text = log.read_text()
    assert "shutting down: finishing" in text, text
    assert "Traceback" not in text, text
