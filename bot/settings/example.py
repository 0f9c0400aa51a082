"""The text of ``.env.example`` (``ozbot settings example``), written from the declarations."""

from __future__ import annotations

import textwrap
from typing import Any

from bot.settings.fields import extra_of
from bot.settings.model import Settings, env_name

__all__ = ["env_example"]

# The file says bot/settings.py (now the package bot/settings/): the path is kept so the file
# stays byte for byte what it was when the settings were one module.
_EXAMPLE_HEADER = """\
# ozbot configuration: copy to .env and fill in. Generated from bot/settings/ by
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
        extra = extra_of(field)
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
