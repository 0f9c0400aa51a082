"""The channel port: how the engine talks back to a customer on one messenger.

Adapters are named ``<Kind>Channel`` (``TelegramChannel``, ``WhatsappChannel``, ``WebchatChannel``,
``ConsoleChannel``). Parsing and verifying inbound webhooks is the web layer's job, with helpers
from each adapter's module; the engine only ever calls :meth:`Channel.send`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.errors import ChannelError
from bot.messages import Reply

__all__ = ["Channel"]


class Channel(ABC):
    """Sends replies to one messenger."""

    #: the ``Inbound.channel`` value this adapter serves, e.g. ``"telegram"``
    name: str

    @abstractmethod
    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        """Deliver ``replies`` to ``contact`` in order. Splits texts longer than the messenger's
        limit. Raises :class:`bot.errors.ChannelError` when the messenger refuses or is down."""

    async def can_send_freeform(self, contact: str, now: datetime) -> bool:
        """Whether a message the customer did not just prompt (a timer's nudge, a handoff
        given back) may be sent now as free text. True unless the messenger restricts it
        (WhatsApp: only within 24 hours of the customer's last message). May raise
        :class:`bot.errors.StorageError` when the answer is kept in the store."""
        return True

    async def send_template(
        self, contact: str, template: str, variables: Mapping[str, str]
    ) -> None:
        """Send a pre-approved template (``template`` is its id, e.g. a Twilio Content SID),
        for when :meth:`can_send_freeform` is False. Raises :class:`bot.errors.ChannelError`;
        by default the messenger has no templates."""
        raise ChannelError(f"the {self.name} channel sends no templates: leave it unconfigured")
