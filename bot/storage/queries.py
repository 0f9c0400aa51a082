"""The SQL both stores run, written once: the statements, their column lists and the row mappers.

Statements are written in SQLite's placeholder style (``?``) and converted once, at import, to
psycopg's (``%s``) for PostgreSQL by :func:`to_pyformat`; the few that PostgreSQL spells
otherwise are given for it alone where :data:`POSTGRES` is built. Each database's
:class:`Queries` also says how it takes a time as a parameter: SQLite keeps times as ISO-8601
UTC text (which sorts chronologically), PostgreSQL as ``timestamptz``. Reading needs no such
switch: :func:`read_time` and :func:`read_json` take what either database hands back.

Only what both databases run the same way lives here. What one of them does its own way stays
in its adapter: SQLite's lease rows, PostgreSQL's one-statement ``commit_turn`` and
``SKIP LOCKED`` claims, each one's timer plan and cache erasure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import StorageError
from bot.storage._common import dump_context, to_utc
from bot.storage.agents import AgentAccount, AgentSession
from bot.storage.handoffs import HandoffTicket
from bot.storage.outbox import Outgoing, replies_from_json, replies_to_json
from bot.storage.timers import Timer

__all__ = [
    "CONVERSATION_COLUMNS",
    "CONVERSATION_UPSERT",
    "OUTBOX_COLUMNS",
    "POSTGRES",
    "SQLITE",
    "TICKET_COLUMNS",
    "TIMER_COLUMNS",
    "Queries",
    "Row",
    "account",
    "conversation",
    "conversation_values",
    "entry",
    "iso",
    "outgoing",
    "outgoing_values",
    "read_json",
    "read_time",
    "session",
    "ticket",
    "timer",
    "to_pyformat",
]

#: a row as both drivers hand it back
Row = tuple[Any, ...]

# -- column lists, in the order the mappers below read them -------------------------------------

_CONVERSATION_FIELDS = (
    "key",
    "channel",
    "contact",
    "flow",
    "state",
    "language",
    "context",
    "failures",
    "created_at",
    "updated_at",
)
CONVERSATION_COLUMNS = ", ".join(_CONVERSATION_FIELDS)
#: what saving a conversation over its older self sets: every column but the key
CONVERSATION_UPSERT = "ON CONFLICT (key) DO UPDATE SET " + ", ".join(
    f"{name} = excluded.{name}" for name in _CONVERSATION_FIELDS[1:]
)
TICKET_COLUMNS = "id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
TIMER_COLUMNS = "id, key, kind, due_at, claimed_by"
#: what a turn's commit writes into the outbox, in :func:`outgoing_values`' order
OUTBOX_COLUMNS = "token, key, channel, contact, replies, created_at, claimed_by, claimed_until"


# -- reading rows --------------------------------------------------------------------------------


def read_time(value: Any) -> datetime:
    """A time as either database hands it back (ISO text from SQLite, an aware datetime from
    PostgreSQL), in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise StorageError(f"a time in the database is not a time: {value!r}")
    return moment.astimezone(UTC)


def _maybe_time(value: Any) -> datetime | None:
    return None if value is None else read_time(value)


def read_json(value: Any) -> dict[str, Any]:
    """A conversation's context as either database hands it back (text from SQLite, ``jsonb``
    already parsed by psycopg)."""
    data = json.loads(value) if isinstance(value, str) else value
    if not isinstance(data, dict):
        raise StorageError("a conversation's context in the database is not a JSON object")
    return data


def conversation(row: Row) -> Conversation:
    """A row of :data:`CONVERSATION_COLUMNS`."""
    return Conversation(
        key=row[0],
        channel=row[1],
        contact=row[2],
        flow=row[3],
        state=row[4],
        language=row[5],
        context=read_json(row[6]),
        failures=row[7],
        created_at=read_time(row[8]),
        updated_at=read_time(row[9]),
    )


def entry(row: Row) -> TranscriptEntry:
    """A row of ``role, text, at``."""
    return TranscriptEntry(role=row[0], text=row[1], at=read_time(row[2]))


def ticket(row: Row) -> HandoffTicket:
    """A row of :data:`TICKET_COLUMNS`."""
    return HandoffTicket(
        id=row[0],
        key=row[1],
        status=row[2],
        reason=row[3],
        since=read_time(row[4]),
        agent=row[5],
        claimed_at=_maybe_time(row[6]),
        closed_at=_maybe_time(row[7]),
        outcome=row[8],
    )


