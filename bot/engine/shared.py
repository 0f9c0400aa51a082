"""What the parts of the engine share: the store, the flows, the channels, the catalogs, the
queue's news, the clock, and how a conversation is locked and answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from bot.channels.base import Channel
from bot.conversation import TranscriptEntry
from bot.engine.events import EventKind, HandoffEvent, HandoffEvents
from bot.engine.flowset import FlowSet
from bot.errors import ChannelError, StorageError
from bot.i18n import Catalogs
from bot.messages import Button, Inbound, Reply
from bot.storage.base import Store

__all__ = ["Shared", "bot_lines", "describe", "render"]

log = logging.getLogger(__name__)


def describe(message: Inbound, offered: Sequence[Button]) -> str:
    """The customer's transcript line for a message (a pin is ``"📍 lat, lng"``, which an
    erasure reads back: :mod:`bot.engine.erasure`)."""
    if message.button is not None:
        label = next((b.label for b in offered if b.payload == message.button), None)
        return message.text or label or f"[{message.button}]"
    if message.location is not None:
        return f"📍 {message.location.lat:.6f}, {message.location.lng:.6f}"
    if message.phone is not None and not message.text:
        return "📇 [contact card]"
    return message.text or ""


def render(reply: Reply) -> str:
    """The bot's transcript line for a reply, options numbered as a button-less channel shows
    them."""
    if not reply.buttons:
        return reply.text
    options = "\n".join(f"{i}. {b.label}" for i, b in enumerate(reply.buttons, 1))
    return f"{reply.text}\n{options}"


def bot_lines(replies: Sequence[Reply], at: datetime | None = None) -> list[TranscriptEntry]:
    """The transcript lines of the bot's replies (``at`` None: now)."""
    if at is None:
        return [TranscriptEntry("bot", render(r)) for r in replies]
    return [TranscriptEntry("bot", render(r), at) for r in replies]


@dataclass(frozen=True)
class Shared:
    """``channels`` maps ``Inbound.channel`` (and ``Conversation.channel``) to its adapter;
    ``lock_timeout`` is how long a turn waits for its conversation's lock; ``clock`` gives the
    time timers and queue entries are stamped with."""

    store: Store
    flows: FlowSet
    catalogs: Catalogs
    channels: Mapping[str, Channel]
    events: HandoffEvents
    clock: Callable[[], datetime]
    lock_timeout: float = 30.0

    def locked(self, key: str) -> AbstractAsyncContextManager[None]:
        """The conversation's lock, held across processes (see :meth:`Store.lock`)."""
        return self.store.lock(key, timeout=self.lock_timeout)

    def publish(self, kind: EventKind, key: str, at: datetime, text: str | None = None) -> None:
        self.events.publish(HandoffEvent(kind=kind, key=key, at=at, text=text))

    async def send(
        self, channel: Channel, contact: str, replies: Sequence[Reply], ref: str
    ) -> bool:
        """Deliver ``replies``; a messenger's refusal is logged (the turn is already saved) and
        returns False."""
        if not replies:
            return True
        try:
            await channel.send(contact, replies)
        except ChannelError:
            log.exception("could not deliver replies to conversation %s", ref)
            return False
        return True

    async def may_send_freeform(
        self, channel: Channel, contact: str, now: datetime, ref: str
    ) -> bool:
        """Whether a message the customer did not just prompt may go as free text now; False
        when the channel cannot tell (its window is kept in the store and that failed)."""
        try:
            return await channel.can_send_freeform(contact, now)
        except StorageError:
            log.warning("could not read the messenger window of %s; not sending", ref)
            return False
