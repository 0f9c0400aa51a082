"""``.env.example`` is generated from the settings model and kept current; its values load."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.cli import main
from bot.settings import SECRET_FIELDS, Settings, env_example, env_name, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"


def test_env_example_is_the_generated_text() -> None:
    assert EXAMPLE.read_text() == env_example(), (
        "regenerate it: ozbot settings example > .env.example"
    )


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    assert list(dotenv_values(EXAMPLE)) == [env_name(name) for name in Settings.model_fields]


def test_env_example_loads_and_its_secrets_are_dummies() -> None:
    settings = load_settings(environ={}, env_file=EXAMPLE)
    assert settings.telegram_mode == "webhook"
    assert len(settings.twilio_quick_reply_sids) == 3
    assert settings.database_url.startswith("postgresql://")
    assert SECRET_FIELDS
    for name in SECRET_FIELDS:
        value = str(getattr(settings, name))
        assert any(word in value for word in ("dummy", "change-me")), name


def test_ozbot_settings_example_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "example"]) == 0
    assert capsys.readouterr().out == EXAMPLE.read_text()


def test_procfile_runs_the_web_server_on_the_platform_port() -> None:
    line = (ROOT / "Procfile").read_text().strip()
    assert line.startswith("web: ozbot serve ")
    assert "--port $PORT" in line and "--host 0.0.0.0" in line
