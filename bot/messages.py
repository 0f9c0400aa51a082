"""Channel-neutral message values: what a customer sent, and what the bot answers.

Channels turn their wire formats into :class:`Inbound` and render :class:`Reply`; the engine and
the flows only ever see these.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Button", "Inbound", "Location", "Reply"]


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
