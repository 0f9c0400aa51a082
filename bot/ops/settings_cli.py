"""``ozbot settings example`` (the text of ``.env.example``) and ``ozbot settings show`` (the
settings this process would run with, secrets masked)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import SECRET_FIELDS, Settings, env_example, env_name, load_settings, mask

__all__ = ["register", "show"]


def show(settings: Settings) -> str:
    """``VARIABLE=value`` lines, one per setting, secrets masked."""
    lines = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name in SECRET_FIELDS:
            text = mask(value)
        elif isinstance(value, tuple):
            text = ",".join(value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        lines.append(f"{env_name(name)}={text}")
    return "\n".join(lines)


def _example(args: argparse.Namespace) -> int:
    print(env_example(), end="")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(show(load_settings()))
    return 0


def register(subparsers: Any) -> None:
    """``ozbot settings example|show``."""
    settings = subparsers.add_parser(
        "settings", help="print .env.example, or the settings in effect (secrets masked)"
    ).add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    example = settings.add_parser(
        "example", help="print .env.example (every setting, with its comment and a dummy value)"
    )
    example.set_defaults(handler=_example)
    shown = settings.add_parser(
        "show", help="print the settings read from the environment and .env, secrets masked"
    )
    shown.set_defaults(handler=_show)
