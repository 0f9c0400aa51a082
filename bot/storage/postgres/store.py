"""PostgresStore: the store port on PostgreSQL, and the operations PostgreSQL runs its own way.

The shared statements run through :class:`bot.storage.shared.SqlStore`; the pool and opening
are :mod:`bot.storage.postgres.connection`'s, the locks :mod:`bot.storage.postgres.leases`'.
What is here is what PostgreSQL says differently from SQLite: a turn's commit (fenced by the
conversation's lease when this store holds its lock: see :mod:`bot.storage.locks`) and a timer
plan each as one statement of data-modifying CTEs (one round trip), ``SKIP LOCKED`` claims, arrays
(``unnest``, ``ANY``) where SQLite loops or reads JSON, and ``jsonb``.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import StorageError
from bot.messages import Inbound
from bot.storage._common import to_utc
from bot.storage.inbox import Accepted, InboxEntry, inbound_from_json, inbound_to_json
from bot.storage.locks import Held, LeaseLost
from bot.storage.migrations import MIGRATIONS, Migration
from bot.storage.news import Subscriber
from bot.storage.outbox import Outgoing
from bot.storage.postgres.connection import Connections, describe_dsn, lock_id, translate
from bot.storage.postgres.leases import DROP, FENCE, SERVER_NOW, PostgresLeases
from bot.storage.postgres.news import PostgresNews
from bot.storage.queries import (
    CONVERSATION_COLUMNS,
    CONVERSATION_UPSERT,
    OUTBOX_COLUMNS,
    POSTGRES,
    TIMER_COLUMNS,
    Row,
    conversation,
    conversation_values,
    outgoing_values,
    timer,
)
from bot.storage.shared import Params, SqlStore, Transaction
from bot.storage.timers import Timer

__all__ = ["PostgresStore"]

T = TypeVar("T")

_CONVERSATION_PARAMS = CONVERSATION_COLUMNS.split(", ")

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# commit_turn as one statement (one round trip, and atomic on its own): record the message id,
# save the conversation, append its lines and keep its replies in the outbox, the last three
# only if the id was new (the outbox row only when there is one: its token is not NULL).
# Data-modifying CTEs all run to completion whether or not the final SELECT reads them; they see
# one snapshot, hence the guard on ``message``'s RETURNING rather than on the table. The lines
# are inserted in their order (ORDER BY the array position), so their ids keep the transcript's
# order.
_SAVE_TURN = """
conversation AS (
    INSERT INTO conversations ({columns})
    SELECT %(key)s::text, %(channel)s::text, %(contact)s::text, %(flow)s::text, %(state)s::text,
        %(language)s::text, %(context)s::jsonb, %(failures)s::integer, %(created_at)s::timestamptz,
        %(updated_at)s::timestamptz
    {guard}
    {upsert}
), lines AS (
    INSERT INTO transcript (key, role, text, at)
    SELECT %(key)s::text, line.role, line.text, line.at
    FROM unnest(%(roles)s::text[], %(texts)s::text[], %(ats)s::timestamptz[])
        WITH ORDINALITY AS line (role, text, at, position)
    {guard}
    ORDER BY line.position
), outgoing AS (
    INSERT INTO outbox ({outbox})
    SELECT %(o_token)s::text, %(o_key)s::text, %(o_channel)s::text, %(o_contact)s::text,
        %(o_replies)s::jsonb, %(o_created_at)s::timestamptz, %(o_claimed_by)s::text,
        %(o_claimed_until)s::double precision
    WHERE %(o_token)s::text IS NOT NULL {and_guard}
), plan AS (
    SELECT * FROM unnest(%(t_kinds)s::text[], %(t_dues)s::timestamptz[]) AS plan (kind, due)
    {guard}
), cancelled AS (
    DELETE FROM timers USING plan
    WHERE timers.key = %(key)s AND timers.kind = plan.kind AND plan.due IS NULL
), scheduled AS (
    INSERT INTO timers (key, kind, due_at)
    SELECT %(key)s::text, kind, due FROM plan WHERE due IS NOT NULL
    ON CONFLICT (key, kind) DO UPDATE SET due_at = excluded.due_at,
        claimed_by = NULL, claimed_until = NULL
)
"""
_OUTGOING_PARAMS = [f"o_{name}" for name in OUTBOX_COLUMNS.split(", ")]


def _commit_turn(*, message: bool, fenced: bool) -> str:
    """commit_turn's statement: with the message id recorded first (``message``: the rest only
    if it was new), and guarded by the lease (``fenced``: nothing written, the message id
    included, unless :data:`FENCE` moved the lease on). Its one row: how many message ids it
    recorded (1 without one), and the lease's new count (NULL when not fenced, or refused)."""
    # (built from the constants above, once: nothing from outside reaches the SQL text)
    ctes, guards = [], []
    if fenced:
        ctes.append(FENCE)
        guards.append("EXISTS (SELECT FROM fence)")
    if message:
        ctes.append(
            "message AS (INSERT INTO processed_messages (provider_id, key, at)"
            " SELECT %(provider_id)s::text, %(key)s::text, %(now)s::timestamptz"
            + "".join(f" WHERE {guard}" for guard in guards)
            + " ON CONFLICT (provider_id) DO NOTHING RETURNING 1)"
        )
        guards = ["EXISTS (SELECT FROM message)"]
    guard = " AND ".join(guards)
    saved = _SAVE_TURN.format(
        guard=f"WHERE {guard}" if guard else "",
        and_guard=f"AND {guard}" if guard else "",
        columns=CONVERSATION_COLUMNS,
        upsert=CONVERSATION_UPSERT,
        outbox=OUTBOX_COLUMNS,
    )
    recorded = "(SELECT count(*) FROM message)" if message else "1"
    moved = "(SELECT turn FROM fence)" if fenced else "NULL::bigint"
    return "WITH " + ",".join([*ctes, saved]) + f"SELECT {recorded}, {moved}"


