"""Settings, read once at the edge into a frozen object (pydantic-settings).

Every value comes from the process environment, falling back to a ``.env`` file in the working
directory (the environment wins). Nothing here runs at import time: the CLI and the web lifespan
call :func:`load_settings` and pass the result down. Secrets never appear in ``repr``.

**Adding a setting** is one declaration in :class:`Settings`, in your block (or a new block,
started with ``section=``)::

    nlu_threshold: float = setting(0.6, "OZBOT_NLU_THRESHOLD", "lowest confidence acted on")

The variable, the default, the comment and the example of ``.env.example`` all come from it;
regenerate the file with ``ozbot settings example > .env.example`` (a test fails until you do).
Give ``example=`` when the default is not a good sample, and ``secret=True`` for credentials
(masked in ``repr`` and ``ozbot settings show``, a dummy value in the example).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.errors import ConfigError

__all__ = [
    "SECRET_FIELDS",
    "Settings",
    "env_example",
    "env_name",
    "load_settings",
    "mask",
    "read_setting",
    "setting",
]


def mask(value: object) -> str:
    """Show that a secret is set without showing it (keeps the last two characters)."""
    text = "" if value is None else str(value)
    if not text:
        return "<unset>"
    return "***" + text[-2:] if len(text) > 6 else "***"


# --- value types: what a variable's text may say ------------------------------------------------

_TRUE = frozenset({"1", "true", "yes", "on", "sim"})
_FALSE = frozenset({"0", "false", "no", "off", "nao", "não", ""})


def _flag(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise PydanticCustomError("flag", "is not a boolean: use true or false")


def _names(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    return tuple(part.strip() for part in raw.split(",") if part.strip())


#: true/false (also 1/0, yes/no, on/off, sim/não; empty is false)
Flag = Annotated[bool, BeforeValidator(_flag)]
#: a comma-separated list (pydantic-settings would read JSON: NoDecode keeps the plain text)
Names = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_names)]


def setting(
    default: Any,
    env: str,
    doc: str,
    *,
    example: str | None = None,
    secret: bool = False,
    section: str | None = None,
) -> Any:
    """Declare a setting: its default, its variable and the comment ``.env.example`` shows.

    ``example`` is the value written in ``.env.example`` (the default when None; secrets need
    one, a dummy); ``section`` starts a new block of ``.env.example`` with that title."""
    if secret and example is None:
        raise ValueError(f"{env} is a secret: give it a dummy example")
    extra: dict[str, Any] = {"secret": secret}
    if example is not None:
        extra["example"] = example
    if section is not None:
        extra["section"] = section
    return Field(default, validation_alias=env, description=doc, json_schema_extra=extra)


# --- the settings --------------------------------------------------------------------------------


class Settings(BaseSettings):
    """The whole configuration; :func:`env_name` gives each field's variable."""

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,
        extra="forbid",  # a misspelt override is an error; unknown variables are ignored
        validate_by_name=True,  # overrides and replace() use the field names
        validate_by_alias=True,
        validate_default=True,
    )

    # --- general ---
    data_dir: Path = setting(
        Path("data"),
        "OZBOT_DATA_DIR",
        "where the SQLite database lives when DATABASE_URL is empty",
        section="general",
    )
    database_url: str = setting(
        "",
        "DATABASE_URL",
        "empty: a SQLite file in OZBOT_DATA_DIR; several processes or hosts: PostgreSQL",
        example="postgresql://ozbot:change-me@127.0.0.1:5432/ozbot",
        secret=True,
    )
    language: Literal["pt_BR", "en", "es"] = setting(
        "pt_BR",
        "OZBOT_LANGUAGE",
        "pt_BR, en or es: the language of new conversations when the messenger gives no hint",
    )
    understanding: Literal["embedded", "off"] = setting(
        "embedded",
        "OZBOT_UNDERSTANDING",
        "embedded: read messages with the model trained from bot/nlu/data at start-up; off: "
        "route by keywords only",
    )
    require_cpf: Flag = setting(
        False, "OZBOT_REQUIRE_CPF", "true: the sales flow asks the customer's CPF"
    )
    log_format: Literal["text", "json"] = setting(
        "text",
        "OZBOT_LOG_FORMAT",
        "text, or json: one JSON object a line for a log collector (the same masking of "
        "customers' data)",
    )

    # --- OZmap ---
    ozmap_url: str = setting(
        "http://127.0.0.1:9994",
        "OZMAP_URL",
        "your OZmap's address (the default is `ozbot sandbox`'s)",
        example="https://sua-empresa.ozmap.com.br",
        section="OZmap",
    )
    ozmap_token: str = setting(
        "",
        "OZMAP_TOKEN",
        "an API key from OZmap's user panel (API module); empty with OZMAP_AUTH=login",
        example="dummy-ozmap-api-key",
        secret=True,
    )
    ozmap_auth: Literal["key", "login"] = setting(
        "key",
        "OZMAP_AUTH",
        "key: send OZMAP_TOKEN; login: log in with OZMAP_LOGIN and OZMAP_PASSWORD as OZmap's "
        "SDK does (a new login when the token expires)",
    )
    ozmap_login: str = setting("", "OZMAP_LOGIN", "OZmap user for OZMAP_AUTH=login", example="")
    ozmap_password: str = setting(
        "", "OZMAP_PASSWORD", "its password", example="dummy-ozmap-password", secret=True
    )
    ozmap_connect_timeout: float = setting(5.0, "OZMAP_CONNECT_TIMEOUT", "seconds")
    ozmap_read_timeout: float = setting(15.0, "OZMAP_READ_TIMEOUT", "seconds")
    ozmap_retries: int = setting(
        2, "OZMAP_RETRIES", "times a failed read is tried again (writes are never repeated)"
    )
    ozmap_filters_in: Literal["query", "body"] = setting(
        "query",
        "OZMAP_FILTERS_IN",
        "where list filters travel: query (the query string) or body (the GET body, as OZmap's "
        "SDK sends them; some proxies drop it)",
    )
    ozmap_feasibility_mode: Literal["radius", "poles"] = setting(
        "radius",
        "OZMAP_FEASIBILITY_MODE",
        "radius: OZmap's feasibility by radius; poles: the nearest pole, then the boxes reached "
        "along its neighbours (see docs/ozmap-api.md)",
    )
    ozmap_radius: int = setting(
        250,
        "OZMAP_RADIUS",
        "metres around the customer's point searched for a box with a free port",
    )
    ozmap_pole_radius: float = setting(
        100.0, "OZMAP_POLE_RADIUS", "poles mode: metres to the nearest pole"
    )
    ozmap_max_drop: float = setting(
        250.0,
        "OZMAP_MAX_DROP",
        "poles mode: the longest drop in metres, point to box along the poles (OZmap's own is "
        "the project's maximum drop size)",
    )
    ozmap_condo_radius: float = setting(
        80.0,
        "OZMAP_CONDO_RADIUS",
        "metres from the customer's point a building may stand and still be the customer's",
    )
    ozmap_code_template: str = setting(
        "OZB-{random}",
        "OZMAP_CODE_TEMPLATE",
        "how reservation codes are made, so the ERP can match them: text with {random}, "
        "{date:%Y%m%d}, {seq:05d} (a counter) and {cpf} (needs OZBOT_REQUIRE_CPF); one of "
        "{random} or {seq} is required",
        example="ISP-{date:%Y%m%d}-{random}",
    )
    ozmap_cpf_in_observation: Flag = setting(
        False,
        "OZMAP_CPF_IN_OBSERVATION",
        "true: the CPF is also written into the OZmap client's observation, a free-text field "
        "the bot's erasure cannot clear (default: the CPF stays in the bot's database only)",
    )
    prospect_tags: Names = setting(
        (),
        "OZMAP_PROSPECT_TAGS",
        "tags (names or ids) put on prospects; comma-separated",
        example="PROSPECT_BOT",
    )
    outage_tags: Names = setting(
        ("MASSIVA", "ROMPIMENTO", "MANUTENCAO"),
        "OZMAP_OUTAGE_TAGS",
        'tags that mark a mass outage ("massiva") on boxes or regions; comma-separated',
    )
    outage_tags_ttl: float = setting(
        600.0,
        "OZMAP_OUTAGE_TAGS_TTL",
        "seconds the outage tags' ids are reused before OZmap's tag list is read again",
    )
    outage_handoff: Flag = setting(
        False,
        "OZBOT_OUTAGE_HANDOFF",
        "true: a customer told of a known outage is also queued for a person",
    )

    # --- plans and answers ---
    plans_file: str = setting(
        "",
        "OZBOT_PLANS_FILE",
        "your plans, prices and answers to common questions (YAML, texts per language; a "
        "sample: bot/plans/sample.yml); empty: the bot quotes no prices (the demo and "
        "serve --sandbox use the sample)",
        example="/etc/ozbot/plans.yml",
        section="plans and answers",
    )

    # --- people and timers ---
    business_hours: str = setting(
        "mon-fri 08:00-18:00; sat 08:00-12:00",
        "OZBOT_BUSINESS_HOURS",
        "when agents answer handoffs (days mon..sun or seg..dom); empty: always",
        section="people and timers",
    )
    holidays: Names = setting(
        (),
        "OZBOT_HOLIDAYS",
        "the provider's own days off (Carnival, a local holiday), YYYY-MM-DD, comma-separated",
        example="2026-12-25,2027-01-01",
    )
    public_holidays: Flag = setting(
        True,
        "OZBOT_PUBLIC_HOLIDAYS",
        "true: Brazil's national holidays (and OZBOT_HOLIDAY_STATE's) close the team too, from "
        "the holidays package; OZBOT_HOLIDAYS adds to them",
    )
    holiday_state: str = setting(
        "",
        "OZBOT_HOLIDAY_STATE",
        "the state (UF) whose holidays also close the team; empty: national ones only",
        example="SC",
    )
    timezone: str = setting("America/Sao_Paulo", "OZBOT_TIMEZONE", "the team's time zone")
    nudge_minutes: float = setting(
        10.0,
        "OZBOT_NUDGE_MINUTES",
        "minutes of silence mid-flow before the bot nudges the customer (0 turns it off)",
    )
    expire_minutes: float = setting(
        120.0,
        "OZBOT_EXPIRE_MINUTES",
        "minutes of silence mid-flow before the conversation goes back to the menu, its data "
        "kept (0 turns it off)",
    )
    handoff_timeout_minutes: float = setting(
        30.0,
        "OZBOT_HANDOFF_TIMEOUT_MINUTES",
        "minutes (counted from opening time) before a handoff nobody claimed goes back to the bot",
    )

    # --- addresses ---
    geocoder: str = setting(
        "nominatim",
        "GEOCODER",
        "nominatim (or another geopy provider name), or gazetteer (offline, sandbox area only)",
        section="addresses",
    )
    geocoder_api_key: str = setting(
        "",
        "GEOCODER_API_KEY",
        "for providers that need a key",
        example="dummy-geocoder-key",
        secret=True,
    )
    geocoder_user_agent: str = setting(
        "ozbot",
        "GEOCODER_USER_AGENT",
        "Nominatim's policy asks for a user agent naming you",
        example="ozbot-sua-empresa",
    )
    geocoder_country: str = setting("br", "GEOCODER_COUNTRY", "searches stay in this country")
    cep_provider: str = setting("viacep", "CEP_PROVIDER", "viacep or offline")
    cep_url: str = setting("https://viacep.com.br/ws", "CEP_URL", "ViaCEP's address")

    # --- web server ---
    public_base_url: str = setting(
        "http://127.0.0.1:8000",
        "PUBLIC_BASE_URL",
        "the https address messengers reach this server at (Twilio signs requests with it). "
        "`ozbot serve` also reads PORT (default 8000) and FORWARDED_ALLOW_IPS (trusted proxies)",
        example="https://bot.sua-empresa.com.br",
        section="web server (ozbot serve)",
    )
    session_secret: str = setting(
        "",
        "OZBOT_SESSION_SECRET",
        'signs web-chat session cookies: a long random string (e.g. python -c "import '
        'secrets; print(secrets.token_urlsafe(32))"); empty: one kept in the database',
        example="change-me-to-a-long-random-string",
        secret=True,
    )
    log_key: str = setting(
        "",
        "OZBOT_LOG_KEY",
        "keys the digests that name customers in logs (a long random string); empty: a key "
        "generated once and kept in the database, shared by every process",
        example="change-me-to-another-long-random-string",
        secret=True,
    )
    prune_every: float = setting(
        3600.0,
        "OZBOT_PRUNE_EVERY",
        "seconds between deletions of old rows (message ids, expired cache, ended sessions); "
        "0: never",
    )
    prune_message_days: float = setting(
        30.0,
        "OZBOT_PRUNE_MESSAGE_DAYS",
        "days a message id is kept to recognise a re-delivery (messengers stop within a day)",
    )
    webhook_concurrency: int = setting(
        32, "OZBOT_WEBHOOK_CONCURRENCY", "turns one `ozbot serve` process runs at once"
    )

    # --- Telegram ---
    telegram_token: str = setting(
        "",
        "TELEGRAM_TOKEN",
        "from @BotFather; empty: no Telegram",
        example="123456789:dummy-telegram-bot-token",
        secret=True,
        section="Telegram",
    )
    telegram_secret: str = setting(
        "",
        "TELEGRAM_SECRET",
        "sent by Telegram with every update: letters, digits, _ and -, up to 256",
        example="dummy_webhook_secret",
        secret=True,
    )
    telegram_mode: Literal["webhook", "polling"] = setting(
        "webhook",
        "TELEGRAM_MODE",
        "webhook (production: `ozbot telegram set-webhook`) or polling (local development)",
    )
    telegram_api_url: str = setting(
        "https://api.telegram.org",
        "TELEGRAM_API_URL",
        "changed only to point at a local fake or a self-hosted Bot API server",
    )

    # --- WhatsApp through Twilio ---
    twilio_account_sid: str = setting(
        "",
        "TWILIO_ACCOUNT_SID",
        "from the Twilio console; empty: no WhatsApp",
        example="ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        section="WhatsApp through Twilio",
    )
    twilio_auth_token: str = setting(
        "",
        "TWILIO_AUTH_TOKEN",
        "from the Twilio console",
        example="dummy-twilio-auth-token",
        secret=True,
    )
    twilio_from: str = setting(
        "", "TWILIO_FROM", "your WhatsApp sender", example="whatsapp:+5511900000000"
    )
    twilio_quick_reply_sids: Names = setting(
        (),
        "TWILIO_QUICK_REPLY_SIDS",
        "Content SIDs of twilio/quick-reply templates with 1, 2 and 3 buttons (see the README); "
        "empty: options are sent as numbered text",
        example="HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,HXbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,"
        "HXcccccccccccccccccccccccccccccccc",
    )
    twilio_api_url: str = setting(
        "https://api.twilio.com",
        "TWILIO_API_URL",
        "changed only to point at a local fake",
    )
    twilio_timer_template_sid: str = setting(
        "",
        "TWILIO_TIMER_TEMPLATE_SID",
        "Content SID of an approved template for timer messages outside WhatsApp's 24-hour "
        "window; empty: such messages are not sent (the state change still happens)",
        example="HXdddddddddddddddddddddddddddddddd",
    )

    # --- the end of the blocks: add yours above, with section= on its first setting ---

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the overrides first, then the variables load_settings gathered (.env under the
        # environment); unknown variables are ignored, as a shared environment has many
        return init_settings, _Variables(settings_cls, _VARIABLES.get())

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, mask(value) if name in SECRET_FIELDS else value

    @property
    def effective_database_url(self) -> str:
        """The database to use: ``DATABASE_URL`` or a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'ozbot.db'}"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (field names), validated like the originals.

        Raises :class:`ConfigError` naming the variable of a value that does not fit."""
        return _validated(lambda: type(self).model_validate({**self.model_dump(), **changes}))


class _Variables(EnvSettingsSource):
    """pydantic-settings' environment source over a mapping of our choosing (the environment
    with ``.env`` beneath it, or a test's own), so every path parses variables the same way."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str] | None):
        self._variables = os.environ if variables is None else variables
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._variables)


# Set by load_settings around the construction it makes: sources are built inside Settings()
_VARIABLES: ContextVar[Mapping[str, str] | None] = ContextVar("ozbot_variables", default=None)


def _extra(field_name: str) -> dict[str, Any]:
    extra = Settings.model_fields[field_name].json_schema_extra
    return extra if isinstance(extra, dict) else {}


#: fields whose values are credentials: masked in repr and in every log line
SECRET_FIELDS = frozenset(name for name in Settings.model_fields if _extra(name).get("secret"))


def env_name(field_name: str) -> str:
    """The environment variable that sets a field."""
    alias = Settings.model_fields[field_name].validation_alias
    return alias if isinstance(alias, str) else field_name.upper()


_BY_ALIAS = {env_name(name): name for name in Settings.model_fields}
_NUMBER_ERRORS = frozenset(
    {"int_parsing", "float_parsing", "int_from_float", "int_type", "float_type", "finite_number"}
)


def _explain(exc: ValidationError) -> str:
    """One line per wrong variable, naming it and the fix (the messages the old parser gave)."""
    lines = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "?"
        if key in Settings.model_fields:
            key = env_name(key)
        shown = f"{key}={error.get('input')!r}"
        kind = error["type"]
        if kind == "flag":
            lines.append(f"{shown} is not a boolean: use true or false")
        elif kind in _NUMBER_ERRORS:
            lines.append(f"{shown} is not a number: set it to e.g. 10")
        elif kind == "literal_error":
            expected = str((error.get("ctx") or {}).get("expected", "")).replace("'", "")
            lines.append(f"{shown}: use {expected}")
        elif kind == "extra_forbidden":
            lines.append(f"{key} is not a setting: see .env.example for the names")
        else:
            lines.append(f"{shown}: {error['msg']}")
    return "; ".join(lines)


def _validated(build: Callable[[], Settings]) -> Settings:
    try:
        settings = build()
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    return settings


def _gather(environ: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    """The variables: ``env_file``'s under ``environ`` (default: the process environment)."""
    variables: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        variables.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    variables.update(os.environ if environ is None else environ)
    return variables


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"), **overrides: Any
) -> Settings:
    """Read the settings once: ``overrides`` (field names; the CLI flags and tests) win over
    ``environ`` (default: the process environment), which wins over ``env_file``.

    Raises :class:`ConfigError` naming each variable that is malformed and how to fix it."""
    token = _VARIABLES.set(_gather(environ, env_file))
    try:
        return _validated(lambda: Settings(**overrides))
    finally:
        _VARIABLES.reset(token)


