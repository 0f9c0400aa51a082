"""Settings: the variables, their defaults, what a wrong value is told, secrets out of sight."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from bot.cli import main
from bot.errors import ConfigError
from bot.settings import SECRET_FIELDS, Settings, env_name, load_settings


def load(**variables: str) -> Settings:
    return load_settings(environ=variables, env_file=None)


def test_defaults_when_nothing_is_set() -> None:
    settings = load()
    assert settings.data_dir == Path("data")
    assert settings.effective_database_url == "sqlite:///data/ozbot.db"
    assert settings.language == "pt_BR"
    assert settings.ozmap_url == "http://127.0.0.1:9994"
    assert (settings.ozmap_connect_timeout, settings.ozmap_read_timeout) == (5.0, 15.0)
    assert (settings.ozmap_retries, settings.ozmap_radius) == (2, 250)
    assert settings.outage_tags == ("MASSIVA", "ROMPIMENTO", "MANUTENCAO")
    assert settings.prospect_tags == () and settings.holidays == ()
    assert settings.business_hours == "mon-fri 08:00-18:00; sat 08:00-12:00"
    assert settings.timezone == "America/Sao_Paulo"
    assert (settings.nudge_minutes, settings.expire_minutes) == (10.0, 120.0)
    assert settings.handoff_timeout_minutes == 30.0
    assert settings.require_cpf is False and settings.outage_handoff is False
    assert settings.telegram_mode == "webhook"
    assert settings.webhook_concurrency == 32
    assert settings.geocoder == "nominatim" and settings.cep_provider == "viacep"


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("data_dir", "OZBOT_DATA_DIR"),
        ("language", "OZBOT_LANGUAGE"),
        ("require_cpf", "OZBOT_REQUIRE_CPF"),
        ("session_secret", "OZBOT_SESSION_SECRET"),
        ("prospect_tags", "OZMAP_PROSPECT_TAGS"),
        ("outage_tags", "OZMAP_OUTAGE_TAGS"),
        ("outage_tags_ttl", "OZMAP_OUTAGE_TAGS_TTL"),
        ("holidays", "OZBOT_HOLIDAYS"),
        ("ozmap_token", "OZMAP_TOKEN"),
        ("database_url", "DATABASE_URL"),
        ("twilio_quick_reply_sids", "TWILIO_QUICK_REPLY_SIDS"),
    ],
)
def test_the_variables_keep_their_names(field: str, variable: str) -> None:
    assert env_name(field) == variable


def test_typed_values_are_read_from_text() -> None:
    settings = load(
        OZBOT_DATA_DIR="/srv/ozbot",
        OZMAP_RADIUS="400",
        OZMAP_READ_TIMEOUT="2.5",
        OZMAP_PROSPECT_TAGS=" PROSPECT_BOT , ,site ",
        OZBOT_REQUIRE_CPF="sim",
        OZBOT_OUTAGE_HANDOFF="TRUE",
        OZBOT_LANGUAGE="es",
    )
    assert settings.data_dir == Path("/srv/ozbot")
    assert settings.effective_database_url == "sqlite:////srv/ozbot/ozbot.db"
    assert settings.ozmap_radius == 400 and settings.ozmap_read_timeout == 2.5
    assert settings.prospect_tags == ("PROSPECT_BOT", "site")
    assert settings.require_cpf is True and settings.outage_handoff is True
    assert settings.language == "es"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        *[("1", True), ("yes", True), ("on", True), ("Sim", True), ("0", False), ("no", False)],
        *[("off", False), ("não", False), ("nao", False), ("", False), (" false ", False)],
    ],
)
def test_booleans_speak_english_and_portuguese(raw: str, value: bool) -> None:
    assert load(OZBOT_REQUIRE_CPF=raw).require_cpf is value


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"OZBOT_REQUIRE_CPF": "talvez"},
            "OZBOT_REQUIRE_CPF='talvez' is not a boolean: use true or false",
        ),
        ({"OZMAP_RETRIES": "two"}, "OZMAP_RETRIES='two' is not a number: set it to e.g. 10"),
        ({"OZMAP_RETRIES": "2.5"}, "OZMAP_RETRIES='2.5' is not a number: set it to e.g. 10"),
        ({"OZMAP_READ_TIMEOUT": ""}, "OZMAP_READ_TIMEOUT='' is not a number: set it to e.g. 10"),
        ({"OZBOT_LANGUAGE": "fr"}, "OZBOT_LANGUAGE='fr': use pt_BR, en or es"),
        ({"TELEGRAM_MODE": "push"}, "TELEGRAM_MODE='push': use webhook or polling"),
    ],
)
def test_a_wrong_value_is_named_with_its_fix(variables: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(**variables)
    assert str(caught.value) == message


def test_every_wrong_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load(OZMAP_RADIUS="far", OZBOT_LANGUAGE="de")
    assert "OZMAP_RADIUS='far'" in str(caught.value)
    assert "OZBOT_LANGUAGE='de'" in str(caught.value)


def test_overrides_win_over_the_environment_which_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OZMAP_RADIUS=100\nOZMAP_RETRIES=7\nGEOCODER=gazetteer\nUNRELATED=1\n")
    settings = load_settings(
        environ={"OZMAP_RADIUS": "200", "GEOCODER": "photon", "PATH": "/bin"},
        env_file=env_file,
        geocoder="arcgis",
    )
    assert settings.ozmap_retries == 7  # from .env only
    assert settings.ozmap_radius == 200  # the environment over .env
    assert settings.geocoder == "arcgis"  # the override over both


def test_the_process_environment_and_dot_env_are_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("OZMAP_RADIUS=120\nOZBOT_TIMEZONE=America/Manaus\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OZBOT_TIMEZONE", "America/Recife")
    settings = load_settings()
    assert settings.ozmap_radius == 120
    assert settings.timezone == "America/Recife"


def test_a_misspelt_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="ozmap_radios is not a setting"):
        load_settings(environ={}, env_file=None, ozmap_radios=10)


def test_settings_are_frozen_and_replace_validates() -> None:
    settings = load()
    with pytest.raises(pydantic.ValidationError):
        settings.ozmap_radius = 10  # type: ignore[misc]
    moved = settings.replace(data_dir="/srv/elsewhere", ozmap_radius="90")
    assert moved.data_dir == Path("/srv/elsewhere") and moved.ozmap_radius == 90
    assert settings.ozmap_radius == 250
    with pytest.raises(ConfigError, match="OZMAP_RADIUS='near' is not a number"):
        settings.replace(ozmap_radius="near")


def test_secrets_never_show_in_repr_or_in_settings_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = {env_name(name): f"s3cr3t-{name}-value-xyz" for name in SECRET_FIELDS}
    assert {"OZMAP_TOKEN", "TELEGRAM_TOKEN", "TWILIO_AUTH_TOKEN", "DATABASE_URL"} <= set(secrets)
    settings = load(**secrets)
    for text in (repr(settings), str(settings)):
        assert "ozmap_radius=250" in text
        for value in secrets.values():
            assert value not in text and value[:-2] not in text
        assert "ozmap_token='***yz'" in text

    monkeypatch.chdir(tmp_path)  # no .env here
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    assert main(["settings", "show"]) == 0
    shown = capsys.readouterr().out
    assert "OZMAP_TOKEN=***yz" in shown and "OZMAP_RADIUS=250" in shown
    for value in secrets.values():
        assert value[:-2] not in shown
