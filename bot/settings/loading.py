"""Reading the settings once, at the edge: :func:`load_settings`, and :func:`read_setting` for
the one the CLI needs before the others."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.settings.model import Settings, env_name, validated
from bot.settings.sources import VARIABLES, gather

__all__ = ["load_settings", "read_setting"]


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"), **overrides: Any
) -> Settings:
    """Read the settings once: ``overrides`` (field names; the CLI flags and tests) win over
    ``environ`` (default: the process environment), which wins over ``env_file``.

    Raises :class:`ConfigError` naming each variable that is malformed and how to fix it."""
    token = VARIABLES.set(gather(environ, env_file))
    try:
        return validated(lambda: Settings(**overrides))
    finally:
        VARIABLES.reset(token)


def read_setting(
    field_name: str, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Any:
    """One setting, read and validated as :func:`load_settings` would, without the others: the
    CLI sets up logging with it before it knows whether the command needs the rest.

    Raises :class:`ConfigError` naming the variable when its value is malformed."""
    raw = gather(environ, env_file).get(env_name(field_name))
    if raw is None:
        return Settings.model_fields[field_name].default
    # the model's own validation (the other fields keep their defaults, which are valid)
    return getattr(validated(lambda: Settings.model_validate({field_name: raw})), field_name)
