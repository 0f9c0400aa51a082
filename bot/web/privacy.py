"""Names for customers in logs: never a phone number, chat id or session id in clear (LGPD).

The digest is :func:`bot.conversation.ref`, the one the engine logs, so one conversation's
lines can be followed across layers.
"""

from __future__ import annotations

from bot.conversation import ref

__all__ = ["ref"]