def read_setting(
    field_name: str, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Any:
    """One setting, read and validated as :func:`load_settings` would, without the others: the
    CLI sets up logging with it before it knows whether the command needs the rest.

    Raises :class:`ConfigError` naming the variable when its value is malformed."""
    raw = _gather(environ, env_file).get(env_name(field_name))
    if raw is None:
        return Settings.model_fields[field_name].default
    # the model's own validation (the other fields keep their defaults, which are valid)
    return getattr(_validated(lambda: Settings.model_validate({field_name: raw})), field_name)


# --- .env.example ---------------------------------------------------------------------------------

_EXAMPLE_HEADER = """\
# ozbot configuration: copy to .env and fill in. Generated from bot/settings.py by
# `ozbot settings example > .env.example` (tests/web/test_env_example.py keeps it current): edit
# the settings there, not here. Values here are dummies; the process environment wins over .env.
"""


def _sample(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def env_example() -> str:
    """The text of ``.env.example``: every setting, its comment and a sample value."""
    out = [_EXAMPLE_HEADER]
    for name, field in Settings.model_fields.items():
        extra = _extra(name)
        if "section" in extra:
            title = f"# --- {extra['section']} "
            out.append("\n" + title + "-" * (95 - len(title)) + "\n")
        if field.description:
            out.append(
                textwrap.fill(field.description, 100, initial_indent="# ", subsequent_indent="# ")
                + "\n"
            )
        out.append(f"{env_name(name)}={extra.get('example', _sample(field.default))}\n")
    return "".join(out)
