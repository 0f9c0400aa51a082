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
from typing import TypeVar

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import LockTimeout, StorageError
from bot.messages import Inbound
from bot.storage._common import DriverErrors, KeyedLocks, masked_key
from bot.storage.inbox import InboxEntry, inbound_from_json, inbound_to_json
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION_DDL, Migration, pending
from bot.storage.queries import (
    CONVERSATION_COLUMNS,
    CONVERSATION_UPSERT,
    SQLITE,
    TIMER_COLUMNS,
    Row,
    conversation_values,
    iso,
    timer,
)
from bot.storage.shared import Params, SqlStore, Transaction
from bot.storage.timers import Timer

__all__ = ["SqliteStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
Db = sqlite3.Connection

_SAVE_CONVERSATION = (
    f"INSERT INTO conversations ({CONVERSATION_COLUMNS})"  # noqa: S608 - constants only
    f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {CONVERSATION_UPSERT}"
)
_RECORD_MESSAGE = (
    "INSERT INTO processed_messages (provider_id, key, at) VALUES (?, ?, ?)"
    " ON CONFLICT (provider_id) DO NOTHING"
)
_APPEND_LINE = "INSERT INTO transcript (key, role, text, at) VALUES (?, ?, ?, ?)"

# Take the lease when absent, or when the holder let it expire (a dead process). A row of our
# own is a lease an interrupted take left behind: the in-process lock already makes us its
# rightful holder.
_TAKE_LEASE = """
INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE locks.expires_at < ? OR locks.owner = excluded.owner
"""


_CLAIM_TIMERS = (
    "UPDATE timers SET claimed_by = ?, claimed_until = ? WHERE id IN ("  # noqa: S608
    " SELECT id FROM timers WHERE due_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)"
    f" ORDER BY due_at, id LIMIT ?) RETURNING {TIMER_COLUMNS}"
)

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


class SqliteStore(SqlStore):
    """The Store port on a SQLite file at ``path`` (parent directories are created).

    ``clock`` gives epoch seconds for cache expiry (tests pass one they control). ``lease`` is
    how long another process must wait before taking over a lock whose holder died. Every
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

    # -- the shared statements' ways to run (see bot.storage.shared) ------------------------

    async def _fetch(
        self, what: str, statement: str, params: Params, *, bulk: bool = False
    ) -> list[Row]:
        return await self._call(
            what, lambda db: db.execute(statement, params).fetchall(), inline=not bulk
        )

    async def _count(self, what: str, statement: str, params: Params) -> int:
        return await self._call(what, lambda db: db.execute(statement, params).rowcount)

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

        return await self._write(what, run, inline=not bulk)

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
            row = db.execute(SQLITE.schema_version).fetchone()
            current = int(row[0]) if row else 0
            if current > len(self._migrations):
                raise StorageError(
                    f"{self.path} has schema version {current}, newer than this ozbot knows "
                    f"({len(self._migrations)}): upgrade ozbot"
                )
            for version, name, sqls in pending(self._migrations, current, "sqlite"):
                for statement in sqls:
                    db.execute(statement)
                db.execute(SQLITE.record_version, (version, name, iso(datetime.now(UTC))))
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

    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
    ) -> bool:
        c = conversation
        values = conversation_values(c, iso)
        lines = [(c.key, entry.role, entry.text, iso(entry.at)) for entry in transcript]
        message = None if provider_id is None else (provider_id, c.key, iso(self._now()))

        def commit(db: Db) -> None:
            if message is not None and db.execute(_RECORD_MESSAGE, message).rowcount == 0:
                raise _Duplicate
            db.execute(_SAVE_CONVERSATION, values)
            if lines:
                db.executemany(_APPEND_LINE, lines)

        try:
            await self._write("committing a turn", commit)
        except _Duplicate:
            return False
        return True

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
        steps = [(kind, None if due is None else iso(due)) for kind, due in plan.items()]

        def schedule(db: Db) -> None:
            for kind, due in steps:
                if due is None:
                    db.execute(SQLITE.cancel_timer, (key, kind))
                else:
                    db.execute(SQLITE.schedule_timer, (key, kind, due))

        await self._write("scheduling timers", schedule)

    async def claim_timers(self, now: datetime, *, limit: int, lease: float) -> list[Timer]:
        claim = uuid.uuid4().hex
        until = iso(now + timedelta(seconds=lease))
        at = iso(now)
        # One statement, atomic on its own: a runner in another process claims other rows.
        claimed = await self._fetch(
            "claiming timers", _CLAIM_TIMERS, (claim, until, at, at, limit), bulk=True
        )
        return sorted(map(timer, claimed), key=lambda t: (t.due_at, t.id))

    # -- the inbox (InboxStore) --------------------------------------------------------------

    async def inbox_put(self, inbound: Inbound, owner: str, lease: float) -> int | None:
        now = self._clock()
        params = (
            inbound.key,
            inbound.provider_id,
            inbound_to_json(inbound),
            iso(self._now()),
            owner,
            now + lease,
            inbound.provider_id,
        )
        # One statement (atomic on its own, no BEGIN/COMMIT): on the loop at once, like a cache
        # write; it is the only database work a webhook waits for.
        stored = await self._fetch("storing an accepted message", _INBOX_PUT, params)
        return int(stored[0][0]) if stored else None

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

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
