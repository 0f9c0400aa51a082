"""SQLite's one connection, the two places an operation runs on it, and the file's upkeep.

Every store operation is one synchronous function that runs all its SQL, its whole transaction
included, in one go (:meth:`Connection.call`), and it runs in one of two places:

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

A write that nobody waits on to answer a customer (the clearing of a turn's inbox entry after
its replies went out) may be handed over as a *later* write (:meth:`Connection.later`): it runs
inside the next write transaction of any operation, before that operation's own statements, or
on its own ``fold_within`` seconds after it was handed over when no write came; its caller
waits until the transaction that ran it committed. One transaction fewer per turn whenever
another write comes meanwhile (a commit is most of what a write costs SQLite: the WAL frames of
every page it dirtied, and the clear's pages are those the next write dirties again). Each
later write runs in a savepoint of its own, and the operation's own statements in another: a
failing one rolls back only itself.

Checkpoints (copying the WAL back into the file, with an fsync) would otherwise run inside
whichever commit crossed the 1000-page mark, adding milliseconds to one turn in a hundred; the
connection turns that off and checkpoints PASSIVE-ly from a second connection, in a thread of
its own, in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from bot.errors import StorageError
from bot.storage._common import DriverErrors
from bot.storage.migrations import SCHEMA_VERSION_DDL, Migration, pending
from bot.storage.queries import SQLITE, iso

__all__ = ["Connection", "Db", "transaction", "translate"]

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
Db = sqlite3.Connection

_NOT_OPEN = "the store is not open: call `await store.open()` first"


@functools.cache
def translate(what: str) -> DriverErrors:
    """sqlite3's errors in the block become :class:`StorageError` naming ``what``. Made once
    per ``what`` and reused (it keeps nothing between uses): it runs around every statement."""
    return DriverErrors("SQLite", sqlite3.Error, what)


def transaction(db: Db, body: Callable[[Db], T]) -> T:
    """Run ``body`` in one write transaction, taken at once (BEGIN IMMEDIATE) so it is atomic
    against other processes on the file too; committed when it returns, rolled back if it
    raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = body(db)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return result


@dataclass(eq=False)
class _Later:
    """A write handed over to run in the next write transaction (see the module docstring)."""

    what: str
    body: Callable[[Db], object]
    done: asyncio.Future[None]


#: what a combined write transaction says: the operation's result, the exception its own
#: statements raised (their savepoint rolled back, the later writes still committed), and each
#: later write's sqlite3 error (None: it ran)
_Ran = tuple[T, BaseException | None, list[sqlite3.Error | None]]