#: by (message id given, fenced by the lease)
_COMMIT_TURN = {
    (message, fenced): _commit_turn(message=message, fenced=fenced)
    for message in (True, False)
    for fenced in (True, False)
}

# One statement: the plan unnested; the kinds it cancels deleted, the others upserted. A plan
# names each kind once, so the rows it deletes and the rows it writes are never the same.
_SET_TIMERS = """
WITH plan AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(dues)s::timestamptz[]) AS plan (kind, due)
), cancelled AS (
    DELETE FROM timers USING plan
    WHERE timers.key = %(key)s AND timers.kind = plan.kind AND plan.due IS NULL
)
INSERT INTO timers (key, kind, due_at)
SELECT %(key)s::text, kind, due FROM plan WHERE due IS NOT NULL
ON CONFLICT (key, kind) DO UPDATE SET due_at = excluded.due_at,
    claimed_by = NULL, claimed_until = NULL
"""

# SKIP LOCKED: runners in other processes claiming at the same moment take other rows instead
# of waiting for these.
_CLAIM_TIMERS = (
    "UPDATE timers SET claimed_by = %s, claimed_until = %s FROM ("  # noqa: S608
    " SELECT id AS due_id FROM timers WHERE due_at <= %s"
    " AND (claimed_until IS NULL OR claimed_until < %s)"
    " ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED) AS due"
    f" WHERE timers.id = due.due_id RETURNING {TIMER_COLUMNS}"
)

_FORGET_CACHE = (
    "DELETE FROM cache USING unnest(%s::text[]) AS s(suffix)"
    " WHERE cache.namespace = %s AND right(cache.key, length(s.suffix)) = s.suffix"
)


def _take_lock(source: str) -> str:
    """The CTEs ``before`` and ``took`` both statements below share: the lock as it was, and the
    lock taken (or its lease renewed) for rows of ``source``, as SQL text."""
    return (
        "before AS ("  # noqa: S608 - constants only: ``source`` is a literal of this module
        + """
    SELECT turn FROM locks WHERE key = %(key)s::text
), took AS (
    INSERT INTO locks (key, owner, expires_at)
    SELECT %(key)s::text, %(lock_owner)s::text, """
        + SERVER_NOW
        + """ + %(lock_lease)s::double precision
    """
        + source
        + """
    ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
        turn = locks.turn + 1
    WHERE locks.expires_at < """
        + SERVER_NOW
        + """ OR locks.owner = excluded.owner
    RETURNING turn, xmax = 0 AS inserted
)"""
    )


