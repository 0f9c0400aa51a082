"""The channel port: how the engine talks back to a customer on one messenger.

Adapters are named ``<Kind>Channel`` (``TelegramChannel``, ``WhatsappChannel``, ``WebchatChannel``,
``ConsoleChannel``). Parsing and verifying inbound webhooks is the web layer's job, with helpers
from each adapter's module; the engine only ever calls :meth:`Channel.send`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from bot.messages import Reply

__all__ = ["Channel"]


class Channel(ABC):
    """Sends replies to one messenger."""

    #: the ``Inbound.channel`` value this adapter serves, e.g. ``"telegram"``
    name: str
    #: whether the messenger shows tappable buttons; the engine numbers options otherwise
    supports_buttons: bool = False

    @abstractmethod
    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        """Deliver ``replies`` to ``contact`` in order. Splits texts longer than the messenger's
        limit. Raises :class:`bot.errors.ChannelError` when the messenger refuses or is down."""
