"""The general block: where data lives, the language, how messages are read, the log format."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from bot.settings.fields import Block, Flag, setting

__all__ = ["General"]


class General(Block):
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

    @property
    def effective_database_url(self) -> str:
        """The database to use: ``DATABASE_URL`` or a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'ozbot.db'}"
