"""Channel-neutral message values: what a customer sent, and what the bot answers.

Channels turn their wire formats into :class:`Inbound` and render :class:`Reply`; the engine and
the flows only ever see these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

__all__ = ["Button", "Inbound", "Location", "Reply", "clean_inbound", "clean_text"]

# NUL: PostgreSQL's text and jsonb cannot hold it (every delivery of such a message failed).
# A lone surrogate: no encoding can write it (UTF-8 to a database, a JSON answer, a log).
_UNWRITABLE = re.compile("\x00|[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Location:
    """A point the customer shared (a location pin), WGS84 degrees."""

    lat: float
    lng: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a customer.

    ``contact`` is the channel's own id for the customer (Telegram chat id, WhatsApp ``WaId``, a
    web-chat session id). ``provider_id`` is the channel's message id (Telegram ``update_id``,
    Twilio ``MessageSid``) used to process a re-delivered message only once.
    """

    channel: str
    contact: str
    text: str | None = None
    location: Location | None = None
    button: str | None = None  # payload of a tapped button
    phone: str | None = None  # a shared contact card, or the WhatsApp number
    name: str | None = None  # the customer's profile name, when the channel gives one
    provider_id: str | None = None
    language: str | None = None  # the channel's hint, e.g. Telegram's language_code

    @property
    def key(self) -> str:
        """The conversation this message belongs to."""
        return f"{self.channel}:{self.contact}"


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the customer: ``payload`` comes back in :attr:`Inbound.button`."""

    payload: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot. Channels without buttons render them as numbered options."""

    text: str
    buttons: tuple[Button, ...] = ()
    ask_location: bool = False  # offer the channel's "share my location" affordance


def clean_text(text: str) -> str:
    """``text`` without NUL characters, and with each lone surrogate (half of a UTF-16 pair,
    which a JSON ``\\ud800`` escape can carry) replaced by U+FFFD: what is left can be stored,
    sent and logged anywhere."""
    if _UNWRITABLE.search(text) is None:
        return text
    return _UNWRITABLE.sub(lambda found: "" if found.group() == "\x00" else "\ufffd", text)


def _cleaned(value: Inbound | Location) -> dict[str, object]:
    changes: dict[str, object] = {}
    for spec in fields(value):
        current = getattr(value, spec.name)
        if isinstance(current, str) and (fixed := clean_text(current)) != current:
            changes[spec.name] = fixed
    return changes


def clean_inbound(inbound: Inbound) -> Inbound:
    """``inbound`` with :func:`clean_text` applied to every text it carries (the same object
    when there was nothing to clean). Channels' boundaries call it before the inbox keeps a
    message, so a stray NUL costs the customer a character, not their answer."""
    changes = _cleaned(inbound)
    if inbound.location is not None and (where := _cleaned(inbound.location)):
        changes["location"] = replace(inbound.location, **where)  # type: ignore[arg-type]
    return replace(inbound, **changes) if changes else inbound  # type: ignore[arg-type]
