"""How a setting is declared: :func:`setting`, the value types a variable's text may hold, and
:func:`mask` for the secrets among them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import NoDecode

__all__ = ["Block", "Flag", "Names", "extra_of", "mask", "setting", "variable_of"]


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


def extra_of(field: FieldInfo) -> dict[str, Any]:
    """What :func:`setting` noted beside the field: ``secret``, ``example``, ``section``."""
    extra = field.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def variable_of(field_name: str, field: FieldInfo) -> str:
    """The environment variable that sets ``field``."""
    alias = field.validation_alias
    return alias if isinstance(alias, str) else field_name.upper()


class Block(BaseModel):
    """A block of settings (one titled part of ``.env.example``): never built on its own, only
    as a base of :class:`bot.settings.Settings`, which carries the real configuration."""

    model_config = ConfigDict(frozen=True)
