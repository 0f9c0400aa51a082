"""``.env.example`` lists every setting, with values the settings loader accepts."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from dotenv import dotenv_values

from bot.settings import SECRET_FIELDS, Settings, env_name, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"


def test_every_setting_is_in_env_example() -> None:
    listed = set(dotenv_values(EXAMPLE))
    missing = [env_name(f.name) for f in fields(Settings) if env_name(f.name) not in listed]
    assert missing == [], f"add to .env.example: {', '.join(missing)}"


def test_env_example_names_nothing_the_settings_do_not_read() -> None:
    known = {env_name(f.name) for f in fields(Settings)}
    assert set(dotenv_values(EXAMPLE)) <= known


def test_env_example_loads_and_its_secrets_are_dummies() -> None:
    settings = load_settings(environ={}, env_file=EXAMPLE)
    assert settings.telegram_mode == "webhook"
    assert len(settings.twilio_quick_reply_sids) == 3
    for name in SECRET_FIELDS:
        value = str(getattr(settings, name))
        assert any(word in value for word in ("dummy", "change-me")), name


def test_procfile_runs_the_web_server_on_the_platform_port() -> None:
    line = (ROOT / "Procfile").read_text().strip()
    assert line.startswith("web: ozbot serve ")
    assert "--port $PORT" in line and "--host 0.0.0.0" in line
