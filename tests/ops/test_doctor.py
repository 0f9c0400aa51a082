"""``ozbot doctor`` against the real sandbox on loopback and the messenger fakes (Telegram's Bot
API and Twilio's REST API, their wire formats): all is well when everything answers as the
server needs; otherwise one FAIL line names the fix and the exit code is 1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli import main
from bot.ops.doctor import Finding, diagnose, report
from bot.ops.migrate import migrate
from bot.ozmap.sandbox import RunningSandbox
from bot.settings import Settings
from tests.web.support import PUBLIC, Fakes, channel_settings, make_fakes

NUMBER = "+5548999990000"


@pytest.fixture
async def fakes() -> Fakes:
    fakes = make_fakes()
    fakes.telegram.webhook["url"] = PUBLIC + "/webhooks/telegram"
    fakes.twilio.numbers[NUMBER] = PUBLIC + "/webhooks/twilio"
    return fakes


@pytest.fixture
async def http(fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(mounts=fakes.mounts) as client:
        yield client


async def settings_for(tmp_path: Path, sandbox: RunningSandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'ozbot.db'}",
        "ozmap_url": sandbox.url,
        "ozmap_token": sandbox.token,
        "twilio_from": f"whatsapp:{NUMBER}",
    }
    settings = channel_settings(tmp_path, **{**values, **overrides})
    await migrate(settings.effective_database_url)
    return settings


def failures(findings: list[Finding]) -> list[str]:
    return [f"{f.part}: {f.text}" for f in findings if f.level == "FAIL"]


async def test_all_is_well_against_the_sandbox_and_the_messengers(
    tmp_path: Path, sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    findings = await diagnose(await settings_for(tmp_path, sandbox), http)
    assert failures(findings) == []
    assert [f.level for f in findings] == ["ok"] * len(findings)
    parts = {f.part for f in findings}
    assert parts == {"configuration", "database", "OZmap", "Telegram", "WhatsApp"}
    text = report(findings)
    assert text.endswith("all is well")
    assert "OZBOT_PLANS_FILE reads: 3 plans and 5 answers" in text
    assert "radius feasibility answers" in text and "tags answer (3 of ours found)" in text
    assert f"incoming messages go to {PUBLIC}/webhooks/twilio" in text


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


async def test_a_stopped_ozmap_is_named_with_the_fix(
    tmp_path: Path, sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    settings = await settings_for(tmp_path, sandbox)
    stopped = settings.replace(ozmap_url=f"http://127.0.0.1:{closed_port()}")
    found = failures(await diagnose(stopped, http))
    assert len(found) == 1
    assert found[0].startswith("OZmap: OZmap at http://127.0.0.1:")
    assert "unreachable" in found[0] and "check OZMAP_URL and that the server is up" in found[0]


async def test_each_problem_is_one_line_naming_its_fix(
    tmp_path: Path, sandbox: RunningSandbox, fakes: Fakes, http: httpx.AsyncClient
) -> None:
    settings = await settings_for(
        tmp_path,
        sandbox,
        ozmap_token="not-the-key",
        outage_tags=("MASSIVA", "NO_SUCH_TAG"),
        business_hours="mon-fri 18:00-08:00",
    )
    (tmp_path / "fresh").mkdir()
    (tmp_path / "plans.yml").write_text("plans: [{speed: 300}]\n", encoding="utf-8")
    settings = settings.replace(
        database_url=f"sqlite:///{tmp_path / 'fresh' / 'ozbot.db'}",
        plans_file=str(tmp_path / "plans.yml"),
    )
    fakes.telegram.webhook.update(url="https://elsewhere.example/hook")
    fakes.twilio.numbers[NUMBER] = "https://old.example/sms"
    found = "\n".join(failures(await diagnose(settings, http)))
    assert "OZBOT_BUSINESS_HOURS" in found
    assert "OZBOT_PLANS_FILE=" in found and "plans.0.price: Field required" in found
    assert "run `ozbot migrate`" in found
    assert "refused OZMAP_TOKEN" in found
    assert "run `ozbot telegram set-webhook`" in found
    assert "go to https://old.example/sms, not https://bot.example.com.br/webhooks/twilio" in found

    good = await settings_for(tmp_path, sandbox, outage_tags=("MASSIVA", "NO_SUCH_TAG"))
    warned = [f.text for f in await diagnose(good, http) if f.level == "warn"]
    assert any("NO_SUCH_TAG do not exist in OZmap" in text for text in warned)


async def test_wrong_messenger_credentials_and_what_twilio_cannot_show(
    tmp_path: Path, sandbox: RunningSandbox, fakes: Fakes, http: httpx.AsyncClient
) -> None:
    settings = await settings_for(
        tmp_path, sandbox, telegram_token="7000000001:wrong", twilio_auth_token="wrong"
    )
    found = "\n".join(failures(await diagnose(settings, http)))
    assert "Telegram refused TELEGRAM_TOKEN" in found
    assert "Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN" in found

    fakes.twilio.numbers.clear()  # a WhatsApp sender, not one of the account's numbers
    fakes.telegram.webhook["last_error_message"] = "Connection refused"
    fakes.telegram.webhook["last_error_date"] = 1_700_000_000
    good = await settings_for(tmp_path, sandbox)
    findings = await diagnose(good, http)
    assert failures(findings) == []
    warned = "\n".join(f.text for f in findings if f.level == "warn")
    assert "Telegram's last delivery failed: Connection refused" in warned
    assert "set in Twilio's console" in warned and f"{PUBLIC}/webhooks/twilio" in warned


def test_the_command_exits_1_and_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "OZMAP_URL": f"http://127.0.0.1:{closed_port()}",
        "OZMAP_TOKEN": "some-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ozbot.db'}",
        "OZBOT_SESSION_SECRET": "a-long-random-secret-for-the-test",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("TELEGRAM_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  OZmap" in out and "check OZMAP_URL and that the server is up" in out
    assert "run `ozbot migrate`" in out
    assert "skip  Telegram" in out

    monkeypatch.setenv("OZBOT_LANGUAGE", "fr")
    assert main(["doctor"]) == 1
    assert "OZBOT_LANGUAGE='fr': use pt_BR, en or es" in capsys.readouterr().out
