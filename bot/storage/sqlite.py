"""The embedded store: one SQLite file (WAL), shared safely by several processes.

One plain :mod:`sqlite3` connection per store. Every store operation is one synchronous function
that runs all its SQL, its whole transaction included, in one go, and it runs in one of two
places:

* **on the event loop, at once**, when nothing is queued for the database thread. The
  connection's busy timeout is 0 there, so such a call never waits for another connection's
  lock: it is a few key lookups or inserts in pages the OS has cached (tens of microseconds),
  cheaper than a trip to a thread and back (a wake-up, and the GIL handed over at each statement,
  which under load cost far more than the SQL: paced turns had a p99 of tens of ms that way);
* **in the database thread** (a single-worker executor), with the busy timeout set, when the
  file is locked by another connection (SQLITE_BUSY on the first try, which writes nothing: every
  operation is one transaction or one statement), when a call is already queued there (so
  operations keep their order), and always for the operations that may touch many rows (erasure,
  whole transcripts, queue listings, timer claims, opening and migrating).

Either way one operation runs at a time on the connection: the loop runs an inline call only
while the thread has nothing, and the thread takes work only from the loop.

Conversation locks are two-level: a FIFO asyncio lock per key inside the process, then a lease
row in ``locks`` that other processes on the same file respect (one statement to take it, one to
drop it). A background task renews the leases this store holds, so a long turn keeps its lease;
a crashed process's leases expire after ``lease`` seconds and are then taken over.

Checkpoints (copying the WAL back into the file, with an fsync) would otherwise run inside
whichever commit crossed the 1000-page mark, adding milliseconds to one turn in a hundred; the
store turns that off and checkpoints PASSIVE-ly from a second connection, in a thread of its
own, in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import LockTimeout, StorageError
from bot.messages import Inbound
from bot.storage._common import DriverErrors, KeyedLocks, dump_context, masked_key, to_utc
from bot.storage.agents import RETURN_CLAIMED_SQL, AgentAccount, AgentSession, AgentStore
from bot.storage.base import HANDOFF_RELEASE, HandoffTicket, Store, Timer
from bot.storage.inbox import InboxEntry, InboxStore, inbound_from_json, inbound_to_json
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION_DDL, Migration, pending

__all__ = ["SqliteStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
Db = sqlite3.Connection

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

# Take the lease when absent, or when the holder let it expire (a dead process). A row of our
# own is a lease an interrupted take left behind: the in-process lock already makes us its
# rightful holder.
_TAKE_LEASE = """
INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE locks.expires_at < ? OR locks.owner = excluded.owner
"""


# Skips a provider id a turn already committed (the row is gone from the inbox by then); the
# SELECT's WHERE also keeps SQLite from reading ON CONFLICT as part of the SELECT.
_INBOX_PUT = """
INSERT INTO inbox (key, provider_id, message, received_at, claimed_by, claimed_until)
SELECT ?, ?, ?, ?, ?, ?
WHERE NOT EXISTS (SELECT 1 FROM processed_messages WHERE provider_id = ?)
ON CONFLICT (provider_id) DO NOTHING
RETURNING id
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


def translate(what: str) -> DriverErrors:
    """sqlite3's errors in the block become :class:`StorageError` naming ``what``."""
    return DriverErrors("SQLite", sqlite3.Error, what)


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


class _Duplicate(Exception):
    """commit_turn's message id was already recorded: roll back, write nothing."""


