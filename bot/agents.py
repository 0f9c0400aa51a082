"""Support agents' accounts for the console: names, argon2 password hashes, login checks, and
the ``ozbot agents add|list|remove`` commands.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106's low-memory profile);
a hash made with older parameters is upgraded at the next successful login. A login against an
unknown name still spends one hash verification, so response time does not say which names
exist. Hashing and verifying run in worker threads (argon2 releases the GIL): on the event
loop, a burst of failed logins held every webhook's acknowledgement up for seconds. The threads
are a pool of their own, one fewer than the cores (at least one): in asyncio's default pool, a
storm of logins ran six hashes at once on two cores and the event loop got a seventh of the CPU,
so acknowledgements still waited up to a second and a half; bounded, a core stays the loop's and
the storm itself is what waits.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import os
import re
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.conversation import utcnow
from bot.errors import ConfigError
from bot.settings import load_settings
from bot.storage import make_store
from bot.storage.agents import AgentStore

__all__ = [
    "MIN_PASSWORD",
    "check_name",
    "check_password",
    "create_agent",
    "hash_password",
    "register",
    "verify_login",
]

MIN_PASSWORD = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
_hasher = PasswordHasher()
#: where argon2 runs: one thread fewer than the cores, so a login storm cannot starve the loop
HASHING_THREADS = max(1, (os.cpu_count() or 1) - 1)
_hashing = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="argon2")


async def _in_hashing_pool(work: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_hashing, work, *args)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so both paths cost one argon2 verification
    (made on first use: hashing at import would slow every ``ozbot`` command)."""
    return _hasher.hash("ozbot: no such agent")


def check_name(name: str) -> str:
    """The name, lower-cased; ConfigError naming the rule when it breaks it."""
    lowered = name.strip().lower()
    if not _NAME.match(lowered):
        raise ConfigError(
            f"agent name {name!r} is not usable: use 2-32 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. maria.souza)"
        )
    return lowered


def check_password(password: str) -> str:
    """The password when it is long enough; ConfigError saying how long otherwise."""
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def create_agent(store: AgentStore, name: str, password: str) -> str:
    """Add an account; returns its (normalised) name. ConfigError when the name or password
    breaks the rules or the name is taken; StorageError from the store."""
    name = check_name(name)
    hashed = await _in_hashing_pool(hash_password, check_password(password))
    if not await store.add_agent(name, hashed, utcnow()):
        raise ConfigError(f"an agent named {name!r} exists: pick another name or remove it first")
    return name


async def verify_login(store: AgentStore, name: str, password: str) -> str | None:
    """The agent's name when ``password`` is theirs, else None. Raises StorageError."""
    try:
        name = check_name(name)
    except ConfigError:
        name = ""
    stored = await store.agent_password(name) if name else None
    if not await _in_hashing_pool(_verify, stored or _dummy_hash(), password):
        return None
    if stored is None:
        return None
    if _hasher.check_needs_rehash(stored):
        await store.set_agent_password(name, await _in_hashing_pool(_hasher.hash, password))
    return name


def _verify(stored: str, password: str) -> bool:
    """Whether ``password`` matches the hash ``stored`` (run in a worker thread)."""
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- ozbot agents ---------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "agents",
        help="support agents' accounts for the console: add, list, remove",
        description="Accounts of the people who answer handed-off conversations at /console. "
        "They live in the database set by DATABASE_URL.",
    )
    sub = parser.add_subparsers(dest="agents_command", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="create an account (the password is asked twice, or read from stdin when piped)",
    )
    add.add_argument("name", help="login name, e.g. maria.souza")
    add.set_defaults(handler=lambda args: _run(_add(args.name, sys.stdin)))
    listing = sub.add_parser("list", help="show the accounts")
    listing.set_defaults(handler=lambda args: _run(_list()))
    remove = sub.add_parser("remove", help="delete an account and end its sessions")
    remove.add_argument("name")
    remove.set_defaults(handler=lambda args: _run(_remove(args.name)))


def _run(action: Any) -> int:
    code: int = asyncio.run(action)
    return code


def read_password(stdin: TextIO) -> str:
    """Ask twice on a terminal; read the first line when piped. ConfigError on a mismatch."""
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise ConfigError("the two passwords differ: run the command again")
        return first
    line = stdin.readline()
    if not line:
        raise ConfigError("no password on stdin: pipe one line, or run in a terminal")
    return line.rstrip("\r\n")


async def _with_store(action: Any) -> int:
    settings = load_settings()
    store = make_store(settings.effective_database_url)
    await store.open()
    try:
        code: int = await action(store)
        return code
    finally:
        await store.close()


async def _add(name: str, stdin: TextIO) -> int:
    name = check_name(name)
    password = check_password(read_password(stdin))

    async def action(store: AgentStore) -> int:
        created = await create_agent(store, name, password)
        print(f"agent {created} added: they can log in at /console")
        return 0

    return await _with_store(action)


async def _list() -> int:
    async def action(store: AgentStore) -> int:
        accounts = await store.list_agents()
        if not accounts:
            print("no agents yet: add one with `ozbot agents add NAME`")
        for account in accounts:
            print(f"{account.name}\tsince {account.created_at:%Y-%m-%d}")
        return 0

    return await _with_store(action)


async def _remove(name: str) -> int:
    async def action(store: AgentStore) -> int:
        if not await store.remove_agent(check_name(name)):
            raise ConfigError(f"no agent named {name!r}: `ozbot agents list` shows them")
        print(f"agent {check_name(name)} removed; their sessions ended")
        return 0

    return await _with_store(action)
