"""The whole configuration, :class:`Settings`: the blocks joined into one frozen object, and
the one-line explanation a wrong value gets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.errors import ConfigError
from bot.settings.addresses import Addresses
from bot.settings.channels import Telegram, Twilio
from bot.settings.fields import extra_of, mask, variable_of
from bot.settings.general import General
from bot.settings.ozmap import Ozmap
from bot.settings.service import People, Plans
from bot.settings.sources import VARIABLES, Variables
from bot.settings.web import Web

__all__ = ["SECRET_FIELDS", "Settings", "env_name", "validated"]


# pydantic gathers fields from the last base to the first: the blocks are listed from the last
# to the first so that the fields (and .env.example) keep their order. A new block goes here.
class Settings(Twilio, Telegram, Web, Addresses, People, Plans, Ozmap, General, BaseSettings):
    """The whole configuration; :func:`env_name` gives each field's variable."""

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,
        extra="forbid",  # a misspelt override is an error; unknown variables are ignored
        validate_by_name=True,  # overrides and replace() use the field names
        validate_by_alias=True,
        validate_default=True,
    )

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
        return init_settings, Variables(settings_cls, VARIABLES.get())

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, mask(value) if name in SECRET_FIELDS else value

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (field names), validated like the originals.

        Raises :class:`ConfigError` naming the variable of a value that does not fit."""
        return validated(lambda: type(self).model_validate({**self.model_dump(), **changes}))


#: fields whose values are credentials: masked in repr and in every log line
SECRET_FIELDS = frozenset(
    name for name, field in Settings.model_fields.items() if extra_of(field).get("secret")
)


def env_name(field_name: str) -> str:
    """The environment variable that sets a field."""
    return variable_of(field_name, Settings.model_fields[field_name])


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


def validated(build: Callable[[], Settings]) -> Settings:
    """``build()``'s settings, or :class:`ConfigError` naming each wrong variable."""
    try:
        settings = build()
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    return settings