def _transaction(db: Db, body: Callable[[Db], T]) -> T:
    """Run ``body`` in one write transaction, taken at once (BEGIN IMMEDIATE) so it is atomic
    against other processes on the file too; committed when it returns, rolled back if it
    raises. Runs in the database thread."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = body(db)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return result


def _connect(path: Path, busy_timeout: float) -> Db:
    # isolation_level=None: no implicit transactions; each method says BEGIN IMMEDIATE itself.
    # check_same_thread=False: the store hands the connection between the event loop and its
    # thread itself, never to both at once.
    db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
    _busy_timeout(db, busy_timeout)
    return db


def _busy_timeout(db: Db, seconds: float) -> None:
    db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def _is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds a lock the statement needed."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteStore(Store, AgentStore, InboxStore):
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
        # The database thread, and its connection (touched only from that thread).
        # The database thread, its count of calls queued or running, and the connection.
        self._thread: ThreadPoolExecutor | None = None
        self._queued = 0
        self._db: Db | None = None
        self._keyed = KeyedLocks()
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._checkpointer: threading.Thread | None = None
        self._stop = threading.Event()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- running an operation ---------------------------------------------------------------

    async def _call(self, what: str, operation: Callable[[Db], T], *, inline: bool = True) -> T:
        """Run ``operation`` on the connection as one call: at once on the event loop when
        ``inline`` and nothing is queued for the thread, else (or when the file is locked by
        another connection) in the database thread. sqlite3 errors become StorageError naming
        ``what``."""
        if self._thread is None:
            raise StorageError("the store is not open: call `await store.open()` first")
        db = self._db
        if inline and not self._queued and db is not None:
            with translate(what):
                try:
                    return operation(db)
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise
            # Locked by another connection (nothing was written): wait for it in the thread.
        with translate(what):
            return await self._submit(self._run_waiting, operation)

    def _submit(self, function: Callable[[A], T], arg: A) -> asyncio.Future[T]:
        """Queue ``function(arg)`` for the database thread. The count of queued calls drops
        when the call has run (not when its awaiter gives up): only then may the loop use the
        connection again."""
        thread = self._thread
        if thread is None:
            raise StorageError("the store is not open: call `await store.open()` first")
        loop = asyncio.get_running_loop()
        result: asyncio.Future[T] = loop.create_future()

        def settle(done: Future[T]) -> None:
            self._queued -= 1
            if result.cancelled():
                return
            exc = done.exception()
            if exc is not None:
                result.set_exception(exc)
            else:
                result.set_result(done.result())

        self._queued += 1
        try:
            called = thread.submit(function, arg)
        except BaseException:
            self._queued -= 1
            raise
        called.add_done_callback(lambda done: loop.call_soon_threadsafe(settle, done))
        return result

    def _run_waiting(self, operation: Callable[[Db], T]) -> T:
        """In the thread: ``operation`` with the busy timeout on (waiting out other
        connections' locks), then off again for the calls made on the loop."""
        db = self._db
        if db is None:  # the store closed while this call waited its turn
            raise StorageError("the store is closed")
        _busy_timeout(db, self._busy_timeout)
        try:
            return operation(db)
        finally:
            _busy_timeout(db, 0)

    async def _write(self, what: str, body: Callable[[Db], T], *, inline: bool = True) -> T:
        """``body`` as one write transaction (see :func:`_transaction`), in one call."""
        return await self._call(what, lambda db: _transaction(db, body), inline=inline)

    async def _read(
        self, what: str, query: str, params: Sequence[Any], *, inline: bool = True
    ) -> list[Any]:
        return await self._call(
            what, lambda db: db.execute(query, params).fetchall(), inline=inline
        )

    # -- life cycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self._thread is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the directory for {self.path} ({exc}): point OZBOT_DATA_DIR or "
                "DATABASE_URL at a writable place"
            ) from exc
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ozbot-sqlite")
        try:
            with translate(f"opening {self.path}"):
                await self._submit(self._open_in_thread, None)
        except BaseException:
            thread, self._thread = self._thread, None
            thread.shutdown(wait=False)
            raise
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint, name="ozbot-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()
        self._renewer = asyncio.create_task(self._renew_leases(), name="ozbot-sqlite-leases")

    def _open_in_thread(self, _: None) -> None:
        db = _connect(self.path, self._busy_timeout)
        try:
            # WAL lets readers in other processes work beside the writer; NORMAL syncs at
            # checkpoints only (a power cut may lose the last turns, never corrupt the file).
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA temp_store = MEMORY")
            db.execute("PRAGMA wal_autocheckpoint = 0")  # see the module docstring
            db.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
            self._migrate(db)
            _busy_timeout(db, 0)  # see _call
        except BaseException:
            db.close()
            raise
        self._db = db

    def _migrate(self, db: Db) -> None:
        # BEGIN IMMEDIATE takes the write lock first: a second process opening the same file
        # waits (busy_timeout) and then finds the work done.
        def migrate(db: Db) -> None:
            db.execute(SCHEMA_VERSION_DDL["sqlite"])
            row = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
            current = int(row[0]) if row else 0
            if current > len(self._migrations):
                raise StorageError(
                    f"{self.path} has schema version {current}, newer than this ozbot knows "
                    f"({len(self._migrations)}): upgrade ozbot"
                )
            for version, name, sqls in pending(self._migrations, current, "sqlite"):
                for statement in sqls:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, _iso(datetime.now(UTC))),
                )
                log.info("sqlite schema migrated to version %d (%s)", version, name)

        _transaction(db, migrate)

    async def close(self) -> None:
        if self._renewer is not None:
            renewer, self._renewer = self._renewer, None
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            self._stop.set()
            await asyncio.to_thread(checkpointer.join)
        if self._thread is not None:
            try:
                # Queued behind any call still pending, so those finish first.
                with translate("closing"):
                    await self._submit(self._close_in_thread, None)
            finally:
                thread, self._thread = self._thread, None
                thread.shutdown(wait=False)

    def _close_in_thread(self, _: None) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    async def schema_version(self) -> int:
        """The number of migrations applied to the file."""
        rows = await self._read(
            "reading schema_version", "SELECT max(version) FROM schema_version", (), inline=False
        )
        return int(rows[0][0] or 0)

    # -- locks ------------------------------------------------------------------------------

    @asynccontextmanager
    async def lock(
        self,
        key: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - the port's signature: bounds the wait only
    ) -> AsyncIterator[None]:
        if self._thread is None:
            raise StorageError("the store is not open: call `await store.open()` first")
        deadline = time.monotonic() + timeout
        async with self._keyed.hold(key, timeout):
            await self._take_lease(key, deadline, timeout)
            try:
                yield
            finally:
                self._held.discard(key)
                await self._drop_lease(key)

    async def _take_lease(self, key: str, deadline: float, waited: float) -> None:
        backoff = 0.002
        while True:
            now = time.time()  # leases are compared across processes: wall clock, not self._clock
            params = (key, self._owner, now + self._lease, now)

            def take(db: Db, params: tuple[str, str, float, float] = params) -> bool:
                return db.execute(_TAKE_LEASE, params).rowcount == 1

            try:
                taken = await self._call("taking a lock", take)
            except asyncio.CancelledError:
                # The call runs on in the thread and may take the lease: give it back (a row of
                # ours left behind would block other processes until it expired).
                self._release_later(key)
                raise
            if taken:
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

    def _dropper(self, key: str) -> Callable[[Db], None]:
        # Only if still ours: had the lease expired and been taken over, the row is another's.
        def drop(db: Db) -> None:
            db.execute("DELETE FROM locks WHERE key = ? AND owner = ?", (key, self._owner))

        return drop

    async def _drop_lease(self, key: str) -> None:
        try:
            await self._call("releasing a lock", self._dropper(key))
        except asyncio.CancelledError:
            self._release_later(key)
            raise
        except StorageError as exc:
            # Not renewed any more, so the lease expires by itself; the turn's work is done.
            log.warning("could not release the lock of %s: %s", masked_key(key), exc)

    def _release_later(self, key: str) -> None:
        """Queue the lease's release for the thread without waiting for it (for a cancelled
        task): it runs after the call in flight."""
        drop = self._dropper(key)

        def release(_: None) -> None:
            try:
                self._run_waiting(drop)
            except (sqlite3.Error, StorageError) as exc:
                log.warning("could not release the lock of %s: %s", masked_key(key), exc)

        # closing, or the thread already shut down: the lease is not renewed and expires
        with contextlib.suppress(StorageError, RuntimeError):
            self._submit(release, None)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if not self._held:
                continue
            expires = time.time() + self._lease
            rows = [(expires, key, self._owner) for key in self._held]

            def renew(db: Db, rows: list[tuple[float, str, str]] = rows) -> None:
                db.executemany("UPDATE locks SET expires_at = ? WHERE key = ? AND owner = ?", rows)

            try:
                await self._call("renewing lock leases", renew, inline=False)
            except StorageError as exc:
                log.warning("could not renew %d lock lease(s): %s", len(rows), exc)

    def _checkpoint(self) -> None:
        # Its own connection in its own thread: the fsync does not hold up turns, and a PASSIVE
        # checkpoint never blocks the writer.
        try:
            db = _connect(self.path, self._busy_timeout)
        except sqlite3.Error as exc:
            log.warning("no checkpoint connection (%s): the WAL file will keep growing", exc)
            return
        try:
            while not self._stop.wait(self._checkpoint_every):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.warning("sqlite checkpoint failed (will retry): %s", exc)
        finally:
            db.close()

    # -- conversations ----------------------------------------------------------------------

    async def load(self, key: str) -> Conversation | None:
        rows = await self._read(
            "loading a conversation",
            "SELECT channel, contact, flow, state, language, context, failures,"
            " created_at, updated_at FROM conversations WHERE key = ?",
            (key,),
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
        rows = await self._read(
            "checking a message id",
            "SELECT 1 FROM processed_messages WHERE provider_id = ?",
            (provider_id,),
        )
        return bool(rows)

    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
    ) -> bool:
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
        message = None if provider_id is None else (provider_id, c.key, _iso(self._now()))

        def commit(db: Db) -> None:
            if message is not None:
                cursor = db.execute(
                    "INSERT INTO processed_messages (provider_id, key, at) VALUES (?, ?, ?)"
                    " ON CONFLICT (provider_id) DO NOTHING",
                    message,
                )
                if cursor.rowcount == 0:
                    raise _Duplicate
            db.execute(_UPSERT_CONVERSATION, values)
            if lines:
                db.executemany(
                    "INSERT INTO transcript (key, role, text, at) VALUES (?, ?, ?, ?)", lines
                )

        try:
            await self._write("committing a turn", commit)
        except _Duplicate:
            return False
        return True

    async def transcript(self, key: str, limit: int | None = None) -> list[TranscriptEntry]:
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
        rows = await self._read("reading a transcript", sql, params, inline=False)
        return [TranscriptEntry(role=row[0], text=row[1], at=_parse(row[2])) for row in rows]

    async def forget(self, key: str) -> None:
        def forget(db: Db) -> None:
            db.execute("DELETE FROM conversations WHERE key = ?", (key,))
            db.execute("DELETE FROM transcript WHERE key = ?", (key,))
            db.execute("DELETE FROM timers WHERE key = ?", (key,))
            db.execute("DELETE FROM handoffs WHERE key = ?", (key,))
            # Keep the message ids (a redelivered webhook stays a duplicate) but not whose
            # they were.
            db.execute("UPDATE processed_messages SET key = NULL WHERE key = ?", (key,))

        await self._write("forgetting a conversation", forget, inline=False)

    # -- cache ------------------------------------------------------------------------------

    async def cache_get(self, namespace: str, key: str) -> str | None:
        rows = await self._read(
            "reading the cache",
            "SELECT value FROM cache WHERE namespace = ? AND key = ? AND expires_at > ?",
            (namespace, key, self._clock()),
        )
        return str(rows[0][0]) if rows else None

    async def cache_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        params = (namespace, key, value, self._clock() + ttl)
        await self._call(
            "writing the cache",
            lambda db: db.execute(
                "INSERT INTO cache (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
                " expires_at = excluded.expires_at",
                params,
            ),
        )

    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        wanted = [s for s in dict.fromkeys(suffixes) if s]
        if not wanted:
            return 0

        def delete(db: Db) -> int:
            deleted = 0
            for suffix in wanted:
                cursor = db.execute(
                    "DELETE FROM cache WHERE namespace = ? AND length(key) >= length(?)"
                    " AND substr(key, -length(?)) = ?",
                    (namespace, suffix, suffix, suffix),
                )
                deleted += cursor.rowcount
            return deleted

        return await self._write("forgetting cache entries", delete, inline=False)

    # -- timers -----------------------------------------------------------------------------

    async def set_timers(self, key: str, plan: Mapping[str, datetime | None]) -> None:
        if not plan:
            return
        steps = [(kind, None if due is None else _iso(due)) for kind, due in plan.items()]

        def schedule(db: Db) -> None:
            for kind, due in steps:
                if due is None:
                    db.execute("DELETE FROM timers WHERE key = ? AND kind = ?", (key, kind))
                else:
                    db.execute(
                        "INSERT INTO timers (key, kind, due_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (key, kind) DO UPDATE SET due_at = excluded.due_at,"
                        " claimed_by = NULL, claimed_until = NULL",
                        (key, kind, due),
                    )

        await self._write("scheduling timers", schedule)

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
        rows = await self._write(
            "claiming timers",
            lambda db: db.execute(
                "UPDATE timers SET claimed_by = ?, claimed_until = ? WHERE id IN ("
                " SELECT id FROM timers WHERE due_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until < ?)"
                " ORDER BY due_at, id LIMIT ?)"
                " RETURNING id, key, kind, due_at, claimed_by",
                (claim, until, at, at, limit),
            ).fetchall(),
            inline=False,
        )
        return sorted((_timer(row) for row in rows), key=lambda t: (t.due_at, t.id))

    async def timer_pending(self, timer: Timer) -> bool:
        rows = await self._read(
            "checking a timer",
            "SELECT 1 FROM timers WHERE id = ? AND claimed_by IS ?",
            (timer.id, timer.claim),
        )
        return bool(rows)

    async def finish_timer(self, timer: Timer) -> None:
        await self._write(
            "finishing a timer",
            lambda db: db.execute(
                "DELETE FROM timers WHERE id = ? AND claimed_by IS ?", (timer.id, timer.claim)
            ),
        )

    # -- the agents' queue ------------------------------------------------------------------

    async def enqueue_handoff(self, key: str, reason: str, at: datetime) -> HandoffTicket:
        def enqueue(db: Db) -> Any:
            db.execute(
                "INSERT INTO handoffs (key, status, reason, since) VALUES (?, 'waiting', ?, ?)"
                " ON CONFLICT (key) WHERE status <> 'closed' DO NOTHING",
                (key, reason, _iso(at)),
            )
            return db.execute(
                "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
                " FROM handoffs WHERE key = ? AND status <> 'closed'",
                (key,),
            ).fetchone()

        row = await self._write("queueing a handoff", enqueue)
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
            inline=False,
        )
        return [_ticket(row) for row in rows]

    async def claim_handoff(self, key: str, agent: str, at: datetime) -> HandoffTicket | None:
        def claim(db: Db) -> Any:
            row = db.execute(
                "UPDATE handoffs SET status = 'claimed', agent = ?, claimed_at = ?"
                " WHERE key = ? AND status = 'waiting'"
                " RETURNING id, key, status, reason, since, agent, claimed_at, closed_at, outcome",
                (agent, _iso(at), key),
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM timers WHERE key = ? AND kind = ?", (key, HANDOFF_RELEASE))
            return row

        row = await self._write("claiming a handoff", claim)
        return None if row is None else _ticket(row)

    async def close_handoff(
        self, key: str, outcome: str, at: datetime, *, waiting_only: bool = False
    ) -> HandoffTicket | None:
        def close(db: Db) -> Any:
            row = db.execute(
                "UPDATE handoffs SET status = 'closed', outcome = ?, closed_at = ?"
                " WHERE key = ? AND status <> 'closed' AND (NOT ? OR status = 'waiting')"
                " RETURNING id, key, status, reason, since, agent, claimed_at, closed_at, outcome",
                (outcome, _iso(at), key, waiting_only),
            ).fetchone()
            db.execute("DELETE FROM timers WHERE key = ? AND kind = ?", (key, HANDOFF_RELEASE))
            return row

        row = await self._write("closing a handoff", close)
        return None if row is None else _ticket(row)

    async def record_agent_message(self, key: str, text: str, at: datetime) -> None:
        await self._write(
            "recording an agent's message",
            lambda db: db.execute(
                "INSERT INTO transcript (key, role, text, at) VALUES (?, 'agent', ?, ?)",
                (key, text, _iso(at)),
            ),
        )

    # -- the agent console (AgentStore) ------------------------------------------------------

    async def add_agent(self, name: str, password_hash: str, at: datetime) -> bool:
        return await self._write(
            "adding an agent",
            lambda db: (
                db.execute(
                    "INSERT INTO agents (name, password_hash, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    (name, password_hash, _iso(at)),
                ).rowcount
                == 1
            ),
        )

    async def agent_password(self, name: str) -> str | None:
        rows = await self._read(
            "reading an agent", "SELECT password_hash FROM agents WHERE name = ?", (name,)
        )
        return str(rows[0][0]) if rows else None

    async def set_agent_password(self, name: str, password_hash: str) -> bool:
        return await self._write(
            "changing an agent's password",
            lambda db: (
                db.execute(
                    "UPDATE agents SET password_hash = ? WHERE name = ?", (password_hash, name)
                ).rowcount
                == 1
            ),
        )

    async def list_agents(self) -> list[AgentAccount]:
        rows = await self._read(
            "listing agents", "SELECT name, created_at FROM agents ORDER BY name", (), inline=False
        )
        return [AgentAccount(name=row[0], created_at=_parse(row[1])) for row in rows]

    async def remove_agent(self, name: str) -> bool:
        def remove(db: Db) -> bool:
            db.execute("DELETE FROM agent_sessions WHERE agent = ?", (name,))
            db.execute(RETURN_CLAIMED_SQL.replace("%s", "?"), (name,))
            return db.execute("DELETE FROM agents WHERE name = ?", (name,)).rowcount == 1

        return await self._write("removing an agent", remove)

    async def create_agent_session(
        self, token_hash: str, agent: str, at: datetime, expires_at: datetime
    ) -> None:
        def create(db: Db) -> None:
            db.execute("DELETE FROM agent_sessions WHERE expires_at <= ?", (_iso(at),))
            db.execute(
                "INSERT INTO agent_sessions (token_hash, agent, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, agent, _iso(at), _iso(expires_at)),
            )

        await self._write("recording a login", create)

    async def agent_session(self, token_hash: str, now: datetime) -> AgentSession | None:
        rows = await self._read(
            "reading a login",
            "SELECT s.agent, s.expires_at FROM agent_sessions s JOIN agents a ON a.name = s.agent"
            " WHERE s.token_hash = ? AND s.expires_at > ?",
            (token_hash, _iso(now)),
        )
        return AgentSession(agent=rows[0][0], expires_at=_parse(rows[0][1])) if rows else None

    async def end_agent_session(self, token_hash: str) -> None:
        await self._write(
            "ending a login",
            lambda db: db.execute("DELETE FROM agent_sessions WHERE token_hash = ?", (token_hash,)),
        )

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
            " FROM handoffs WHERE status <> 'closed'"
            " ORDER BY since, id LIMIT ?",
            (limit,),
            inline=False,
        )
        return [_ticket(row) for row in rows]

    # -- the inbox (InboxStore) --------------------------------------------------------------

    async def inbox_put(self, inbound: Inbound, owner: str, lease: float) -> int | None:
        now = self._clock()
        params = (
            inbound.key,
            inbound.provider_id,
            inbound_to_json(inbound),
            _iso(self._now()),
            owner,
            now + lease,
            inbound.provider_id,
        )
        # One statement (atomic on its own, no BEGIN/COMMIT): on the loop at once, like a cache
        # write; it is the only database work a webhook waits for.
        rows = await self._read("storing an accepted message", _INBOX_PUT, params)
        return int(rows[0][0]) if rows else None

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
        rows = await self._write(
            "claiming inbox entries",
            lambda db: db.execute(_INBOX_CLAIM, params).fetchall(),
            inline=False,
        )
        return sorted(
            (InboxEntry(id=row[0], inbound=inbound_from_json(row[1])) for row in rows),
            key=lambda entry: entry.id,
        )

    async def inbox_holders(self) -> list[str]:
        rows = await self._read(
            "reading inbox leases",
            "SELECT DISTINCT claimed_by FROM inbox WHERE claimed_until >= ?",
            (self._clock(),),
        )
        return sorted(str(row[0]) for row in rows)

    async def inbox_renew(self, owner: str, lease: float) -> int:
        until = self._clock() + lease
        return await self._call(
            "renewing inbox leases",
            lambda db: (
                db.execute(
                    "UPDATE inbox SET claimed_until = ? WHERE claimed_by = ?", (until, owner)
                ).rowcount
            ),
        )

    async def inbox_done(self, entry_id: int, owner: str) -> None:
        await self._call(
            "finishing an inbox entry",
            lambda db: db.execute(
                "DELETE FROM inbox WHERE id = ? AND claimed_by = ?", (entry_id, owner)
            ),
        )

    async def inbox_release(self, owner: str) -> int:
        return await self._call(
            "releasing inbox entries",
            lambda db: (
                db.execute(
                    "UPDATE inbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?",
                    (owner,),
                ).rowcount
            ),
        )

    async def inbox_pending(self) -> int:
        rows = await self._read("counting inbox entries", "SELECT count(*) FROM inbox", ())
        return int(rows[0][0])

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _load_json(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StorageError("a conversation's context in the database is not a JSON object")
    return value
