"""Settings, read once at the edge into a frozen object.

Every value comes from the process environment, falling back to a ``.env`` file in the working
directory (the environment wins). Nothing here runs at import time: the CLI and the web lifespan
call :func:`load_settings` and pass the result down. Secrets never appear in ``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from bot.errors import ConfigError

__all__ = ["Settings", "load_settings", "mask"]

# Fields whose values are credentials: masked in repr and in every log line.
SECRET_FIELDS = frozenset(
    {
        "ozmap_token",
        "geocoder_api_key",
        "telegram_token",
        "telegram_secret",
        "twilio_auth_token",
        "session_secret",
        "database_url",
    }
)


def mask(value: str | None) -> str:
    """Show that a secret is set without showing it (keeps the last two characters)."""
    if not value:
        return "<unset>"
    return "***" + value[-2:] if len(value) > 6 else "***"


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on", "sim"}:
        return True
    if lowered in {"0", "false", "no", "off", "nao", "não", ""}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: use true or false")


def _number(name: str, raw: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number: set it to e.g. 10") from None


@dataclass(frozen=True, repr=False)
class Settings:
    """The whole configuration; each field's variable is given by :func:`env_name`."""

    data_dir: Path = Path("data")
    database_url: str = ""  # empty = sqlite file under data_dir
    language: str = "pt_BR"

    ozmap_url: str = "http://127.0.0.1:9994"
    ozmap_token: str = ""
    ozmap_connect_timeout: float = 5.0
    ozmap_read_timeout: float = 15.0
    ozmap_retries: int = 2
    ozmap_radius: int = 250
    # seconds the directory of buildings and horizontal condominiums is reused (ports: always live)
    ozmap_condo_ttl: float = 300.0
    prospect_tags: tuple[str, ...] = ()
    outage_tags: tuple[str, ...] = ("MASSIVA", "ROMPIMENTO", "MANUTENCAO")
    # seconds the outage tags' ids are reused before OZmap's tag list is read again
    outage_tags_ttl: float = 600.0
    outage_handoff: bool = False  # also queue a customer with a known outage for a person

    geocoder: str = "nominatim"  # "gazetteer" (offline, sandbox area) or any geopy provider name
    geocoder_api_key: str = ""
    geocoder_user_agent: str = "ozbot"
    geocoder_country: str = "br"
    cep_provider: str = "viacep"  # "offline" or "viacep"
    cep_url: str = "https://viacep.com.br/ws"

    require_cpf: bool = False

    # when people answer handoffs (see bot/engine/hours.py); empty hours = always
    business_hours: str = "mon-fri 08:00-18:00; sat 08:00-12:00"
    holidays: tuple[str, ...] = ()
    timezone: str = "America/Sao_Paulo"
    # silence, in minutes, before the bot nudges a customer mid-flow, before it returns the
    # conversation to the menu (data kept), and before an unclaimed handoff (counted from
    # opening time) goes back to the bot
    nudge_minutes: float = 10.0
    expire_minutes: float = 120.0
    handoff_timeout_minutes: float = 30.0

    public_base_url: str = "http://127.0.0.1:8000"
    telegram_token: str = ""
    telegram_secret: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    session_secret: str = ""
    # where the messenger APIs live: changed only to point at a local fake or a self-hosted
    # Bot API server
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: str = "webhook"  # "webhook" (production) or "polling" (local development)
    twilio_api_url: str = "https://api.twilio.com"
    # Content SIDs of quick-reply templates with 1, 2 and 3 buttons (see the README); without
    # them WhatsApp options are sent as numbered text
    twilio_quick_reply_sids: tuple[str, ...] = ()
    webhook_concurrency: int = 32  # turns processed at once by one `ozbot serve` process
    # Content SID of an approved WhatsApp template for timer messages outside the 24-hour
    # window; without it such messages are not sent (the state change still happens)
    twilio_timer_template_sid: str = ""

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            shown.append(f"{f.name}={mask(value) if f.name in SECRET_FIELDS else value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def effective_database_url(self) -> str:
        """The database to use: ``DATABASE_URL`` or a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'ozbot.db'}"


# Fields whose variable is not simply the upper-cased name (too generic on its own: LANGUAGE is
# gettext's own variable).
ENV_NAMES = {
    "data_dir": "OZBOT_DATA_DIR",
    "language": "OZBOT_LANGUAGE",
    "require_cpf": "OZBOT_REQUIRE_CPF",
    "session_secret": "OZBOT_SESSION_SECRET",
    "prospect_tags": "OZMAP_PROSPECT_TAGS",
    "outage_tags": "OZMAP_OUTAGE_TAGS",
    "webhook_concurrency": "OZBOT_WEBHOOK_CONCURRENCY",
    "outage_tags_ttl": "OZMAP_OUTAGE_TAGS_TTL",
    "outage_handoff": "OZBOT_OUTAGE_HANDOFF",
    "business_hours": "OZBOT_BUSINESS_HOURS",
    "holidays": "OZBOT_HOLIDAYS",
    "timezone": "OZBOT_TIMEZONE",
    "nudge_minutes": "OZBOT_NUDGE_MINUTES",
    "expire_minutes": "OZBOT_EXPIRE_MINUTES",
    "handoff_timeout_minutes": "OZBOT_HANDOFF_TIMEOUT_MINUTES",
}


def env_name(field_name: str) -> str:
    """The environment variable that sets a field."""
    return ENV_NAMES.get(field_name, field_name.upper())


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"), **overrides: Any
) -> Settings:
    """Read the settings once. ``overrides`` (field names) win over everything; used by the CLI
    flags and by tests."""
    source: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)

    values: dict[str, Any] = {}
    for f in fields(Settings):
        name = env_name(f.name)
        if name not in source:
            continue
        raw = source[name]
        default = f.default
        if isinstance(default, bool):
            values[f.name] = _bool(name, raw)
        elif isinstance(default, int):
            values[f.name] = _number(name, raw, int)
        elif isinstance(default, float):
            values[f.name] = _number(name, raw, float)
        elif isinstance(default, tuple):
            values[f.name] = _split(raw)
        elif isinstance(default, Path):
            values[f.name] = Path(raw)
        else:
            values[f.name] = raw
    values.update(overrides)
    settings = Settings(**values)
    if settings.language not in {"pt_BR", "en", "es"}:
        raise ConfigError(f"OZBOT_LANGUAGE={settings.language!r}: use pt_BR, en or es")
    if settings.telegram_mode not in {"webhook", "polling"}:
        raise ConfigError(f"TELEGRAM_MODE={settings.telegram_mode!r}: use webhook or polling")
    return settings
