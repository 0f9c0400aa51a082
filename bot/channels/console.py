"""The console channel: the bot's replies printed to a terminal (``ozbot demo``).

The terminal has no buttons, so options are printed numbered; the engine maps a typed number
back to the option (see :mod:`bot.engine.routing`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from bot.channels.base import Channel
from bot.messages import Reply

__all__ = ["ConsoleChannel", "render_reply"]


def render_reply(reply: Reply, location_hint: str | None = None) -> str:
    """A reply as the console shows it: the text, then its options numbered from 1."""
    lines = [reply.text]
    lines.extend(f"  {i}. {button.label}" for i, button in enumerate(reply.buttons, 1))
    if reply.ask_location and location_hint:
        lines.append(f"  {location_hint}")
    return "\n".join(lines)


class ConsoleChannel(Channel):
    """Prints replies to ``out`` (stdout by default), each prefixed with ``prefix``.

    ``location_hint`` is printed under replies that ask for a location (the terminal's way to
    send one, e.g. ``/location LAT LNG``). Never raises: a terminal does not refuse messages.
    """

    def __init__(
        self,
        *,
        name: str = "console",
        out: TextIO | None = None,
        prefix: str = "bot> ",
        location_hint: str | None = None,
    ) -> None:
        self.name = name
        self._out = out
        self._prefix = prefix
        self._location_hint = location_hint

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        out = self._out or sys.stdout
        for reply in replies:
            text = render_reply(reply, self._location_hint)
            indent = "\n" + " " * len(self._prefix)
            out.write(self._prefix + text.replace("\n", indent) + "\n")
        out.flush()
