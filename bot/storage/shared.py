"""The store methods whose SQL both databases share, written once over three ways to run it.

:class:`SqlStore` implements every method of the port that is the same statements on SQLite and
PostgreSQL (:mod:`bot.storage.queries`), on top of what each adapter provides:

* :meth:`SqlStore._fetch`: one statement (atomic on its own), its rows;
* :meth:`SqlStore._count`: one statement, how many rows it changed;
* :meth:`SqlStore._transact`: several statements in one transaction, written as a
  :data:`Transaction`: a generator that yields each statement with its parameters, is sent back
  that statement's rows, and returns the transaction's result. Written this way, one body serves
  both databases: SQLite runs it in one synchronous call (on the loop or in its database
  thread), PostgreSQL statement by statement on one connection inside ``conn.transaction()``.

A write a holder of a conversation's lock makes besides its turn's commit (a handoff closed or
queued, an agent's line, a timer plan) is fenced by the lease like the commit
(:meth:`SqlStore._transact_fenced`): its transaction first moves the lease's count on, and
writes nothing (:class:`bot.storage.locks.LeaseLost`) once the lease is another process's.

The adapters keep the rest: their connections, their locks, and the operations one database runs
its own way (``commit_turn``, the timer plan, the claims, the cache erasure, the inbox's put,
the outbox's overdue rows).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from bot.conversation import Conversation, TranscriptEntry
from bot.storage import queries as rows
from bot.storage.agents import AgentAccount, AgentSession
from bot.storage.base import Store
from bot.storage.handoffs import HANDOFF_RELEASE, HandoffTicket
from bot.storage.leases import LeaseLocks
from bot.storage.locks import Held, LeaseLost
from bot.storage.outbox import Outgoing
from bot.storage.queries import Queries, Row
from bot.storage.security import Attempts
from bot.storage.timers import Timer

__all__ = ["Params", "SqlStore", "Step", "Transaction"]

T = TypeVar("T")

#: positional parameters, or named ones (``:name`` in SQLite, ``%(name)s`` in psycopg)
Params = Sequence[Any] | Mapping[str, Any]
#: one statement of a transaction, with its parameters
Step = tuple[str, Params]
#: a transaction's body: yields each :data:`Step`, is sent its rows, returns the result
Transaction = Generator[Step, list[Row], T]


def each(statements: Sequence[str], params: Params) -> Transaction[None]:
    """The statements one after the other, all with the same parameters."""
    for statement in statements:
        yield statement, params


class SqlStore(Store):
    """The shared part of both adapters. ``queries`` is the adapter's database's SQL;
    ``_clock`` its clock (epoch seconds) for cache expiry and inbox leases."""

    queries: ClassVar[Queries]
    _clock: Callable[[], float]
    _locks: LeaseLocks

    # -- what each adapter provides ---------------------------------------------------------

    @abstractmethod
    async def _fetch(
        self, what: str, statement: str, params: Params, *, bulk: bool = False
    ) -> list[Row]:
        """Run one statement and return its rows. ``bulk``: it may read or touch many rows
        (SQLite runs those in its database thread, off the event loop). Driver errors become
        StorageError naming ``what``."""

    @abstractmethod
    async def _count(self, what: str, statement: str, params: Params) -> int:
        """Run one statement that changes rows; how many it changed."""

    @abstractmethod
    async def _transact(
        self, what: str, body: Callable[[], Transaction[T]], *, bulk: bool = False
    ) -> T:
        """Run the transaction ``body()`` builds, committed when it returns, rolled back if it
        raises. ``body`` is called for each attempt (SQLite tries again in its thread when the
        file was busy before anything was written)."""

    async def _transact_fenced(self, what: str, key: str, body: Callable[[], Transaction[T]]) -> T:
        """:meth:`_transact`, fenced by our lease of ``key`` when this store holds its lock:
        the transaction first moves the lease's count on, and raises :class:`LeaseLost`
        (nothing written) when the lease is no longer ours. Unfenced otherwise."""
        leases = self._locks
        turn = leases.fence(key)
        if turn is None:
            return await self._transact(what, body)
        moved: list[int] = []

        def fenced() -> Transaction[T]:
            found = yield leases.fence_statement(key, turn)
            if not found:
                raise LeaseLost(f"the conversation's lock was taken over: {what} did not happen")
            moved[:] = [int(found[0][0])]
            return (yield from body())

        since = time.monotonic()
        result = await self._transact(what, fenced)
        leases.fenced(key, moved[0], since)
        return result

    # -- conversations and turns -----------------------------------------------------------

    async def load(self, key: str) -> Conversation | None:
        found = await self._fetch("loading a conversation", self.queries.load, (key,))
        return rows.conversation(found[0]) if found else None

    async def seen(self, provider_id: str) -> bool:
        found = await self._fetch("checking a message id", self.queries.seen, (provider_id,))
        return bool(found)

    async def seen_and_load(
        self, key: str, provider_id: str | None
    ) -> tuple[bool, Conversation | None]:
        found = await self._fetch(
            "loading a conversation", self.queries.seen_and_load, (provider_id, key)
        )
        row = found[0]
        return bool(row[0]), rows.conversation(row[1:]) if row[1] is not None else None

    async def transcript(self, key: str, limit: int | None = None) -> list[TranscriptEntry]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        q = self.queries
        params: Params
        if limit is None:
            statement, params = q.transcript, (key,)
        else:
            statement, params = q.transcript_last, (key, limit)
        found = await self._fetch("reading a transcript", statement, params, bulk=True)
        return [rows.entry(row) for row in found]

    async def forget(self, key: str) -> None:
        await self._transact(
            "forgetting a conversation", lambda: each(self.queries.forget, (key,)), bulk=True
        )

    async def record_agent_message(self, key: str, text: str, at: datetime) -> None:
        q = self.queries
        line = (key, text, q.time(at))
        if self._locks.fence(key) is None:  # one statement, no transaction around it
            await self._count("recording an agent's message", q.agent_line, line)
            return

        def record() -> Transaction[None]:
            yield q.agent_line, line

        await self._transact_fenced("recording an agent's message", key, record)

    # -- cache ------------------------------------------------------------------------------

    async def cache_get(self, namespace: str, key: str) -> str | None:
        found = await self._fetch(
            "reading the cache", self.queries.cache_get, (namespace, key, self._clock())
        )
        return str(found[0][0]) if found else None

    async def cache_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        await self._count(
            "writing the cache",
            self.queries.cache_put,
            (namespace, key, value, self._clock() + ttl),
        )

    # -- counters ---------------------------------------------------------------------------

    async def next_value(self, name: str) -> int:
        found = await self._fetch("counting", self.queries.next_value, (name,))
        return int(found[0][0])

    # -- timers -----------------------------------------------------------------------------

    async def pending_timers(self, key: str) -> list[Timer]:
        found = await self._fetch("reading timers", self.queries.pending_timers, (key,))
        return [rows.timer(row) for row in found]

    async def due_timers(self, now: datetime) -> int:
        found = await self._fetch(
            "counting due timers", self.queries.due_timers, (self.queries.time(now),)
        )
        return int(found[0][0])

    async def timer_pending(self, timer: Timer) -> bool:
        found = await self._fetch(
            "checking a timer", self.queries.timer_pending, (timer.id, timer.claim)
        )
        return bool(found)

    async def finish_timer(self, timer: Timer) -> None:
        await self._count("finishing a timer", self.queries.finish_timer, (timer.id, timer.claim))

    # -- the agents' queue ------------------------------------------------------------------

    async def enqueue_handoff(self, key: str, reason: str, at: datetime) -> HandoffTicket:
        q = self.queries

        def enqueue() -> Transaction[HandoffTicket]:
            yield q.enqueue_handoff, (key, reason, q.time(at))
            [row] = yield q.open_handoff, (key,)  # just inserted, or the one that prevented it
            return rows.ticket(row)

        return await self._transact_fenced("queueing a handoff", key, enqueue)

    async def open_handoff(self, key: str) -> HandoffTicket | None:
        found = await self._fetch("reading a handoff", self.queries.open_handoff, (key,))
        return rows.ticket(found[0]) if found else None

    async def waiting_handoffs(self, limit: int = 100) -> list[HandoffTicket]:
        found = await self._fetch(
            "reading the queue", self.queries.waiting_handoffs, (limit,), bulk=True
        )
        return [rows.ticket(row) for row in found]

    async def claim_handoff(self, key: str, agent: str, at: datetime) -> HandoffTicket | None:
        q = self.queries

        def claim() -> Transaction[HandoffTicket | None]:
            claimed = yield q.claim_handoff, (agent, q.time(at), key)
            if not claimed:
                return None
            yield q.cancel_timer, (key, HANDOFF_RELEASE)  # nobody need give it back now
            return rows.ticket(claimed[0])

        return await self._transact("claiming a handoff", claim)

    async def close_handoff(
        self,
        key: str,
        outcome: str,
        at: datetime,
        *,
        waiting_only: bool = False,
        keep_release: bool = False,
    ) -> HandoffTicket | None:
        q = self.queries

        def close() -> Transaction[HandoffTicket | None]:
            closed = yield q.close_handoff, (outcome, q.time(at), key, waiting_only)
            if not keep_release:
                yield q.cancel_timer, (key, HANDOFF_RELEASE)
            return rows.ticket(closed[0]) if closed else None

        return await self._transact_fenced("closing a handoff", key, close)

    async def handoff(self, ticket_id: int) -> HandoffTicket | None:
        found = await self._fetch("reading a handoff", self.queries.handoff, (ticket_id,))
        return rows.ticket(found[0]) if found else None

    async def open_handoffs(self, limit: int = 200) -> list[HandoffTicket]:
        found = await self._fetch(
            "reading the queue", self.queries.open_handoffs, (limit,), bulk=True
        )
        return [rows.ticket(row) for row in found]

    # -- agents' accounts and sessions ------------------------------------------------------

    async def add_agent(self, name: str, password_hash: str, at: datetime) -> bool:
        q = self.queries
        added = await self._count("adding an agent", q.add_agent, (name, password_hash, q.time(at)))
        return added == 1

    async def agent_password(self, name: str) -> str | None:
        found = await self._fetch("reading an agent", self.queries.agent_password, (name,))
        return str(found[0][0]) if found else None

    async def set_agent_password(self, name: str, password_hash: str) -> bool:
        changed = await self._count(
            "changing an agent's password", self.queries.set_agent_password, (password_hash, name)
        )
        return changed == 1

    async def list_agents(self) -> list[AgentAccount]:
        found = await self._fetch("listing agents", self.queries.list_agents, (), bulk=True)
        return [rows.account(row) for row in found]

    async def remove_agent(self, name: str) -> bool:
        q = self.queries

        def remove() -> Transaction[bool]:
            sessions, held, account = q.remove_agent
            yield sessions, (name,)
            yield held, (name,)
            removed = yield account, (name,)
            return bool(removed)

        return await self._transact("removing an agent", remove)

    async def create_agent_session(
        self, token_hash: str, agent: str, at: datetime, expires_at: datetime
    ) -> None:
        q = self.queries

        def create() -> Transaction[None]:
            yield q.drop_ended_sessions, (q.time(at),)
            yield q.create_session, (token_hash, agent, q.time(at), q.time(expires_at))

        await self._transact("recording a login", create)

    async def agent_session(self, token_hash: str, now: datetime) -> AgentSession | None:
        q = self.queries
        found = await self._fetch("reading a login", q.agent_session, (token_hash, q.time(now)))
        return rows.session(found[0]) if found else None

    async def end_agent_session(self, token_hash: str) -> None:
        await self._count("ending a login", self.queries.end_session, (token_hash,))

    # -- the login throttle and shared secrets ----------------------------------------------

    async def count_attempt(self, key: str, window: float) -> Attempts:
        now = self._clock()
        found = await self._fetch(
            "counting a login attempt", self.queries.count_attempt, (key, now + window, now, now)
        )
        count, until = found[0]
        return Attempts(count=int(count), retry_after=max(0.0, float(until) - now))

    async def uncount_attempt(self, key: str) -> None:
        await self._count("taking a login attempt back", self.queries.uncount_attempt, (key,))

    async def clear_attempts(self, key: str) -> None:
        await self._count("clearing login attempts", self.queries.clear_attempts, (key,))

    async def shared_secret(self, name: str, candidate: str) -> str:
        found = await self._fetch(
            "reading a shared secret", self.queries.shared_value, (name, candidate)
        )
        return str(found[0][0])

    # -- pruning ----------------------------------------------------------------------------

    async def prune(
        self, *, messages_before: datetime, now: datetime, batch: int = 1000
    ) -> dict[str, int]:
        q = self.queries
        epoch = now.timestamp()  # the cache's and the throttle's clock
        plan = (
            ("message_ids", q.prune_message_ids, q.time(messages_before)),
            ("cache", q.prune_cache, epoch),
            ("agent_sessions", q.prune_agent_sessions, q.time(now)),
            ("login_attempts", q.prune_login_attempts, epoch),
        )
        pruned: dict[str, int] = {}
        for kind, statement, bound in plan:
            pruned[kind] = 0
            while True:
                gone = await self._count(f"pruning {kind}", statement, (bound, batch))
                pruned[kind] += gone
                if gone < batch:
                    break
        return pruned

    # -- the inbox --------------------------------------------------------------------------

    async def inbox_holders(self) -> list[str]:
        found = await self._fetch(
            "reading inbox leases", self.queries.inbox_holders, (self._clock(),)
        )
        return sorted(str(row[0]) for row in found)

    async def inbox_renew(self, owner: str, lease: float) -> int:
        return await self._count(
            "renewing inbox leases", self.queries.inbox_renew, (self._clock() + lease, owner)
        )

    async def inbox_done(
        self, entry_id: int, owner: str, sent: str | None = None, *, held: Held | None = None
    ) -> None:
        # (the adapters finish an entry with its lock in one statement; this is the plain part)
        if held is not None:
            try:
                await self.inbox_done(entry_id, owner, sent)
            finally:
                await self.release(held)
            return
        q = self.queries
        if sent is None:
            await self._count("finishing an inbox entry", q.inbox_done, (entry_id, owner))
            return

        def both() -> Transaction[None]:
            yield q.outbox_sent, (sent,)
            yield q.inbox_done, (entry_id, owner)

        await self._transact("finishing an inbox entry", both)

    async def inbox_release(self, owner: str) -> int:
        return await self._count("releasing inbox entries", self.queries.inbox_release, (owner,))

    async def inbox_pending(self) -> int:
        found = await self._fetch("counting inbox entries", self.queries.inbox_pending, ())
        return int(found[0][0])

    async def inbox_first(self, key: str) -> int | None:
        q = self.queries
        found = await self._fetch("reading a conversation's inbox", q.inbox_first, (key,))
        return None if not found or found[0][0] is None else int(found[0][0])

    # -- the outbox -------------------------------------------------------------------------

    async def outbox_pending(self, key: str) -> list[Outgoing]:
        found = await self._fetch("reading unsent replies", self.queries.outbox_pending, (key,))
        return [rows.outgoing(row) for row in found]

    async def outbox_sent(self, token: str) -> None:
        await self._count("clearing sent replies", self.queries.outbox_sent, (token,))

    async def outbox_retry(self, token: str, after: float) -> None:
        await self._count(
            "postponing replies", self.queries.outbox_retry, (self._clock() + after, token)
        )

    async def outbox_holders(self) -> list[str]:
        found = await self._fetch(
            "reading outbox leases", self.queries.outbox_holders, (self._clock(),)
        )
        return sorted(str(row[0]) for row in found)

    async def outbox_backlog(self) -> int:
        found = await self._fetch("counting unsent replies", self.queries.outbox_backlog, ())
        return int(found[0][0])

    # -- the schema -------------------------------------------------------------------------

    async def schema_version(self) -> int:
        found = await self._fetch(
            "reading schema_version", self.queries.schema_version, (), bulk=True
        )
        return int(found[0][0])
