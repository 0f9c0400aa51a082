"""SqliteStore: the store port on one SQLite file, and the operations SQLite runs its own way.

The shared statements run through :class:`bot.storage.shared.SqlStore`; the connection and the
two places an operation runs are :mod:`bot.storage.sqlite.connection`'s, the locks
:mod:`bot.storage.sqlite.leases`'. What is here is what SQLite says differently from PostgreSQL:
a turn's commit as one transaction with ``executemany`` (fenced by the conversation's lease when
this store holds its lock: see :mod:`bot.storage.locks`), the timer plan statement by statement,
claims without ``SKIP LOCKED`` (SQLite has one writer at a time), the cache's suffix match, and
the inbox's orphans as a JSON array.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.conversation import Conversation, TranscriptEntry
from bot.messages import Inbound
from bot.storage.fanout import Fanout, encode_news
from bot.storage.inbox import Accepted, InboxEntry, inbound_from_json, inbound_to_json
from bot.storage.locks import Held, LeaseLost
from bot.storage.migrations import MIGRATIONS, Migration
from bot.storage.news import Subscriber
from bot.storage.outbox import Outgoing
from bot.storage.queries import (
    CONVERSATION_COLUMNS,
    CONVERSATION_UPSERT,
    OUTBOX_COLUMNS,
    SQLITE,
    TIMER_COLUMNS,
    Row,
    conversation,
    conversation_values,
    iso,
    outgoing_values,
    timer,
)
from bot.storage.shared import Params, SqlStore, Transaction
from bot.storage.sqlite.connection import Connection, Db
from bot.storage.sqlite.leases import DROP_HELD, FENCE, TAKE_LEASE, SqliteLeases
from bot.storage.timers import Timer

__all__ = ["SqliteStore"]

T = TypeVar("T")

_SAVE_CONVERSATION = (
    f"INSERT INTO conversations ({CONVERSATION_COLUMNS})"  # noqa: S608 - constants only
    f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {CONVERSATION_UPSERT}"
)
_RECORD_MESSAGE = (
    "INSERT INTO processed_messages (provider_id, key, at) VALUES (?, ?, ?)"
    " ON CONFLICT (provider_id) DO NOTHING"
)
_APPEND_LINE = "INSERT INTO transcript (key, role, text, at) VALUES (?, ?, ?, ?)"
_KEEP_OUTGOING = f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608

_CLAIM_TIMERS = (
    "UPDATE timers SET claimed_by = ?, claimed_until = ? WHERE id IN ("  # noqa: S608
    " SELECT id FROM timers WHERE due_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)"
    f" ORDER BY due_at, id LIMIT ?) RETURNING {TIMER_COLUMNS}"
)

_FORGET_CACHE = (
    "DELETE FROM cache WHERE namespace = ? AND length(key) >= length(?)"
    " AND substr(key, -length(?)) = ?"
)

# Skips a provider id a turn already committed (the row is gone from the inbox by then); the
# SELECT's WHERE also keeps SQLite from reading ON CONFLICT as part of the SELECT.
_INBOX_PUT = """
INSERT INTO inbox (key, provider_id, message, received_at, claimed_by, claimed_until)
SELECT ?, ?, ?, ?, ?, ?
WHERE NOT EXISTS (SELECT 1 FROM processed_messages WHERE provider_id = ?)
ON CONFLICT (provider_id) DO NOTHING
RETURNING id, (SELECT min(e.id) FROM inbox AS e WHERE e.key = ?)
"""

# Entries whose lease ran out (or was given back), oldest first, unless an earlier entry of the
# same conversation is still under a live lease: it must run first.
_INBOX_CLAIM = """
UPDATE inbox SET claimed_by = :owner, claimed_until = :until WHERE id IN (
    SELECT i.id FROM inbox AS i
    WHERE (i.claimed_until IS NULL OR i.claimed_until < :now
        OR i.claimed_by IN (SELECT value FROM json_each(:orphans)))
    AND NOT EXISTS (
        SELECT 1 FROM inbox AS e WHERE e.key = i.key AND e.id < i.id AND e.claimed_until >= :now
        AND e.claimed_by NOT IN (SELECT value FROM json_each(:orphans))
    )
    ORDER BY i.id LIMIT :limit
)
RETURNING id, message
"""

# Conversations with a row whose lease ran out or whose holder is dead, oldest row first.
_OUTBOX_OVERDUE = """
SELECT key FROM outbox
WHERE claimed_until < :now OR claimed_by IN (SELECT value FROM json_each(:orphans))
GROUP BY key ORDER BY min(id) LIMIT :limit
"""


class _Duplicate(Exception):
    """commit_turn's message id was already recorded: roll back, write nothing."""


