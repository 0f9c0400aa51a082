"""Names for customers in logs: never a phone number, chat id or session id in clear (LGPD)."""

from __future__ import annotations

import hashlib

__all__ = ["ref"]


def ref(key: str) -> str:
    """A stable, non-reversible name for a conversation key (``"whatsapp:5511..."``); the same
    digest the engine logs, so one conversation's lines can be followed across layers."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]
