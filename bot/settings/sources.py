"""Where the variables come from: the process environment with ``.env`` beneath it, or a
test's own mapping, handed to pydantic-settings' environment source."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path

from dotenv import dotenv_values
from pydantic_settings import BaseSettings, EnvSettingsSource

__all__ = ["VARIABLES", "Variables", "gather"]


class Variables(EnvSettingsSource):
    """pydantic-settings' environment source over a mapping of our choosing (the environment
    with ``.env`` beneath it, or a test's own), so every path parses variables the same way."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str] | None):
        self._variables = os.environ if variables is None else variables
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._variables)


# Set by load_settings around the construction it makes: sources are built inside Settings()
VARIABLES: ContextVar[Mapping[str, str] | None] = ContextVar("ozbot_variables", default=None)


def gather(environ: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    """The variables: ``env_file``'s under ``environ`` (default: the process environment)."""
    variables: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        variables.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    variables.update(os.environ if environ is None else environ)
    return variables