class _Lost(Exception):
    """commit_turn's lease is no longer ours: roll back, write nothing."""


class SqliteStore(SqlStore):
    """The Store port on a SQLite file at ``path`` (parent directories are created).

    ``clock`` gives epoch seconds for cache expiry (tests pass one they control). ``lease`` is
    how long another process must wait before taking over a lock whose holder died.
    ``fold_within``: how long the clearing of a finished inbox entry (and its lock) may wait
    for another write to share its transaction (:mod:`bot.storage.sqlite.connection`). Every
    method may raise :class:`StorageError`; ``lock`` raises :class:`LockTimeout`.
    """

    queries = SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        lease: float = 30.0,
        busy_timeout: float = 5.0,
        checkpoint_every: float = 0.5,
        fold_within: float = 0.01,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._migrations = tuple(migrations)
        self._connection = Connection(
            self.path,
            busy_timeout=busy_timeout,
            checkpoint_every=checkpoint_every,
            fold_within=fold_within,
        )
        self._locks = SqliteLeases(self._connection, lease=lease)
        self._fanout = Fanout()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- news: this process's subscribers only (SQLite has no channel between processes) ---

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        self._fanout.deliver(encode_news(topic, message))

    async def subscribe(self, topic: str, subscriber: Subscriber) -> Callable[[], None]:
        return self._fanout.add(topic, subscriber)

    # -- life cycle and locks ---------------------------------------------------------------

    async def open(self) -> None:
        await self._connection.open(self._migrations)
        self._locks.start()

    async def close(self) -> None:
        await self._locks.stop()
        await self._connection.close()

    def lock(self, key: str, timeout: float = 30.0) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key, timeout)

    async def release(self, held: Held) -> None:
        await self._locks.release(held)

    async def still_holds(self, key: str) -> bool:
        return await self._locks.still_holds(key)

    # -- the shared statements' ways to run (see bot.storage.shared) ------------------------

    async def _fetch(
        self, what: str, statement: str, params: Params, *, bulk: bool = False
    ) -> list[Row]:
        return await self._connection.call(
            what, lambda db: db.execute(statement, params).fetchall(), inline=not bulk
        )

    async def _count(self, what: str, statement: str, params: Params) -> int:
        return await self._connection.call(what, lambda db: db.execute(statement, params).rowcount)

    async def _transact(
        self, what: str, body: Callable[[], Transaction[T]], *, bulk: bool = False
    ) -> T:
        def run(db: Db) -> T:
            steps = body()
            try:
                statement, params = next(steps)
                while True:
                    statement, params = steps.send(db.execute(statement, params).fetchall())
            except StopIteration as done:
                result: T = done.value
                return result

        return await self._connection.write(what, run, inline=not bulk)

    # -- what SQLite runs its own way -------------------------------------------------------

    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
        outgoing: Outgoing | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> bool:
        c = conversation
        values = conversation_values(c, iso)
        lines = [(c.key, entry.role, entry.text, iso(entry.at)) for entry in transcript]
        message = None if provider_id is None else (provider_id, c.key, iso(self._now()))
        kept = None if outgoing is None else outgoing_values(outgoing, self._clock(), iso)
        plan = _plan_steps(timers or {})
        leases = self._locks
        turn = leases.fence(c.key)
        wall, since = time.time(), time.monotonic()  # leases are compared across processes
        fence = None if turn is None else (wall + leases.lease, c.key, leases.owner, turn)

        def commit(db: Db) -> int | None:
            # first: inside this write transaction nobody takes the lease before it commits
            moved = None
            if fence is not None:
                found = db.execute(FENCE, fence).fetchall()
                if not found:
                    raise _Lost
                moved = int(found[0][0])
            if message is not None and db.execute(_RECORD_MESSAGE, message).rowcount == 0:
                raise _Duplicate
            db.execute(_SAVE_CONVERSATION, values)
            if lines:
                db.executemany(_APPEND_LINE, lines)
            if kept is not None:
                db.execute(_KEEP_OUTGOING, kept)
            _schedule(db, c.key, plan)
            return moved

        try:
            moved = await self._connection.write("committing a turn", commit)
        except _Duplicate:
            return False
        except _Lost:
            raise LeaseLost(
                "the conversation's lock was taken over while this turn ran: nothing committed"
            ) from None
        if moved is not None:
            leases.fenced(c.key, moved, since)
        return True

    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        wanted = [s for s in dict.fromkeys(suffixes) if s]
        if not wanted:
            return 0

        def delete(db: Db) -> int:
            params = [(namespace, suffix, suffix, suffix) for suffix in wanted]
            return sum(db.execute(_FORGET_CACHE, each).rowcount for each in params)

        return await self._connection.write("forgetting cache entries", delete, inline=False)

    async def set_timers(self, key: str, plan: Mapping[str, datetime | None]) -> None:
        if not plan:
            return
        steps = _plan_steps(plan)

        def schedule() -> Transaction[None]:
            for kind, due in steps:
                if due is None:
                    yield SQLITE.cancel_timer, (key, kind)
                else:
                    yield SQLITE.schedule_timer, (key, kind, due)

        await self._transact_fenced("scheduling timers", key, schedule)

    async def claim_timers(self, now: datetime, *, limit: int, lease: float) -> list[Timer]:
        claim = uuid.uuid4().hex
        until = iso(now + timedelta(seconds=lease))
        at = iso(now)
        # One statement, atomic on its own: a runner in another process claims other rows.
        claimed = await self._fetch(
            "claiming timers", _CLAIM_TIMERS, (claim, until, at, at, limit), bulk=True
        )
        return sorted(map(timer, claimed), key=lambda t: (t.due_at, t.id))

    async def inbox_accept(
        self, inbound: Inbound, owner: str, lease: float, *, lock: bool = False
    ) -> Accepted | None:
        now = self._clock()
        key = inbound.key
        params = (
            key,
            inbound.provider_id,
            inbound_to_json(inbound),
            iso(self._now()),
            owner,
            now + lease,
            inbound.provider_id,
            key,
        )
        if not (lock and await self._locks.reserve(key)):
            # One statement (atomic on its own, no BEGIN/COMMIT): on the loop at once, like a
            # cache write; it is the only database work a webhook waits for.
            stored = await self._fetch("storing an accepted message", _INBOX_PUT, params)
            if not stored:
                return None
            entry, first = int(stored[0][0]), stored[0][1]
            return Accepted(entry, behind=first is not None and int(first) < entry)
        wall, since = time.time(), time.monotonic()  # leases are compared across processes
        take = (key, self._locks.owner, wall + self._locks.lease, wall, "")

        def accept(db: Db) -> tuple[int, bool, int | None, Row | None] | None:
            stored = db.execute(_INBOX_PUT, params).fetchone()
            if stored is None:
                return None
            entry, first = int(stored[0]), stored[1]
            if first is not None and int(first) < entry:
                return entry, True, None, None
            took = db.execute(TAKE_LEASE, take).fetchall()
            if not took:
                return entry, False, None, None
            # inside the write transaction that took the lease: nobody changes it meanwhile
            return entry, False, int(took[0][0]), db.execute(SQLITE.load, (key,)).fetchone()

        try:
            done = await self._connection.write("storing an accepted message", accept)
        except BaseException as exc:
            self._locks.not_taken(key, cancelled=isinstance(exc, asyncio.CancelledError))
            raise
        if done is None or done[2] is None:
            self._locks.not_taken(key)
            return None if done is None else Accepted(done[0], behind=done[1])
        found = done[3]
        held = Held(key, conversation(found) if found is not None else None, stale=False)
        return Accepted(done[0], behind=False, held=self._locks.taken(held, done[2], since))

    async def inbox_done(
        self, entry_id: int, owner: str, sent: str | None = None, *, held: Held | None = None
    ) -> None:
        # Nobody waits on it to answer a customer (the replies went out): a later write,
        # folded into the next write transaction (bot/storage/sqlite/connection.py). The
        # lease is dropped only at the count it had, so a drop that ran late can never drop a
        # lease taken again since.
        turn = self._locks.fence(held.key) if held is not None else None
        drop = (
            (held.key, self._locks.owner, turn)
            if held is not None and turn is not None and self._locks.holds(held)
            else None
        )

        def finish(db: Db) -> None:
            if sent is not None:
                db.execute(SQLITE.outbox_sent, (sent,))
            db.execute(SQLITE.inbox_done, (entry_id, owner))
            if drop is not None:
                db.execute(DROP_HELD, drop)

        try:
            done = self._connection.later("finishing an inbox entry", finish)
        except BaseException:
            if held is not None:
                self._locks.given_back(held)
            raise
        if held is None:
            await done
            return
        try:
            # shielded: cancelled, the key is let go here only once the drop has run
            await asyncio.shield(done)
        except asyncio.CancelledError:
            done.add_done_callback(lambda _: self._locks.given_back(held))
            raise
        except BaseException:
            self._locks.given_back(held)
            raise
        self._locks.given_back(held)

    async def inbox_ready(
        self, key: str, entry_id: int, provider_id: str | None
    ) -> tuple[int | None, Held | None]:
        if not await self._locks.reserve(key):  # held here: its turn takes it, waiting
            return await self.inbox_first(key), None
        wall, since = time.time(), time.monotonic()  # leases are compared across processes
        take = (key, self._locks.owner, wall + self._locks.lease, wall, "")

        def ready(db: Db) -> tuple[int | None, int | None, bool, Row | None]:
            found = db.execute(SQLITE.inbox_first, (key,)).fetchone()
            first = None if found is None or found[0] is None else int(found[0])
            if first is not None and first < entry_id:
                return first, None, False, None
            took = db.execute(TAKE_LEASE, take).fetchall()
            if not took:
                return first, None, False, None
            # inside the write transaction that took the lease: nobody changes it meanwhile
            row = db.execute(SQLITE.seen_and_load, (provider_id, key)).fetchone()
            return first, int(took[0][0]), bool(row[0]), row

        try:
            first, turn, seen, row = await self._connection.write("reading an inbox", ready)
        except BaseException as exc:
            self._locks.not_taken(key, cancelled=isinstance(exc, asyncio.CancelledError))
            raise
        if turn is None:
            self._locks.not_taken(key)
            return first, None
        loaded = conversation(row[1:]) if row is not None and row[1] is not None else None
        held = Held(key, None if seen else loaded, stale=seen)
        return first, self._locks.taken(held, turn, since)

    async def inbox_pass(
        self, entry_id: int, owner: str, sent: str | None, held: Held, after: int
    ) -> bool:
        if not self._locks.holds(held):  # given back already (its turn lost it)
            await self.inbox_done(entry_id, owner, sent)
            return False
        earlier: list[int | None] = []

        def finish(db: Db) -> None:
            if sent is not None:
                db.execute(SQLITE.outbox_sent, (sent,))
            db.execute(SQLITE.inbox_done, (entry_id, owner))
            found = db.execute(SQLITE.inbox_before, (held.key, after)).fetchone()
            earlier.append(None if found is None else found[0])

        # a later write, as inbox_done's: the lock stays held whatever happens here
        await self._connection.later("finishing an inbox entry", finish)
        if earlier and earlier[0] is None:
            return True
        await self.release(held)
        return False

    async def inbox_claim(
        self, owner: str, lease: float, limit: int, *, orphans: Sequence[str] = ()
    ) -> list[InboxEntry]:
        now = self._clock()
        params = {
            "owner": owner,
            "until": now + lease,
            "now": now,
            "orphans": json.dumps(list(orphans)),
            "limit": limit,
        }
        claimed = await self._fetch("claiming inbox entries", _INBOX_CLAIM, params, bulk=True)
        return sorted(
            (InboxEntry(id=row[0], inbound=inbound_from_json(row[1])) for row in claimed),
            key=lambda entry: entry.id,
        )

    async def outbox_overdue(self, orphans: Sequence[str], limit: int) -> list[str]:
        params = {"now": self._clock(), "orphans": json.dumps(list(orphans)), "limit": limit}
        found = await self._fetch("finding unsent replies", _OUTBOX_OVERDUE, params, bulk=True)
        return [str(row[0]) for row in found]

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _plan_steps(plan: Mapping[str, datetime | None]) -> list[tuple[str, str | None]]:
    """A timers' plan as (kind, due as SQLite keeps it, None to cancel)."""
    return [(kind, None if due is None else iso(due)) for kind, due in plan.items()]


def _schedule(db: Db, key: str, steps: Sequence[tuple[str, str | None]]) -> None:
    for kind, due in steps:
        if due is None:
            db.execute(SQLITE.cancel_timer, (key, kind))
        else:
            db.execute(SQLITE.schedule_timer, (key, kind, due))