# whether what the statement read is the conversation as the last holder left it (see above)
_FRESH = """CASE WHEN took.inserted THEN NOT EXISTS (SELECT FROM before)
        ELSE coalesce(took.turn = (SELECT turn FROM before) + 1, false) END"""


# An entry whose turn has run, with (when given: a NULL token or lock key matches nothing) the
# outbox row of the replies it sent and the lock taken with it, in one statement, committed
# without waiting for the WAL to reach the disk (the fsync is most of what a commit costs, a
# third of a turn's): committed all the same, and seen by everyone at once; only a crash of
# PostgreSQL itself in the next fraction of a second can undo it, and then the entry comes back
# and its turn, already committed, sends its replies again (README: "What a customer may see
# twice"). The entry's insert and the turn's commit keep waiting for the disk.
_INBOX_DONE = (
    "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true) AS done),"  # noqa: S608
    " sent AS (DELETE FROM outbox WHERE token = %(sent)s::text),"
    + DROP
    + " DELETE FROM inbox WHERE id = %(id)s AND claimed_by = %(owner)s"
    " AND EXISTS (SELECT done FROM quick)"
)
# inbox_done keeping the lock for the conversation's next entry here: what is left before that
# one (the snapshot still shows the entry deleted, hence NOT IN; one not deleted, claimed by
# another process since, counts as left).
_INBOX_HAND_ON = (
    "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true) AS done),"
    " sent AS (DELETE FROM outbox WHERE token = %(sent)s::text),"
    " gone AS (DELETE FROM inbox WHERE id = %(id)s AND claimed_by = %(owner)s"
    " AND EXISTS (SELECT done FROM quick) RETURNING id)"
    " SELECT min(id) FROM inbox WHERE key = %(key)s::text AND id < %(after)s"
    " AND id NOT IN (SELECT id FROM gone)"
)
# A provider id a turn already committed is skipped (its inbox row is gone by then).
_INBOX_ENTRY = """
INSERT INTO inbox (key, provider_id, message, received_at, claimed_by, claimed_until)
SELECT %(key)s::text, %(provider_id)s::text, %(message)s::jsonb, %(at)s::timestamptz,
    %(owner)s::text, %(until)s::double precision
WHERE NOT EXISTS (SELECT FROM processed_messages WHERE provider_id = %(provider_id)s::text)
ON CONFLICT (provider_id) DO NOTHING
RETURNING id, (SELECT min(e.id) FROM inbox AS e WHERE e.key = %(key)s::text) AS first
"""
# The entry, and when no earlier entry of its conversation waits, its lock (free, run out, or
# ours: see bot/storage/leases.py) and the conversation, in one statement. What the snapshot
# shows is the conversation as the last holder left it only if no holder committed under the
# lease or dropped it since the snapshot was taken (the row taken may be newer than the
# snapshot: ON CONFLICT waits for a holder committing or dropping, then takes the row as it is
# now): ``fresh`` compares the count in the snapshot with that of the row taken, which our own
# take moved on by one (a commit or a drop in between moved it further). An inserted row
# (xmax 0) is fresh when the snapshot had none (no holder since: a holder leaves its row while
# the conversation exists). The statement's writes commit together: the lock is never taken
# without the entry.
_INBOX_ACCEPT_LOCKED = (
    "WITH entry AS ("
    + _INBOX_ENTRY
    + "), "
    + _take_lock("FROM entry WHERE entry.first IS NULL")
    + """
SELECT entry.id, entry.first, took.turn, """
    + _FRESH
    + """, """
    + ", ".join(f"c.{name}" for name in _CONVERSATION_PARAMS)
    + """
FROM entry LEFT JOIN took ON true
LEFT JOIN conversations AS c ON c.key = %(key)s::text AND took.turn IS NOT NULL
"""
)

# A waiting entry's look at its conversation's inbox, taking the lock when the entry is the
# earliest, as _INBOX_ACCEPT_LOCKED takes it (and judging what it read the same way); what it
# read is trusted only while the message is not committed yet (a stopped process's turn may
# have run it after the entry was taken over).
_INBOX_READY = (
    "WITH first AS (SELECT min(id) AS id FROM inbox WHERE key = %(key)s::text"  # noqa: S608
    "), "
    + _take_lock("FROM first WHERE first.id IS NULL OR first.id >= %(entry)s")
    + """
SELECT first.id, took.turn, """
    + _FRESH
    + """
    AND NOT EXISTS (SELECT FROM processed_messages WHERE provider_id = %(provider_id)s::text), """
    + ", ".join(f"c.{name}" for name in _CONVERSATION_PARAMS)
    + """
FROM first LEFT JOIN took ON true
LEFT JOIN conversations AS c ON c.key = %(key)s::text AND took.turn IS NOT NULL
"""
)

