"""Loopback ports for servers a test starts."""

from __future__ import annotations

import socket

__all__ = ["free_port", "free_socket"]


def free_socket() -> tuple[socket.socket, int]:
    """A socket bound to a free loopback port, and the port: hand the socket to the server
    (uvicorn's ``sockets=``), so no other process can take the port in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, int(sock.getsockname()[1])


def free_port() -> int:
    """A loopback port free now, for a server in another process (which binds it itself; in
    the short gap another process could take it, which only makes that test fail loudly)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