def outgoing(row: Row) -> Outgoing:
    """A row of ``token, key, channel, contact, replies, claimed_by, attempts``."""
    return Outgoing(
        token=row[0],
        key=row[1],
        channel=row[2],
        contact=row[3],
        replies=replies_from_json(row[4]),
        owner=row[5],
        lease=0.0,
        attempts=int(row[6]),
    )


def timer(row: Row) -> Timer:
    """A row of :data:`TIMER_COLUMNS`."""
    return Timer(id=row[0], key=row[1], kind=row[2], due_at=read_time(row[3]), claim=row[4])


def account(row: Row) -> AgentAccount:
    """A row of ``name, created_at``."""
    return AgentAccount(name=row[0], created_at=read_time(row[1]))


def session(row: Row) -> AgentSession:
    """A row of ``agent, expires_at``."""
    return AgentSession(agent=row[0], expires_at=read_time(row[1]))


# -- writing values ------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """A time as SQLite keeps it: ISO-8601 text in UTC, to the microsecond."""
    return to_utc(moment).isoformat(timespec="microseconds")


def conversation_values(c: Conversation, time: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """``c`` as parameters for :data:`CONVERSATION_COLUMNS`, its times written by ``time``
    (the context as JSON text: PostgreSQL casts it to ``jsonb``)."""
    return (
        c.key,
        c.channel,
        c.contact,
        c.flow,
        c.state,
        c.language,
        dump_context(c.context),
        c.failures,
        time(c.created_at),
        time(c.updated_at),
    )


def outgoing_values(o: Outgoing, now: float, time: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """``o`` as parameters for :data:`OUTBOX_COLUMNS`, at ``now`` (the store's epoch seconds;
    the replies as JSON text: PostgreSQL casts them to ``jsonb``)."""
    created = datetime.fromtimestamp(now, UTC)
    return (
        o.token,
        o.key,
        o.channel,
        o.contact,
        replies_to_json(o.replies),
        time(created),
        o.owner,
        now + o.lease,
    )


# -- the statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queries:
    """The statements both stores share, for one database, and how it takes a time."""

    #: a datetime as this database takes it as a parameter
    time: Callable[[datetime], Any]

    # conversations and turns
    load: str = f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE key = ?"  # noqa: S608
    seen: str = "SELECT 1 FROM processed_messages WHERE provider_id = ?"
    #: seen and load in one statement: always one row, the conversation's columns NULL when
    #: there is none
    seen_and_load: str = (
        "SELECT EXISTS (SELECT 1 FROM processed_messages WHERE provider_id = ?), "  # noqa: S608
        + ", ".join(f"c.{name}" for name in _CONVERSATION_FIELDS)
        + " FROM (SELECT 1) AS one LEFT JOIN conversations AS c ON c.key = ?"
    )
    transcript: str = "SELECT role, text, at FROM transcript WHERE key = ? ORDER BY id"
    transcript_last: str = (
        "SELECT role, text, at FROM (SELECT id, role, text, at FROM transcript"
        " WHERE key = ? ORDER BY id DESC LIMIT ?) AS last ORDER BY id"
    )
    #: erasure, in one transaction; the message ids stay (a redelivered webhook is still a
    #: duplicate), no longer tied to the conversation
    forget: tuple[str, ...] = (
        "DELETE FROM conversations WHERE key = ?",
        "DELETE FROM transcript WHERE key = ?",
        "DELETE FROM timers WHERE key = ?",
        "DELETE FROM handoffs WHERE key = ?",
        "DELETE FROM outbox WHERE key = ?",
        "UPDATE processed_messages SET key = NULL WHERE key = ?",
    )
    agent_line: str = "INSERT INTO transcript (key, role, text, at) VALUES (?, 'agent', ?, ?)"

    # cache
    cache_get: str = "SELECT value FROM cache WHERE namespace = ? AND key = ? AND expires_at > ?"
    cache_put: str = (
        "INSERT INTO cache (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
        " expires_at = excluded.expires_at"
    )

    # counters: one atomic statement, so concurrent callers never get the same value
    next_value: str = (
        "INSERT INTO counters (name, value) VALUES (?, 1)"
        " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
    )

    # the login throttle and shared secrets (bot/storage/security.py): each one statement, so
    # concurrent callers never both pass (parameters: key, until, now, now)
    count_attempt: str = (
        "INSERT INTO login_attempts (key, attempts, until) VALUES (?, 1, ?)"
        " ON CONFLICT (key) DO UPDATE SET"
        " attempts = CASE WHEN login_attempts.until <= ? THEN 1"
        " ELSE login_attempts.attempts + 1 END,"
        " until = CASE WHEN login_attempts.until <= ? THEN excluded.until"
        " ELSE login_attempts.until END"
        " RETURNING attempts, until"
    )
    uncount_attempt: str = (
        "UPDATE login_attempts SET attempts = attempts - 1 WHERE key = ? AND attempts > 0"
    )
    clear_attempts: str = "DELETE FROM login_attempts WHERE key = ?"
    #: the no-op update makes RETURNING give the row that was there first
    shared_value: str = (
        "INSERT INTO secrets (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING value"
    )

    # pruning (bot/storage/pruning.py), a batch at a time; parameters: the bound, the batch size
    prune_message_ids: str = (
        "DELETE FROM processed_messages WHERE provider_id IN"
        " (SELECT provider_id FROM processed_messages WHERE at < ? LIMIT ?)"
    )
    prune_cache: str = (
        "DELETE FROM cache WHERE (namespace, key) IN"
        " (SELECT namespace, key FROM cache WHERE expires_at <= ? LIMIT ?)"
    )
    prune_agent_sessions: str = (
        "DELETE FROM agent_sessions WHERE token_hash IN"
        " (SELECT token_hash FROM agent_sessions WHERE expires_at <= ? LIMIT ?)"
    )
    prune_login_attempts: str = (
        "DELETE FROM login_attempts WHERE key IN"
        " (SELECT key FROM login_attempts WHERE until <= ? LIMIT ?)"
    )

    # timers
    pending_timers: str = f"SELECT {TIMER_COLUMNS} FROM timers WHERE key = ? ORDER BY due_at, id"  # noqa: S608
    #: (a NULL claim matches a NULL claim)
    due_timers: str = "SELECT count(*) FROM timers WHERE due_at <= ?"
    timer_pending: str = "SELECT 1 FROM timers WHERE id = ? AND claimed_by IS ?"
    finish_timer: str = "DELETE FROM timers WHERE id = ? AND claimed_by IS ?"
    schedule_timer: str = (
        "INSERT INTO timers (key, kind, due_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key, kind) DO UPDATE SET due_at = excluded.due_at,"
        " claimed_by = NULL, claimed_until = NULL"
    )
    cancel_timer: str = "DELETE FROM timers WHERE key = ? AND kind = ?"

    # the agents' queue
    enqueue_handoff: str = (
        "INSERT INTO handoffs (key, status, reason, since) VALUES (?, 'waiting', ?, ?)"
        " ON CONFLICT (key) WHERE status <> 'closed' DO NOTHING"
    )
    open_handoff: str = (
        f"SELECT {TICKET_COLUMNS} FROM handoffs WHERE key = ? AND status <> 'closed'"  # noqa: S608
    )
    waiting_handoffs: str = (
        f"SELECT {TICKET_COLUMNS} FROM handoffs WHERE status = 'waiting'"  # noqa: S608
        " ORDER BY since, id LIMIT ?"
    )
    open_handoffs: str = (
        f"SELECT {TICKET_COLUMNS} FROM handoffs WHERE status <> 'closed'"  # noqa: S608
        " ORDER BY since, id LIMIT ?"
    )
    handoff: str = f"SELECT {TICKET_COLUMNS} FROM handoffs WHERE id = ?"  # noqa: S608
    claim_handoff: str = (
        "UPDATE handoffs SET status = 'claimed', agent = ?, claimed_at = ?"  # noqa: S608
        f" WHERE key = ? AND status = 'waiting' RETURNING {TICKET_COLUMNS}"
    )
    #: the last parameter is "waiting only": then a claimed ticket is left alone
    close_handoff: str = (
        "UPDATE handoffs SET status = 'closed', outcome = ?, closed_at = ?"  # noqa: S608
        " WHERE key = ? AND status <> 'closed' AND (NOT ? OR status = 'waiting')"
        f" RETURNING {TICKET_COLUMNS}"
    )

    # agents' accounts and sessions
    add_agent: str = (
        "INSERT INTO agents (name, password_hash, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING"
    )
    agent_password: str = "SELECT password_hash FROM agents WHERE name = ?"  # noqa: S105 - SQL
    set_agent_password: str = "UPDATE agents SET password_hash = ? WHERE name = ?"  # noqa: S105
    list_agents: str = "SELECT name, created_at FROM agents ORDER BY name"
    #: in one transaction: the sessions end, the conversations the agent held go back to the
    #: queue unclaimed (nobody else may act on them), the account goes
    remove_agent: tuple[str, ...] = (
        "DELETE FROM agent_sessions WHERE agent = ?",
        "UPDATE handoffs SET status = 'waiting', agent = NULL, claimed_at = NULL"
        " WHERE agent = ? AND status = 'claimed'",
        "DELETE FROM agents WHERE name = ? RETURNING name",
    )
    drop_ended_sessions: str = "DELETE FROM agent_sessions WHERE expires_at <= ?"
    create_session: str = (
        "INSERT INTO agent_sessions (token_hash, agent, created_at, expires_at) VALUES (?, ?, ?, ?)"
    )
    agent_session: str = (
        "SELECT s.agent, s.expires_at FROM agent_sessions s JOIN agents a ON a.name = s.agent"
        " WHERE s.token_hash = ? AND s.expires_at > ?"
    )
    end_session: str = "DELETE FROM agent_sessions WHERE token_hash = ?"

    # the inbox
    inbox_holders: str = "SELECT DISTINCT claimed_by FROM inbox WHERE claimed_until >= ?"
    inbox_renew: str = "UPDATE inbox SET claimed_until = ? WHERE claimed_by = ?"
    inbox_done: str = "DELETE FROM inbox WHERE id = ? AND claimed_by = ?"
    inbox_release: str = (
        "UPDATE inbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?"
    )
    inbox_pending: str = "SELECT count(*) FROM inbox"
    inbox_first: str = "SELECT min(id) FROM inbox WHERE key = ?"
    #: the earliest entry of a conversation before a given one (key, id)
    inbox_before: str = "SELECT min(id) FROM inbox WHERE key = ? AND id < ?"

    # the outbox
    outbox_pending: str = (
        "SELECT token, key, channel, contact, replies, claimed_by, attempts FROM outbox"
        " WHERE key = ? ORDER BY id"
    )
    outbox_sent: str = "DELETE FROM outbox WHERE token = ?"
    outbox_retry: str = (
        "UPDATE outbox SET attempts = attempts + 1, claimed_until = ? WHERE token = ?"
    )
    outbox_holders: str = "SELECT DISTINCT claimed_by FROM outbox WHERE claimed_until >= ?"
    outbox_backlog: str = "SELECT count(*) FROM outbox"

    # the schema's version
    schema_version: str = "SELECT coalesce(max(version), 0) FROM schema_version"
    record_version: str = "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)"


def to_pyformat(statement: str) -> str:
    """``statement`` with psycopg's placeholders (``%s``) for SQLite's (``?``).

    Raises ValueError for what a textual swap would get wrong: a ``%`` (psycopg would read it
    as the start of a placeholder) or a ``?`` inside a quoted literal."""
    if "%" in statement:
        raise ValueError(f"a shared statement may not contain '%': {statement}")
    parts = statement.split("'")
    if len(parts) % 2 == 0:
        raise ValueError(f"a quote is not closed in: {statement}")
    if any("?" in literal for literal in parts[1::2]):
        raise ValueError(f"a '?' inside a quoted literal would become a placeholder: {statement}")
    # the odd parts are the literals, left as they are
    return "'".join(part if n % 2 else part.replace("?", "%s") for n, part in enumerate(parts))


def _for_postgres(queries: Queries) -> Queries:
    converted: dict[str, Any] = {}
    for field in fields(queries):
        value = getattr(queries, field.name)
        if isinstance(value, str):
            converted[field.name] = to_pyformat(value)
        elif isinstance(value, tuple):
            converted[field.name] = tuple(to_pyformat(item) for item in value)
    return replace(queries, **converted)


SQLITE = Queries(time=iso)
POSTGRES = replace(
    _for_postgres(Queries(time=to_utc)),
    # PostgreSQL's IS compares with NULL/TRUE/FALSE only
    timer_pending="SELECT 1 FROM timers WHERE id = %s AND claimed_by IS NOT DISTINCT FROM %s",
    finish_timer="DELETE FROM timers WHERE id = %s AND claimed_by IS NOT DISTINCT FROM %s",
)