# Entries whose lease ran out (or was given back), oldest first, unless an earlier entry of the
# same conversation is under a live lease (it must run first). SKIP LOCKED passes over rows
# another statement is finishing or renewing instead of waiting for them.
_INBOX_CLAIM = """
UPDATE inbox SET claimed_by = %(owner)s, claimed_until = %(until)s FROM (
    SELECT i.id FROM inbox AS i
    WHERE (i.claimed_until IS NULL OR i.claimed_until < %(now)s
        OR i.claimed_by = ANY(%(orphans)s::text[]))
    AND NOT EXISTS (
        SELECT FROM inbox AS e WHERE e.key = i.key AND e.id < i.id AND e.claimed_until >= %(now)s
        AND e.claimed_by <> ALL(%(orphans)s::text[])
    )
    ORDER BY i.id LIMIT %(limit)s FOR UPDATE OF i SKIP LOCKED
) AS due
WHERE inbox.id = due.id
RETURNING inbox.id, inbox.message
"""

# Conversations with a row whose lease ran out or whose holder is dead, oldest row first.
_OUTBOX_OVERDUE = """
SELECT key FROM outbox
WHERE claimed_until < %(now)s OR claimed_by = ANY(%(orphans)s::text[])
GROUP BY key ORDER BY min(id) LIMIT %(limit)s
"""


