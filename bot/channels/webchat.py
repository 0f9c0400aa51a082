"""The web chat: replies pushed to the visitor's open page (Server-Sent Events).

Contacts are anonymous session ids (the signed cookie of :mod:`bot.web.webchat`). Each session
keeps its unread replies, so a reply sent while the page reconnects is delivered when it comes
back. Sessions live in this process's memory: run one ``ozbot serve`` process per web-chat
domain, or pin visitors to a process (sticky sessions) when running several.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import Channel
from bot.messages import Reply

__all__ = ["WebchatChannel", "reply_to_json"]


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A reply as the page receives it (the page renders every string as text, never HTML)."""
    return {
        "text": reply.text,
        "buttons": [{"payload": b.payload, "label": b.label} for b in reply.buttons],
        "ask_location": reply.ask_location,
    }


@dataclass
class _Session:
    queues: set[asyncio.Queue[Reply]] = field(default_factory=set)
    unread: deque[Reply] = field(default_factory=deque)
    touched: float = field(default_factory=time.monotonic)


class WebchatChannel(Channel):
    """Delivers replies to the pages subscribed to a session (:meth:`subscribe`).

    Keeps up to ``backlog`` unread replies per session while no page listens, and forgets a
    session ``idle_seconds`` after its last activity. ``send`` never raises: a closed tab is not
    an error, the replies wait for it."""

    name = "webchat"

    def __init__(self, *, backlog: int = 50, idle_seconds: float = 3600.0) -> None:
        self._sessions: dict[str, _Session] = {}
        self._backlog = backlog
        self._idle = idle_seconds

    def _session(self, contact: str) -> _Session:
        self._expire()
        session = self._sessions.get(contact)
        if session is None:
            session = self._sessions[contact] = _Session(unread=deque(maxlen=self._backlog))
        session.touched = time.monotonic()
        return session

    def _expire(self) -> None:
        cutoff = time.monotonic() - self._idle
        idle = [c for c, s in self._sessions.items() if not s.queues and s.touched < cutoff]
        for contact in idle:
            del self._sessions[contact]

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        session = self._session(contact)
        for reply in replies:
            if session.queues:
                for queue in session.queues:
                    queue.put_nowait(reply)
            else:
                session.unread.append(reply)

    @asynccontextmanager
    async def subscribe(self, contact: str) -> AsyncIterator[asyncio.Queue[Reply]]:
        """A queue receiving the session's replies while the context is open, starting with
        the unread ones. Several pages (tabs) may subscribe to one session; each gets all."""
        session = self._session(contact)
        queue: asyncio.Queue[Reply] = asyncio.Queue()
        while session.unread:
            queue.put_nowait(session.unread.popleft())
        session.queues.add(queue)
        try:
            yield queue
        finally:
            session.queues.discard(queue)
            session.touched = time.monotonic()
            # replies that arrived after the page stopped reading wait for the next page
            if not session.queues:
                while not queue.empty():
                    session.unread.append(queue.get_nowait())

    @property
    def sessions(self) -> int:
        """How many sessions are held in memory (a metric)."""
        return len(self._sessions)
