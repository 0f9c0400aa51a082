"""Test helpers shared by the engine and flow tests: a channel that records, and a chat driver
that reads like a transcript (``await chat.says("oi")``, ``chat.last_reply.text``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.channels.base import Channel
from bot.conversation import Conversation
from bot.engine import Engine
from bot.messages import Button, Inbound, Location, Reply
from bot.storage.base import Store

_ids = itertools.count(1)


class RecordingChannel(Channel):
    """A channel that keeps what the engine sent, per contact, in order."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.sent: list[tuple[str, list[Reply]]] = []

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        self.sent.append((contact, list(replies)))

    def replies_to(self, contact: str) -> list[Reply]:
        return [reply for to, batch in self.sent if to == contact for reply in batch]


class Chat:
    """One customer talking to the engine over a :class:`RecordingChannel`."""

    def __init__(
        self,
        engine: Engine,
        channel: RecordingChannel,
        contact: str = "5548999990001",
        *,
        name: str | None = None,
        phone: str | None = None,
        language: str | None = "pt-BR",
        store: Store | None = None,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.contact = contact
        self.name = name
        self.phone = phone
        self.language = language
        self.store = store
        self.turn_replies: list[Reply] = []

    @property
    def key(self) -> str:
        return f"{self.channel.name}:{self.contact}"

    def inbound(self, **fields: object) -> Inbound:
        base: dict[str, object] = {
            "channel": self.channel.name,
            "contact": self.contact,
            "name": self.name,
            "phone": self.phone,
            "language": self.language,
            "provider_id": f"msg-{next(_ids)}",
        }
        base.update(fields)
        return Inbound(**base)  # type: ignore[arg-type]

    async def send(self, message: Inbound) -> list[Reply]:
        before = len(self.channel.replies_to(self.contact))
        await self.engine.handle(message)
        self.turn_replies = self.channel.replies_to(self.contact)[before:]
        return self.turn_replies

    async def says(self, text: str, **fields: object) -> list[Reply]:
        return await self.send(self.inbound(text=text, **fields))

    async def taps(self, payload: str) -> list[Reply]:
        return await self.send(self.inbound(button=payload))

    async def pins(self, lat: float, lng: float) -> list[Reply]:
        return await self.send(self.inbound(location=Location(lat, lng)))

    async def saved(self) -> Conversation:
        """The conversation as the store holds it now."""
        assert self.store is not None, "this Chat was built without its store"
        conversation = await self.store.load(self.key)
        assert conversation is not None, "nothing saved for this conversation"
        return conversation

    @property
    def last_reply(self) -> Reply:
        assert self.turn_replies, "the bot said nothing this turn"
        return self.turn_replies[-1]

    @property
    def text(self) -> str:
        """Everything the bot said this turn, one reply per line."""
        return "\n".join(r.text for r in self.turn_replies)

    @property
    def options(self) -> list[Button]:
        """The options of the last reply that offered any this turn."""
        return next((list(r.buttons) for r in reversed(self.turn_replies) if r.buttons), [])

    def option(self, payload: str) -> int:
        """The number a customer without buttons would type for ``payload``."""
        payloads = [b.payload for b in self.options]
        assert payload in payloads, f"{payload!r} not offered; options: {payloads}"
        return payloads.index(payload) + 1
