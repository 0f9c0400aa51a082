"""Lease holders: who holds an inbox entry, an outbox row or a SQLite lock, and which holders
are processes that are gone.

A holder is named ``host:pid:token``: the host (its name, this boot of its kernel, and its PID
namespace, so two containers that share a host name are told apart), the process, and a token
per holder (a process may have several: one per dispatcher, outbox or store). A holder on this
host whose process is gone is dead at once (:func:`orphans`); a holder elsewhere is never called
dead: its lease runs out.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Iterable

__all__ = ["new_owner", "orphans", "retire", "this_host"]

# Holders of this process that have not stopped: a holder with our host and pid that is not
# among them is one that ended (a test, an app built twice).
_LIVE: set[str] = set()


#: this boot of this machine's kernel (Linux), shared by its containers: two machines whose host
#: names are the same (a cloned VM image: "ubuntu", "localhost") never share it, whereas the
#: initial PID namespace's inode is the same constant on every Linux (4026531836), and a cloned
#: image copies /etc/machine-id. Without it a process of the twin, its pid unknown here, was
#: called dead and its live leases taken over at once.
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


@functools.cache
def _boot() -> str:
    try:
        with open(_BOOT_ID, encoding="ascii") as found:
            return f"~{found.read().strip()[:36]}"
    except (OSError, UnicodeDecodeError):
        return ""


def this_host() -> str:
    """This host as lease owners name it: the host name, this boot of the machine, and the PID
    namespace on Linux (two containers may share a host name, never a PID namespace; two
    machines may share a host name, never a boot)."""
    try:
        namespace = f"~{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}{_boot()}{namespace}"


def new_owner() -> str:
    """A new lease holder of this process (``host:pid:token``), alive until :func:`retire`."""
    owner = f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    _LIVE.add(owner)
    return owner


def retire(owner: str) -> None:
    """``owner`` has stopped: what it still holds is an orphan's (:func:`orphans`)."""
    _LIVE.discard(owner)


def orphans(holders: Iterable[str]) -> list[str]:
    """The lease holders (``host:pid:token``) that were processes on this host and are gone.
    Holders elsewhere are never called dead: their leases run out instead."""
    here, me = this_host(), os.getpid()
    dead: list[str] = []
    for holder in holders:
        parts = holder.rsplit(":", 2)
        if len(parts) != 3 or parts[0] != here or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid == me:
            if holder not in _LIVE:
                dead.append(holder)
            continue
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            dead.append(holder)
        except PermissionError:  # alive, another user's
            pass
    return dead
