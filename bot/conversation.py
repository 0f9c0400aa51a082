"""The conversation record the engine loads, steps and saves, and its transcript entries.

Plain data, shared by the engine (which changes it), the stores (which persist it) and the agent
console (which shows it). ``context`` holds what the flows learned: address, coordinates,
feasibility result, reservation codes; it must stay JSON-serialisable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bot.logsafe import customer_ref

__all__ = ["Conversation", "Role", "TranscriptEntry", "ref", "utcnow"]

Role = Literal["customer", "bot", "agent", "system"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def ref(key: str) -> str:
    """The name of a conversation key (``"whatsapp:5511..."``) in logs: the keyed digest of
    :func:`bot.logsafe.customer_ref` (this name is kept for the many callers)."""
    return customer_ref(key)


@dataclass
class Conversation:
    """The state of one customer's chat on one channel; ``key`` is ``"<channel>:<contact>"``."""

    key: str
    channel: str
    contact: str
    flow: str = "menu"
    state: str = "start"
    language: str = "pt_BR"
    context: dict[str, Any] = field(default_factory=dict)
    failures: int = 0  # consecutive failed turns; the engine offers a human after a few
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @classmethod
    def new(cls, channel: str, contact: str, language: str = "pt_BR") -> Conversation:
        return cls(key=f"{channel}:{contact}", channel=channel, contact=contact, language=language)


@dataclass(frozen=True)
class TranscriptEntry:
    """One line of a conversation's transcript, as the agent console shows it."""

    role: Role
    text: str
    at: datetime = field(default_factory=utcnow)
