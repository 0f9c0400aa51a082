"""The web chat: replies pushed to the visitor's open page (Server-Sent Events).

Contacts are anonymous session ids (the signed cookie of :mod:`bot.web.webchat`). Each session
keeps its unread replies, so a reply sent while the page reconnects is delivered when it comes
back. Sessions live in this process's memory; with the store's news (:meth:`use_news`: LISTEN/
NOTIFY on PostgreSQL) a reply another process produced reaches the page open on this one, and
the process that produced it forgets it once some page has had it (a page reconnecting in that
instant to the producing process may see it twice). Tabs of one visitor open on several
processes all get each reply.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import Channel
from bot.errors import StorageError
from bot.messages import Button, Reply
from bot.storage.news import NewsStore

__all__ = ["WebchatChannel", "reply_from_json", "reply_to_json"]

log = logging.getLogger(__name__)
TOPIC = "webchat"


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A reply as the page receives it (the page renders every string as text, never HTML)."""
    return {
        "text": reply.text,
        "buttons": [{"payload": b.payload, "label": b.label} for b in reply.buttons],
        "ask_location": reply.ask_location,
    }


def reply_from_json(data: dict[str, Any]) -> Reply:
    """The reply :func:`reply_to_json` wrote."""
    buttons = tuple(Button(b["payload"], b["label"]) for b in data.get("buttons", ()))
    return Reply(str(data["text"]), buttons, bool(data.get("ask_location")))


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
        self._news: NewsStore | None = None
        self._origin = uuid.uuid4().hex  # this process, in the news
        self._unread_news: dict[str, tuple[str, list[Reply]]] = {}  # news id: contact, replies
        self._tasks: set[asyncio.Task[None]] = set()

    async def use_news(self, news: NewsStore) -> None:
        """Hear the replies other processes send to sessions open here, and tell them."""
        self._news = news
        await news.subscribe(TOPIC, self._heard)

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
        live = bool(session.queues)
        for reply in replies:
            if live:
                for queue in session.queues:
                    queue.put_nowait(reply)
            else:
                session.unread.append(reply)
        if self._news is not None:
            await self._tell_others(contact, list(replies), kept=not live)

    async def _tell_others(self, contact: str, replies: list[Reply], *, kept: bool) -> None:
        """Offer the replies to the pages open on other processes (a visitor may have tabs on
        several); ``kept``: they wait here as unread until word comes that a page had them."""
        assert self._news is not None
        for reply in replies:  # one by one: news is short (a long reply stays here only)
            news_id = uuid.uuid4().hex
            if kept:
                self._unread_news[news_id] = (contact, [reply])
            message = {"id": news_id, "origin": self._origin, "contact": contact}
            try:
                await self._news.publish(TOPIC, message | {"reply": reply_to_json(reply)})
            except (ValueError, StorageError) as exc:
                self._unread_news.pop(news_id, None)
                log.info("a web-chat reply stays with this process (%s)", type(exc).__name__)
        while len(self._unread_news) > 10_000:  # never told: bound what is remembered
            self._unread_news.pop(next(iter(self._unread_news)))

    def _heard(self, message: dict[str, Any]) -> None:
        """News from the other processes: a reply for a page open here, or word that a page
        elsewhere had one of ours."""
        if message.get("origin") == self._origin:
            return
        if "delivered" in message:
            contact, replies = self._unread_news.pop(str(message["delivered"]), ("", []))
            session = self._sessions.get(contact)
            for reply in replies:
                if session is not None and reply in session.unread:
                    session.unread.remove(reply)
            return
        session = self._sessions.get(str(message.get("contact")))
        if session is None or not session.queues:
            return
        reply = reply_from_json(message["reply"])
        for queue in session.queues:
            queue.put_nowait(reply)
        done = {"delivered": message["id"], "origin": self._origin}
        task = asyncio.get_running_loop().create_task(self._publish(done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, message: dict[str, Any]) -> None:
        assert self._news is not None
        try:
            await self._news.publish(TOPIC, message)
        except StorageError:
            log.warning("could not tell the other processes a web-chat reply was read")

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
