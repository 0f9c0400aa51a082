"""The embedded store: one SQLite file (WAL), shared safely by several processes.

One aiosqlite connection per store; an asyncio lock keeps each operation (and each transaction)
whole on it, since every task of the process shares that connection. Conversation locks are
two-level: a FIFO asyncio lock per key inside the process, then a lease row in ``locks`` that
other processes on the same file respect. A background task renews the leases this store holds,
so a long turn keeps its lease; a crashed process's leases expire after ``lease`` seconds and
are then taken over.

Checkpoints (copying the WAL back into the file, with an fsync) would otherwise run inside
whichever commit crossed the 1000-page mark, adding milliseconds to one turn in a hundred; the
store turns that off and checkpoints PASSIVE-ly from a second connection in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import LockTimeout, StorageError
from bot.storage._common import KeyedLocks, dump_context, masked_key, to_utc, translate
from bot.storage.agents import AgentAccount, AgentSession, AgentStore
from bot.storage.base import HANDOFF_RELEASE, HandoffTicket, Store, Timer
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION_DDL, Migration, pending

__all__ = ["SqliteStore"]

log = logging.getLogger(__name__)

_UPSERT_CONVERSATION = """
INSERT INTO conversations
    (key, channel, contact, flow, state, language, context, failures, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    channel = excluded.channel, contact = excluded.contact, flow = excluded.flow,
    state = excluded.state, language = excluded.language, context = excluded.context,
    failures = excluded.failures, created_at = excluded.created_at,
    updated_at = excluded.updated_at
"""

# Take the lease when absent, or when the holder let it expire (a dead process).
_TAKE_LEASE = """
INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE locks.expires_at < ?
"""


def _iso(moment: datetime) -> str:
    return to_utc(moment).isoformat(timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _maybe(text: str | None) -> datetime | None:
    return None if text is None else _parse(text)


def _ticket(row: Sequence[Any]) -> HandoffTicket:
    return HandoffTicket(
        id=row[0],
        key=row[1],
        status=row[2],
        reason=row[3],
        since=_parse(row[4]),
        agent=row[5],
        claimed_at=_maybe(row[6]),
        closed_at=_maybe(row[7]),
        outcome=row[8],
    )


def _timer(row: Sequence[Any]) -> Timer:
    return Timer(id=row[0], key=row[1], kind=row[2], due_at=_parse(row[3]), claim=row[4])


class SqliteStore(Store, AgentStore):
    """The Store port on a SQLite file at ``path`` (parent directories are created).

    ``clock`` gives epoch seconds for cache expiry (tests pass one they control). ``lease`` is
    how long another process must wait before taking over a lock whose holder died. Every
    method may raise :class:`StorageError`; ``lock`` raises :class:`LockTimeout`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        lease: float = 30.0,
        busy_timeout: float = 5.0,
        checkpoint_every: float = 0.5,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lease = lease
        self._busy_timeout = busy_timeout
        self._checkpoint_every = checkpoint_every
        self._migrations = tuple(migrations)
        self._db: aiosqlite.Connection | None = None
        self._op = asyncio.Lock()
        self._keyed = KeyedLocks()
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._held: set[str] = set()
        self._background: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- life cycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the directory for {self.path} ({exc}): point OZBOT_DATA_DIR or "
                "DATABASE_URL at a writable place"
            ) from exc
        with translate(f"opening {self.path}"):
            db = await aiosqlite.connect(self.path, isolation_level=None)
            try:
                # WAL lets readers in other processes work beside the writer; NORMAL syncs at
                # checkpoints only (a power cut may lose the last turns, never corrupt the file).
                await db.execute("PRAGMA journal_mode = WAL")
                await db.execute("PRAGMA synchronous = NORMAL")
                await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
                await db.execute("PRAGMA temp_store = MEMORY")
                await db.execute("PRAGMA wal_autocheckpoint = 0")  # see the module docstring
                await db.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
                await self._migrate(db)
            except BaseException:
                await db.close()
                raise
        self._db = db
        self._background = [
            asyncio.create_task(self._renew_leases(), name="ozbot-sqlite-leases"),
            asyncio.create_task(self._checkpoint(), name="ozbot-sqlite-checkpoint"),
        ]

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock first: a second process opening the same file
        # waits (busy_timeout) and then finds the work done.
        await db.execute("BEGIN IMMEDIATE")
        try:
            await db.execute(SCHEMA_VERSION_DDL["sqlite"])
            async with db.execute("SELECT coalesce(max(version), 0) FROM schema_version") as cur:
                row = await cur.fetchone()
            current = int(row[0]) if row else 0
            if current > len(self._migrations):
                raise StorageError(
                    f"{self.path} has schema version {current}, newer than this ozbot knows "
                    f"({len(self._migrations)}): upgrade ozbot"
                )
            for version, name, sqls in pending(self._migrations, current, "sqlite"):
                for sql in sqls:
                    await db.execute(sql)
                await db.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, _iso(datetime.now(UTC))),
                )
                log.info("sqlite schema migrated to version %d (%s)", version, name)
            await db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []
        if self._db is not None:
            db, self._db = self._db, None
            with translate("closing"):
                await db.close()

    def _require(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError("the store is not open: call `await store.open()` first")
        return self._db

    async def schema_version(self) -> int:
        """The number of migrations applied to the file."""
        db = self._require()
        async with self._op:
            with translate("reading schema_version"):
                rows = await db.execute_fetchall("SELECT max(version) FROM schema_version")
        return int(next(iter(rows))[0] or 0)

    # -- locks ------------------------------------------------------------------------------

    @asynccontextmanager
    async def lock(
        self,
        key: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - the port's signature: bounds the wait only
    ) -> AsyncIterator[None]:
        db = self._require()
        deadline = time.monotonic() + timeout
        async with self._keyed.hold(key, timeout):
            await self._take_lease(db, key, deadline, timeout)
            try:
                yield
            finally:
                self._held.discard(key)
                await self._drop_lease(db, key)

    async def _take_lease(
        self, db: aiosqlite.Connection, key: str, deadline: float, waited: float
    ) -> None:
        backoff = 0.002
        while True:
            now = time.time()  # leases are compared across processes: wall clock, not self._clock
            async with self._op:
                with translate("taking a lock"):
                    cursor = await db.execute(
                        _TAKE_LEASE, (key, self._owner, now + self._lease, now)
                    )
            if cursor.rowcount == 1:
                self._held.add(key)
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(
                    f"conversation {masked_key(key)} stayed locked by another process for "
                    f"{waited:g}s"
                )
            await asyncio.sleep(min(backoff, remaining))
            backoff = min(backoff * 2, 0.05)

    async def _drop_lease(self, db: aiosqlite.Connection, key: str) -> None:
        # Only if still ours: had the lease expired and been taken over, the row is another's.
        try:
            async with self._op:
                await db.execute(
                    "DELETE FROM locks WHERE key = ? AND owner = ?", (key, self._owner)
                )
        except sqlite3.Error as exc:
            # Not renewed any more, so the lease expires by itself; the turn's work is done.
            log.warning("could not release the lock of %s: %s", masked_key(key), exc)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if not self._held or self._db is None:
                continue
            expires = time.time() + self._lease
            try:
                async with self._op:
                    await self._db.executemany(
                        "UPDATE locks SET expires_at = ? WHERE key = ? AND owner = ?",
                        [(expires, key, self._owner) for key in list(self._held)],
                    )
            except sqlite3.Error as exc:
                log.warning("could not renew %d lock lease(s): %s", len(self._held), exc)

    async def _checkpoint(self) -> None:
        # Its own connection (and so its own thread): the fsync does not hold up turns, and a
        # PASSIVE checkpoint never blocks the writer.
        try:
            db = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            log.warning("no checkpoint connection (%s): the WAL file will keep growing", exc)
            return
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            while True:
                await asyncio.sleep(self._checkpoint_every)
                try:
                    await db.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:
                    log.warning("sqlite checkpoint failed (will retry): %s", exc)
        finally:
            await db.close()

    # -- conversations ----------------------------------------------------------------------

    async def load(self, key: str) -> Conversation | None:
        db = self._require()
        async with self._op:
            with translate("loading a conversation"):
                rows = list(
                    await db.execute_fetchall(
                        "SELECT channel, contact, flow, state, language, context, failures,"
                        " created_at, updated_at FROM conversations WHERE key = ?",
                        (key,),
                    )
                )
        if not rows:
            return None
        row = rows[0]
        return Conversation(
            key=key,
            channel=row[0],
            contact=row[1],
            flow=row[2],
            state=row[3],
            language=row[4],
            context=_load_json(row[5]),
            failures=row[6],
            created_at=_parse(row[7]),
            updated_at=_parse(row[8]),
        )

    async def seen(self, provider_id: str) -> bool:
        db = self._require()
        async with self._op:
            with translate("checking a message id"):
                rows = await db.execute_fetchall(
                    "SELECT 1 FROM processed_messages WHERE provider_id = ?", (provider_id,)
                )
        return bool(list(rows))

    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
    ) -> bool:
        db = self._require()
        c = conversation
        values = (
            c.key,
            c.channel,
            c.contact,
            c.flow,
            c.state,
            c.language,
            dump_context(c.context),
            c.failures,
            _iso(c.created_at),
            _iso(c.updated_at),
        )
        lines = [(c.key, entry.role, entry.text, _iso(entry.at)) for entry in transcript]
        async with self._op:
            with translate("committing a turn"):
                await db.execute("BEGIN IMMEDIATE")
                try:
                    if provider_id is not None:
                        cursor = await db.execute(
                            "INSERT INTO processed_messages (provider_id, key, at) VALUES (?, ?, ?)"
                            " ON CONFLICT (provider_id) DO NOTHING",
                            (provider_id, c.key, _iso(self._now())),
                        )
                        if cursor.rowcount == 0:
                            await db.execute("ROLLBACK")
                            return False
                    await db.execute(_UPSERT_CONVERSATION, values)
                    if lines:
                        await db.executemany(
                            "INSERT INTO transcript (key, role, text, at) VALUES (?, ?, ?, ?)",
                            lines,
                        )
                    await db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await db.execute("ROLLBACK")
                    raise
        return True

    async def transcript(self, key: str, limit: int | None = None) -> list[TranscriptEntry]:
        db = self._require()
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        sql = "SELECT role, text, at FROM transcript WHERE key = ? ORDER BY id"
        params: tuple[Any, ...] = (key,)
        if limit is not None:
            sql = (
                "SELECT role, text, at FROM (SELECT id, role, text, at FROM transcript"
                " WHERE key = ? ORDER BY id DESC LIMIT ?) ORDER BY id"
            )
            params = (key, limit)
        async with self._op:
            with translate("reading a transcript"):
                rows = await db.execute_fetchall(sql, params)
        return [TranscriptEntry(role=row[0], text=row[1], at=_parse(row[2])) for row in rows]

    async def forget(self, key: str) -> None:
        db = self._require()
        async with self._op:
            with translate("forgetting a conversation"):
                await db.execute("BEGIN IMMEDIATE")
                try:
                    await db.execute("DELETE FROM conversations WHERE key = ?", (key,))
                    await db.execute("DELETE FROM transcript WHERE key = ?", (key,))
                    await db.execute("DELETE FROM timers WHERE key = ?", (key,))
                    await db.execute("DELETE FROM handoffs WHERE key = ?", (key,))
                    # Keep the message ids (a redelivered webhook stays a duplicate) but not
                    # whose they were.
                    await db.execute(
                        "UPDATE processed_messages SET key = NULL WHERE key = ?", (key,)
                    )
                    await db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await db.execute("ROLLBACK")
                    raise

    # -- cache ------------------------------------------------------------------------------

    async def cache_get(self, namespace: str, key: str) -> str | None:
        db = self._require()
        async with self._op:
            with translate("reading the cache"):
                rows = list(
                    await db.execute_fetchall(
                        "SELECT value FROM cache WHERE namespace = ? AND key = ?"
                        " AND expires_at > ?",
                        (namespace, key, self._clock()),
                    )
                )
        return str(rows[0][0]) if rows else None

    async def cache_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        db = self._require()
        async with self._op:
            with translate("writing the cache"):
                await db.execute(
                    "INSERT INTO cache (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
                    " expires_at = excluded.expires_at",
                    (namespace, key, value, self._clock() + ttl),
                )

    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        wanted = [s for s in dict.fromkeys(suffixes) if s]
        if not wanted:
            return 0
        async with self._write("forgetting cache entries") as db:
            deleted = 0
            for suffix in wanted:
                cursor = await db.execute(
                    "DELETE FROM cache WHERE namespace = ? AND length(key) >= length(?)"
                    " AND substr(key, -length(?)) = ?",
                    (namespace, suffix, suffix, suffix),
                )
                deleted += cursor.rowcount
        return deleted

    # -- timers -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _write(self, what: str) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so it is atomic against other
        processes on the file too; committed when the body returns, rolled back if it raises."""
        db = self._require()
        async with self._op:
            with translate(what):
                await db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    await db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await db.execute("ROLLBACK")
                    raise

    async def _read(self, what: str, query: str, params: Sequence[Any]) -> list[Any]:
        db = self._require()
        async with self._op:
            with translate(what):
                return list(await db.execute_fetchall(query, params))

    async def set_timers(self, key: str, plan: Mapping[str, datetime | None]) -> None:
        if not plan:
            return
        async with self._write("scheduling timers") as db:
            for kind, due in plan.items():
                if due is None:
                    await db.execute("DELETE FROM timers WHERE key = ? AND kind = ?", (key, kind))
                else:
                    await db.execute(
                        "INSERT INTO timers (key, kind, due_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (key, kind) DO UPDATE SET due_at = excluded.due_at,"
                        " claimed_by = NULL, claimed_until = NULL",
                        (key, kind, _iso(due)),
                    )

    async def pending_timers(self, key: str) -> list[Timer]:
        rows = await self._read(
            "reading timers",
            "SELECT id, key, kind, due_at, claimed_by FROM timers WHERE key = ?"
            " ORDER BY due_at, id",
            (key,),
        )
        return [_timer(row) for row in rows]

    async def claim_timers(self, now: datetime, *, limit: int, lease: float) -> list[Timer]:
        claim = uuid.uuid4().hex
        until = _iso(now + timedelta(seconds=lease))
        at = _iso(now)
        async with self._write("claiming timers") as db:
            cursor = await db.execute(
                "UPDATE timers SET claimed_by = ?, claimed_until = ? WHERE id IN ("
                " SELECT id FROM timers WHERE due_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until < ?)"
                " ORDER BY due_at, id LIMIT ?)"
                " RETURNING id, key, kind, due_at, claimed_by",
                (claim, until, at, at, limit),
            )
            rows = list(await cursor.fetchall())
        return sorted((_timer(row) for row in rows), key=lambda t: (t.due_at, t.id))

    async def timer_pending(self, timer: Timer) -> bool:
        rows = await self._read(
            "checking a timer",
            "SELECT 1 FROM timers WHERE id = ? AND claimed_by IS ?",
            (timer.id, timer.claim),
        )
        return bool(rows)

    async def finish_timer(self, timer: Timer) -> None:
        async with self._write("finishing a timer") as db:
            await db.execute(
                "DELETE FROM timers WHERE id = ? AND claimed_by IS ?", (timer.id, timer.claim)
            )

    # -- the agents' queue ------------------------------------------------------------------

    async def enqueue_handoff(self, key: str, reason: str, at: datetime) -> HandoffTicket:
        async with self._write("queueing a handoff") as db:
            await db.execute(
                "INSERT INTO handoffs (key, status, reason, since) VALUES (?, 'waiting', ?, ?)"
                " ON CONFLICT (key) WHERE status <> 'closed' DO NOTHING",
                (key, reason, _iso(at)),
            )
            cursor = await db.execute(
                "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
                " FROM handoffs WHERE key = ? AND status <> 'closed'",
                (key,),
            )
            row = await cursor.fetchone()
        assert row is not None  # just inserted, or the open one that prevented it
        return _ticket(row)

    async def open_handoff(self, key: str) -> HandoffTicket | None:
        rows = await self._read(
            "reading a handoff",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE key = ? AND status <> 'closed'",
            (key,),
        )
        return _ticket(rows[0]) if rows else None

    async def waiting_handoffs(self, limit: int = 100) -> list[HandoffTicket]:
        rows = await self._read(
            "reading the queue",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE status = 'waiting'"
            " ORDER BY since, id LIMIT ?",
            (limit,),
        )
        return [_ticket(row) for row in rows]

    async def claim_handoff(self, key: str, agent: str, at: datetime) -> HandoffTicket | None:
        async with self._write("claiming a handoff") as db:
            cursor = await db.execute(
                "UPDATE handoffs SET status = 'claimed', agent = ?, claimed_at = ?"
                " WHERE key = ? AND status = 'waiting'"
                " RETURNING id, key, status, reason, since, agent, claimed_at, closed_at, outcome",
                (agent, _iso(at), key),
            )
            row = await cursor.fetchone()
            if row is not None:
                await db.execute(
                    "DELETE FROM timers WHERE key = ? AND kind = ?", (key, HANDOFF_RELEASE)
                )
        return None if row is None else _ticket(row)

    async def close_handoff(
        self, key: str, outcome: str, at: datetime, *, waiting_only: bool = False
    ) -> HandoffTicket | None:
        async with self._write("closing a handoff") as db:
            cursor = await db.execute(
                "UPDATE handoffs SET status = 'closed', outcome = ?, closed_at = ?"
                " WHERE key = ? AND status <> 'closed' AND (NOT ? OR status = 'waiting')"
                " RETURNING id, key, status, reason, since, agent, claimed_at, closed_at, outcome",
                (outcome, _iso(at), key, waiting_only),
            )
            row = await cursor.fetchone()
            await db.execute(
                "DELETE FROM timers WHERE key = ? AND kind = ?", (key, HANDOFF_RELEASE)
            )
        return None if row is None else _ticket(row)

    async def record_agent_message(self, key: str, text: str, at: datetime) -> None:
        async with self._write("recording an agent's message") as db:
            await db.execute(
                "INSERT INTO transcript (key, role, text, at) VALUES (?, 'agent', ?, ?)",
                (key, text, _iso(at)),
            )

    # -- the agent console (AgentStore) ------------------------------------------------------

    async def add_agent(self, name: str, password_hash: str, at: datetime) -> bool:
        async with self._write("adding an agent") as db:
            cursor = await db.execute(
                "INSERT INTO agents (name, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, password_hash, _iso(at)),
            )
            return cursor.rowcount == 1

    async def agent_password(self, name: str) -> str | None:
        rows = await self._read(
            "reading an agent", "SELECT password_hash FROM agents WHERE name = ?", (name,)
        )
        return str(rows[0][0]) if rows else None

    async def set_agent_password(self, name: str, password_hash: str) -> bool:
        async with self._write("changing an agent's password") as db:
            cursor = await db.execute(
                "UPDATE agents SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
            return cursor.rowcount == 1

    async def list_agents(self) -> list[AgentAccount]:
        rows = await self._read(
            "listing agents", "SELECT name, created_at FROM agents ORDER BY name", ()
        )
        return [AgentAccount(name=row[0], created_at=_parse(row[1])) for row in rows]

    async def remove_agent(self, name: str) -> bool:
        async with self._write("removing an agent") as db:
            await db.execute("DELETE FROM agent_sessions WHERE agent = ?", (name,))
            cursor = await db.execute("DELETE FROM agents WHERE name = ?", (name,))
            return cursor.rowcount == 1

    async def create_agent_session(
        self, token_hash: str, agent: str, at: datetime, expires_at: datetime
    ) -> None:
        async with self._write("recording a login") as db:
            await db.execute("DELETE FROM agent_sessions WHERE expires_at <= ?", (_iso(at),))
            await db.execute(
                "INSERT INTO agent_sessions (token_hash, agent, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, agent, _iso(at), _iso(expires_at)),
            )

    async def agent_session(self, token_hash: str, now: datetime) -> AgentSession | None:
        rows = await self._read(
            "reading a login",
            "SELECT s.agent, s.expires_at FROM agent_sessions s JOIN agents a ON a.name = s.agent"
            " WHERE s.token_hash = ? AND s.expires_at > ?",
            (token_hash, _iso(now)),
        )
        return AgentSession(agent=rows[0][0], expires_at=_parse(rows[0][1])) if rows else None

    async def end_agent_session(self, token_hash: str) -> None:
        async with self._write("ending a login") as db:
            await db.execute("DELETE FROM agent_sessions WHERE token_hash = ?", (token_hash,))

    async def handoff(self, ticket_id: int) -> HandoffTicket | None:
        rows = await self._read(
            "reading a handoff",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE id = ?",
            (ticket_id,),
        )
        return _ticket(rows[0]) if rows else None

    async def open_handoffs(self, limit: int = 200) -> list[HandoffTicket]:
        rows = await self._read(
            "reading the queue",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE status <> 'closed' ORDER BY since, id LIMIT ?",
            (limit,),
        )
        return [_ticket(row) for row in rows]

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _load_json(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StorageError("a conversation's context in the database is not a JSON object")
    return value
