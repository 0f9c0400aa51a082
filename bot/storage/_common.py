"""Pieces both adapters share: time and JSON encoding, key masking, and the in-process FIFO locks.

Private to :mod:`bot.storage`; nothing here touches a database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from bot.errors import LockTimeout, StorageError
from bot.logsafe import customer_ref

__all__ = ["DriverErrors", "KeyedLocks", "compact_json", "dump_context", "masked_key", "to_utc"]

#: JSON as the stores write it: compact, accents kept. One encoder for every call
#: (``json.dumps`` with arguments builds a new one each time, a turn writes three).
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC. A naive datetime is taken to be UTC already (what
    :func:`bot.conversation.utcnow` would have produced)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def dump_context(context: dict[str, Any]) -> str:
    """``context`` as compact JSON, accents kept as they are; StorageError names the fix."""
    try:
        return compact_json(context)
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"conversation.context must be JSON-serialisable ({exc}): store dates as ISO strings "
            "and objects as dicts"
        ) from exc


def masked_key(key: str) -> str:
    """A conversation key fit for logs and error messages: the channel, and the keyed digest
    every log line names the conversation by (:func:`bot.logsafe.customer_ref`)."""
    channel, sep, _ = key.partition(":")
    return f"{channel}:{customer_ref(key)}" if sep else customer_ref(key)


class DriverErrors:
    """``with DriverErrors("SQLite", sqlite3.Error, "loading a conversation"):`` turns the
    driver's errors raised in the block into :class:`StorageError` naming the database and what
    failed (``raise ... from``, so the driver's error stays attached). Anything else passes.

    A class rather than a ``@contextmanager`` generator: its ``__exit__`` says (to mypy too)
    that it never swallows an exception, so a ``return`` inside the block ends the function.

    ``scrub`` (when given) replaces the driver's error by one fit to be shown, message and
    cause alike: PostgreSQL's quotes the statement's values (a customer's text, a phone number).
    """

    __slots__ = ("database", "errors", "scrub", "what")

    def __init__(
        self,
        database: str,
        errors: type[Exception],
        what: str,
        scrub: Callable[[Exception], Exception] | None = None,
    ) -> None:
        self.database = database
        self.errors = errors
        self.what = what
        self.scrub = scrub

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, self.errors):
            shown = exc if self.scrub is None else self.scrub(exc)
            raise StorageError(f"{self.database} {self.what} failed: {shown}") from shown


class KeyedLocks:
    """One FIFO :class:`asyncio.Lock` per key, dropped as soon as nobody holds or awaits it.

    asyncio.Lock serves waiters in arrival order and never lets a newcomer barge past them, which
    is the ordering the Store port promises within a process. A key is held from
    :meth:`acquire` (or a successful :meth:`try_acquire`) to :meth:`release`, which any task may
    call: a lock taken with an inbox entry is released by the task that finishes the entry.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    async def acquire(self, key: str, wait: float) -> None:
        """Hold ``key``; raises :class:`LockTimeout` after ``wait`` seconds of waiting.

        Nothing is awaited before the waiter joins the queue, so tasks queue in the order they
        called this."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            # asyncio.timeout (not wait_for): a cancelled Lock.acquire never leaves the lock
            # taken, so a timeout cannot leak it.
            async with asyncio.timeout(wait):
                await lock.acquire()
        except TimeoutError as exc:
            self._leave(key)
            raise LockTimeout(
                f"conversation {masked_key(key)} stayed busy for {wait:g}s in this process"
            ) from exc
        except BaseException:
            self._leave(key)
            raise

    async def try_acquire(self, key: str) -> bool:
        """Hold ``key`` if nobody holds or awaits it (never waits); whether it was taken."""
        if key in self._locks:
            return False
        lock = asyncio.Lock()
        self._locks[key] = (lock, 1)
        await lock.acquire()  # free and new: returns at once, without yielding
        return True

    def release(self, key: str) -> None:
        """Let the next waiter of ``key`` have it."""
        self._locks[key][0].release()
        self._leave(key)

    def _leave(self, key: str) -> None:
        lock, users = self._locks[key]
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)

    @asynccontextmanager
    async def hold(self, key: str, wait: float) -> AsyncIterator[None]:
        """:meth:`acquire` … :meth:`release` around the block."""
        await self.acquire(key, wait)
        try:
            yield
        finally:
            self.release(key)