class PostgresStore(SqlStore):
    """The Store port on PostgreSQL at ``dsn``.

    ``schema`` (a lower-case identifier) confines every table to that schema, created if
    missing; tests give each run its own. ``clock`` gives epoch seconds for cache expiry. Every
    method may raise :class:`StorageError`; ``lock`` raises :class:`LockTimeout`. ``lease``
    is how long another process must wait before taking over a lock whose holder died
    elsewhere (one on this host is taken over at once).
    """

    queries = POSTGRES

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        clock: Callable[[], float] = time.time,
        lease: float = 30.0,
        open_timeout: float = 10.0,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise StorageError(
                f"schema {schema!r} is not a plain lower-case identifier: use letters, digits, _"
            )
        self._dsn = dsn
        self.schema = schema
        self._clock = clock
        self._migrations = tuple(migrations)
        # Advisory locks (the inbox's claimers, migrations) are per database: the schema keeps
        # separate deployments (and tests) from blocking each other.
        self._connections = Connections(
            dsn,
            schema=schema,
            namespace=f"ozbot:{schema or ''}",
            min_size=min_size,
            max_size=max_size,
            open_timeout=open_timeout,
        )
        self._locks = PostgresLeases(self._connections, lease=lease)
        self._news = PostgresNews(self._connections)

    def __repr__(self) -> str:
        return f"PostgresStore({describe_dsn(self._dsn)!r}, schema={self.schema!r})"

    # -- life cycle and locks ---------------------------------------------------------------

    async def open(self) -> None:
        await self._connections.open(self._migrations)
        self._locks.start()

    async def close(self) -> None:
        await self._locks.stop()
        await self._news.close()
        await self._connections.close()

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        await self._news.publish(topic, message)

    async def subscribe(self, topic: str, subscriber: Subscriber) -> Callable[[], None]:
        return await self._news.subscribe(topic, subscriber)

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
        with translate(what):
            async with self._connections.connection() as conn:
                cur = await conn.execute(statement, params)
                return await cur.fetchall()

    async def _count(self, what: str, statement: str, params: Params) -> int:
        with translate(what):
            async with self._connections.connection() as conn:
                cur = await conn.execute(statement, params)
                return cur.rowcount

    async def _transact(
        self, what: str, body: Callable[[], Transaction[T]], *, bulk: bool = False
    ) -> T:
        with translate(what):
            async with self._connections.connection() as conn, conn.transaction():
                steps = body()
                try:
                    statement, params = next(steps)
                    while True:
                        cur = await conn.execute(statement, params)
                        found = await cur.fetchall() if cur.description is not None else []
                        statement, params = steps.send(found)
                except StopIteration as done:
                    result: T = done.value
                    return result

    # -- what PostgreSQL runs its own way ---------------------------------------------------

    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
        outgoing: Outgoing | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> bool:
        # the context (and the replies) go as text, cast to jsonb by the server
        params: dict[str, Any] = dict(
            zip(_CONVERSATION_PARAMS, conversation_values(conversation, to_utc), strict=True)
        )
        kept = (
            outgoing_values(outgoing, self._clock(), to_utc)
            if outgoing is not None
            else (None,) * len(_OUTGOING_PARAMS)
        )
        params |= dict(zip(_OUTGOING_PARAMS, kept, strict=True))
        params |= {
            "roles": [entry.role for entry in transcript],
            "texts": [entry.text for entry in transcript],
            "ats": [to_utc(entry.at) for entry in transcript],
            # the timers' plan, as set_timers writes it (kinds a plan cancels have no due)
            "t_kinds": list(timers or ()),
            "t_dues": [None if due is None else to_utc(due) for due in (timers or {}).values()],
        }
        if provider_id is not None:
            params["provider_id"] = provider_id
            params["now"] = datetime.fromtimestamp(self._clock(), UTC)
        leases, key = self._locks, conversation.key
        turn = leases.fence(key)
        if turn is not None:
            params |= {
                "lock_key": key,
                "lock_owner": leases.owner,
                "lock_turn": turn,
                "lock_lease": leases.lease,
            }
        query = _COMMIT_TURN[provider_id is not None, turn is not None]
        since = time.monotonic()
        [(recorded, moved)] = await self._fetch("committing a turn", query, params)
        if turn is not None:
            if moved is None:
                raise LeaseLost(
                    "the conversation's lock was taken over while this turn ran: nothing committed"
                )
            leases.fenced(key, int(moved), since)
        return bool(recorded == 1)

    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        wanted = [s for s in dict.fromkeys(suffixes) if s]
        if not wanted:
            return 0
        return await self._count("forgetting cache entries", _FORGET_CACHE, (wanted, namespace))

    async def set_timers(self, key: str, plan: Mapping[str, datetime | None]) -> None:
        if not plan:
            return
        dues = [None if due is None else to_utc(due) for due in plan.values()]
        params = {"key": key, "kinds": list(plan), "dues": dues}
        if self._locks.fence(key) is None:  # one statement, no transaction around it
            await self._count("scheduling timers", _SET_TIMERS, params)
            return

        def schedule() -> Transaction[None]:
            yield _SET_TIMERS, params

        await self._transact_fenced("scheduling timers", key, schedule)

    async def claim_timers(self, now: datetime, *, limit: int, lease: float) -> list[Timer]:
        at = to_utc(now)
        claimed = await self._fetch(
            "claiming timers",
            _CLAIM_TIMERS,
            (uuid.uuid4().hex, at + timedelta(seconds=lease), at, at, limit),
        )
        return sorted(map(timer, claimed), key=lambda t: (t.due_at, t.id))

    async def inbox_done(
        self, entry_id: int, owner: str, sent: str | None = None, *, held: Held | None = None
    ) -> None:
        mine = held is not None and self._locks.holds(held)
        params = {
            "sent": sent,
            "lock_key": held.key if held is not None and mine else None,
            "lock_owner": self._locks.owner,
            "id": entry_id,
            "owner": owner,
        }
        try:
            await self._count("finishing an inbox entry", _INBOX_DONE, params)
        except asyncio.CancelledError:
            # the statement may still drop the lease: drop it first, then let the key go here
            if held is not None and mine:
                self._locks.abandon(held)
            raise
        finally:
            if held is not None:
                self._locks.given_back(held)

    async def inbox_ready(
        self, key: str, entry_id: int, provider_id: str | None
    ) -> tuple[int | None, Held | None]:
        if not await self._locks.reserve(key):  # held here: its turn takes it, waiting
            return await self.inbox_first(key), None
        params = {
            "key": key,
            "entry": entry_id,
            "provider_id": provider_id,
            "lock_owner": self._locks.owner,
            "lock_lease": self._locks.lease,
        }
        since = time.monotonic()
        try:
            [row] = await self._fetch("reading an inbox", _INBOX_READY, params)
        except BaseException as exc:
            self._locks.not_taken(key, cancelled=isinstance(exc, asyncio.CancelledError))
            raise
        first = None if row[0] is None else int(row[0])
        if row[1] is None:
            self._locks.not_taken(key)
            return first, None
        fresh = bool(row[2])
        loaded = conversation(row[3:]) if fresh and row[3] is not None else None
        return first, self._locks.taken(Held(key, loaded, stale=not fresh), int(row[1]), since)

    async def inbox_pass(
        self, entry_id: int, owner: str, sent: str | None, held: Held, after: int
    ) -> bool:
        if not self._locks.holds(held):  # given back already (its turn lost it)
            await self.inbox_done(entry_id, owner, sent)
            return False
        params = {"sent": sent, "id": entry_id, "owner": owner, "key": held.key, "after": after}
        found = await self._fetch("finishing an inbox entry", _INBOX_HAND_ON, params)
        if found and found[0][0] is None:
            return True
        await self.release(held)
        return False

    async def inbox_accept(
        self, inbound: Inbound, owner: str, lease: float, *, lock: bool = False
    ) -> Accepted | None:
        now = self._clock()
        key = inbound.key
        params: dict[str, Any] = {
            "key": key,
            "provider_id": inbound.provider_id,
            "message": inbound_to_json(inbound),
            "at": datetime.fromtimestamp(now, UTC),
            "owner": owner,
            "until": now + lease,
        }
        if not (lock and await self._locks.reserve(key)):
            stored = await self._fetch("storing an accepted message", _INBOX_ENTRY, params)
            if not stored:
                return None
            # (the subquery saw the inbox before this insert: the earliest other entry, or NULL)
            entry, first = int(stored[0][0]), stored[0][1]
            return Accepted(entry, behind=first is not None and int(first) < entry)
        # (stamped by the server's clock, as every lease is: bot/storage/postgres/leases.py)
        params |= {"lock_owner": self._locks.owner, "lock_lease": self._locks.lease}
        since = time.monotonic()
        try:
            stored = await self._fetch("storing an accepted message", _INBOX_ACCEPT_LOCKED, params)
        except BaseException as exc:
            self._locks.not_taken(key, cancelled=isinstance(exc, asyncio.CancelledError))
            raise
        if not stored or stored[0][2] is None:
            self._locks.not_taken(key)
            if not stored:
                return None
            entry, first = int(stored[0][0]), stored[0][1]
            return Accepted(entry, behind=first is not None and int(first) < entry)
        row = stored[0]
        fresh = bool(row[3])
        loaded = conversation(row[4:]) if fresh and row[4] is not None else None
        held = self._locks.taken(Held(key, loaded, stale=not fresh), int(row[2]), since)
        return Accepted(int(row[0]), behind=False, held=held)

    async def inbox_claim(
        self, owner: str, lease: float, limit: int, *, orphans: Sequence[str] = ()
    ) -> list[InboxEntry]:
        now = self._clock()
        turn = [lock_id(self._connections.namespace, "inbox claim")]
        params = {
            "owner": owner,
            "until": now + lease,
            "now": now,
            "orphans": list(orphans),
            "limit": limit,
        }

        def claim() -> Transaction[list[Row]]:
            # Claimers take turns (each statement of a READ COMMITTED transaction sees what
            # committed before it began): with SKIP LOCKED alone, a second claimer could take a
            # conversation's later entry while the first still holds its earlier ones
            # uncommitted, and run them out of order.
            yield "SELECT pg_advisory_xact_lock(%s)", turn
            return (yield _INBOX_CLAIM, params)

        claimed = await self._transact("claiming inbox entries", claim)
        return sorted(
            (InboxEntry(id=row[0], inbound=inbound_from_json(row[1])) for row in claimed),
            key=lambda entry: entry.id,
        )

    async def outbox_overdue(self, orphans: Sequence[str], limit: int) -> list[str]:
        params = {"now": self._clock(), "orphans": list(orphans), "limit": limit}
        found = await self._fetch("finding unsent replies", _OUTBOX_OVERDUE, params)
        return [str(row[0]) for row in found]
