"""Settings for a test: nothing read from the environment or ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.ozmap.sandbox import RunningSandbox
from bot.plans import SAMPLE
from bot.settings import Settings, load_settings

__all__ = ["NOWHERE", "offline_settings"]

#: an OZmap address nothing listens at, for tests whose flows never call OZmap
NOWHERE = "http://127.0.0.1:9"


def offline_settings(
    tmp_path: Path, sandbox: RunningSandbox | None = None, **overrides: Any
) -> Settings:
    """SQLite in ``tmp_path``, the offline geocoder and CEP table, and OZmap at ``sandbox``
    (None: at :data:`NOWHERE`, with a token nobody checks), the sample plans and answers
    (:data:`bot.plans.SAMPLE`, as the demo has them); ``overrides`` win."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'ozbot.db'}",
        "ozmap_url": sandbox.url if sandbox is not None else NOWHERE,
        "ozmap_token": sandbox.token if sandbox is not None else "unused",
        "geocoder": "gazetteer",
        "cep_provider": "offline",
        "plans_file": str(SAMPLE),
    }
    values.update(overrides)
    return load_settings(environ={}, env_file=None, **values)