def _combined(db: Db, later: Sequence[_Later], body: Callable[[Db], T] | None) -> _Ran[T | None]:
    """The later writes, then ``body``, in one write transaction (see the module docstring)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        outcomes: list[sqlite3.Error | None] = []
        for each in later:
            db.execute("SAVEPOINT later")
            try:
                each.body(db)
            except sqlite3.Error as exc:
                db.execute("ROLLBACK TO later")
                outcomes.append(exc)
            else:
                outcomes.append(None)
            db.execute("RELEASE later")
        result, failed = None, None
        if body is not None:
            db.execute("SAVEPOINT own")
            try:
                result = body(db)
            except Exception as exc:  # (not a BaseException: that one rolls everything back)
                if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                    raise  # not written: the whole call is tried again in the thread
                db.execute("ROLLBACK TO own")
                failed = exc
            db.execute("RELEASE own")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return result, failed, outcomes


def _settle(later: _Later, outcome: BaseException | None) -> None:
    done = later.done
    if done.done():  # its caller gave up waiting
        return
    if outcome is None:
        done.set_result(None)
    elif isinstance(outcome, sqlite3.Error):
        error = StorageError(f"SQLite {later.what} failed: {outcome}")
        error.__cause__ = outcome
        done.set_exception(error)
    elif isinstance(outcome, asyncio.CancelledError):
        # the operation that took it was cancelled while in the thread: it may still commit
        done.set_exception(StorageError(f"SQLite {later.what}: its transaction was cancelled"))
    else:
        done.set_exception(outcome)


def _connect(path: Path, busy_timeout: float) -> Db:
    # isolation_level=None: no implicit transactions; each operation says BEGIN IMMEDIATE itself.
    # check_same_thread=False: the connection is handed between the event loop and its thread
    # here, never to both at once.
    db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
    _busy_timeout(db, busy_timeout)
    return db


def _busy_timeout(db: Db, seconds: float) -> None:
    db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def _is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds a lock the statement needed."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Connection:
    """The connection to the file at ``path``, its database thread and its checkpointer.
    ``busy_timeout`` is how long a call in the thread waits for another connection's lock."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float,
        checkpoint_every: float,
        fold_within: float = 0.01,
    ) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._checkpoint_every = checkpoint_every
        self._fold_within = fold_within
        self._later: list[_Later] = []  # later writes not yet taken by a transaction
        self._flushing: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        # The database thread, its count of calls queued or running, and the connection.
        self._thread: ThreadPoolExecutor | None = None
        self._queued = 0
        self._db: Db | None = None
        self._checkpointer: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def is_open(self) -> bool:
        return self._thread is not None

    # -- running an operation ---------------------------------------------------------------

    async def call(self, what: str, operation: Callable[[Db], T], *, inline: bool = True) -> T:
        """Run ``operation`` on the connection as one call: at once on the event loop when
        ``inline`` and nothing is queued for the thread, else (or when the file is locked by
        another connection) in the database thread. sqlite3 errors become StorageError naming
        ``what``."""
        if self._thread is None:
            raise StorageError(_NOT_OPEN)
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
            return await self.submit(self.run_waiting, operation)

    async def write(self, what: str, body: Callable[[Db], T], *, inline: bool = True) -> T:
        """``body`` as one write transaction (see :func:`transaction`), in one call, with the
        later writes handed over meanwhile (:meth:`later`) run first in it."""
        if not self._later:
            return await self.call(what, lambda db: transaction(db, body), inline=inline)
        result, failed = await self._write_with_later(what, body, inline=inline)
        if failed is not None:
            raise failed
        return result  # type: ignore[return-value]  # (body ran: its result)

    def later(self, what: str, body: Callable[[Db], object]) -> asyncio.Future[None]:
        """Hand ``body`` over as a later write (see the module docstring): done once the
        transaction that ran it committed; StorageError naming ``what`` when it failed."""
        if self._thread is None:
            raise StorageError(_NOT_OPEN)
        loop = asyncio.get_running_loop()
        later = _Later(what, body, loop.create_future())
        self._later.append(later)
        if self._flushing is None:
            self._flushing = loop.call_later(self._fold_within, self._flush_soon)
        return later.done

    def _flush_soon(self) -> None:
        self._flushing = None
        if self._later:
            task = asyncio.get_running_loop().create_task(self.flush(), name="ozbot-sqlite-later")
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def flush(self) -> None:
        """Run the later writes handed over so far, in a transaction of their own, now. Their
        failures reach their callers, not this one's."""
        if self._later:
            with contextlib.suppress(StorageError):
                await self._write_with_later("running later writes", None)

    async def _write_with_later(
        self, what: str, body: Callable[[Db], T] | None, *, inline: bool = True
    ) -> tuple[T | None, BaseException | None]:
        later, self._later = self._later, []
        if self._flushing is not None:
            self._flushing.cancel()
            self._flushing = None
        try:
            result, failed, outcomes = await self.call(
                what, lambda db: _combined(db, later, body), inline=inline
            )
        except BaseException as exc:
            # nothing committed (or, cancelled, not known yet: the thread may still run it)
            for each in later:
                _settle(each, exc)
            raise
        for each, outcome in zip(later, outcomes, strict=True):
            _settle(each, outcome)
        if isinstance(failed, sqlite3.Error):
            try:
                with translate(what):
                    raise failed
            except StorageError as exc:
                failed = exc
        return result, failed

    def submit(self, function: Callable[[A], T], arg: A) -> asyncio.Future[T]:
        """Queue ``function(arg)`` for the database thread. The count of queued calls drops
        when the call has run (not when its awaiter gives up): only then may the loop use the
        connection again."""
        thread = self._thread
        if thread is None:
            raise StorageError(_NOT_OPEN)
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

    def run_waiting(self, operation: Callable[[Db], T]) -> T:
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

    # -- life cycle -------------------------------------------------------------------------

    async def open(self, migrations: Sequence[Migration]) -> None:
        """Create the file (and its directories), set it up and migrate it. Idempotent."""
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
                await self.submit(self._open_in_thread, tuple(migrations))
        except BaseException:
            thread, self._thread = self._thread, None
            thread.shutdown(wait=False)
            raise
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint, name="ozbot-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _open_in_thread(self, migrations: Sequence[Migration]) -> None:
        db = _connect(self.path, self._busy_timeout)
        try:
            # WAL lets readers in other processes work beside the writer; NORMAL syncs at
            # checkpoints only (a power cut may lose the last turns, never corrupt the file).
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA temp_store = MEMORY")
            db.execute("PRAGMA wal_autocheckpoint = 0")  # see the module docstring
            db.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
            # BEGIN IMMEDIATE takes the write lock first: a second process opening the same
            # file waits (busy_timeout) and then finds the work done.
            transaction(db, lambda db: self._migrate(db, migrations))
            _busy_timeout(db, 0)  # see call()
        except BaseException:
            db.close()
            raise
        self._db = db

    def _migrate(self, db: Db, migrations: Sequence[Migration]) -> None:
        db.execute(SCHEMA_VERSION_DDL["sqlite"])
        row = db.execute(SQLITE.schema_version).fetchone()
        current = int(row[0]) if row else 0
        if current > len(migrations):
            raise StorageError(
                f"{self.path} has schema version {current}, newer than this ozbot knows "
                f"({len(migrations)}): upgrade ozbot"
            )
        for version, name, sqls in pending(migrations, current, "sqlite"):
            for statement in sqls:
                db.execute(statement)
            db.execute(SQLITE.record_version, (version, name, iso(datetime.now(UTC))))
            log.info("sqlite schema migrated to version %d (%s)", version, name)

    async def close(self) -> None:
        """Run the later writes handed over, stop checkpointing, let the calls still queued
        finish, close. Idempotent."""
        if self._thread is not None:
            await self.flush()
            if self._flushes:
                await asyncio.gather(*self._flushes, return_exceptions=True)
        if self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            self._stop.set()
            await asyncio.to_thread(checkpointer.join)
        if self._thread is not None:
            try:
                # Queued behind any call still pending, so those finish first.
                with translate("closing"):
                    await self.submit(self._close_in_thread, None)
            finally:
                thread, self._thread = self._thread, None
                thread.shutdown(wait=False)

    def _close_in_thread(self, _: None) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

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
