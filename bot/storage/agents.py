"""The agent console's port: agents' accounts and their login sessions.

A part of :class:`bot.storage.base.Store` the engine never uses: only the console
(:mod:`bot.web.console`) and ``ozbot agents`` do (the queue they read is
:class:`bot.storage.handoffs.HandoffQueue`). ``tests/storage/test_agents.py`` is its contract
suite, on every adapter.

The store never sees a password or a session token: it keeps an argon2 hash of the password
(made by :mod:`bot.agents`) and a SHA-256 digest of the token (a stolen database does not
give live sessions).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

__all__ = ["AgentAccount", "AgentSession", "AgentStore"]


@dataclass(frozen=True)
class AgentAccount:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class AgentSession:
    """A live login: ``agent`` is who, ``expires_at`` when it ends by itself."""

    agent: str
    expires_at: datetime


class AgentStore(ABC):
    """Accounts and sessions for the console. Every method may raise
    :class:`bot.errors.StorageError`."""

    # -- accounts ---------------------------------------------------------------------------

    @abstractmethod
    async def add_agent(self, name: str, password_hash: str, at: datetime) -> bool:
        """Create the account; False (changing nothing) when ``name`` is taken."""

    @abstractmethod
    async def agent_password(self, name: str) -> str | None:
        """The account's password hash, or None when there is no such account."""

    @abstractmethod
    async def set_agent_password(self, name: str, password_hash: str) -> bool:
        """Replace the account's password hash; False when there is no such account."""

    @abstractmethod
    async def list_agents(self) -> list[AgentAccount]:
        """Every account, by name."""

    @abstractmethod
    async def remove_agent(self, name: str) -> bool:
        """Delete the account and end its sessions; False when there was none. Conversations it
        held go back to the queue as waiting, in the same transaction: only the holder
        may act on a claimed one, so they would otherwise be stuck with nobody able to answer."""

    # -- sessions ---------------------------------------------------------------------------

    @abstractmethod
    async def create_agent_session(
        self, token_hash: str, agent: str, at: datetime, expires_at: datetime
    ) -> None:
        """Record a login (and drop sessions that ended before ``at``)."""

    @abstractmethod
    async def agent_session(self, token_hash: str, now: datetime) -> AgentSession | None:
        """The session of this token digest, or None when unknown, expired at ``now``, or its
        account was removed."""

    @abstractmethod
    async def end_agent_session(self, token_hash: str) -> None:
        """Log out. Idempotent."""
