"""A minimal keep-alive HTTP/1.1 client over asyncio streams, for load generation.

Why not httpx: near the server's capacity its per-request work (httpcore's pool bookkeeping,
h11's parser, anyio) costs the load client about half a core, on a machine where the server
under test, its database and the fakes share two cores; a load client that is itself the
bottleneck measures itself. This one writes pre-built request bytes and reads the status line,
the headers and a ``Content-Length`` (or chunked) body: about a fifth of httpx's cost.

Only what the benchmark sends: no TLS, no redirects, no compression, no pipelining.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

__all__ = ["Connections", "build_request"]


def build_request(
    method: str,
    path: str,
    host: str,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The bytes of one request; ``Content-Length`` is added when there is a body."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Closed(Exception):
    """The server closed a kept-alive connection before answering (safe to retry)."""


class Connections:
    """Keep-alive connections to one ``host:port``, opened as needed, up to ``limit`` at once."""

    def __init__(self, host: str, port: int, *, limit: int = 512) -> None:
        self.host, self.port = host, port
        self._idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()
        self._slots = asyncio.Semaphore(limit)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw`` (from :func:`build_request`) and return the status and body."""
        async with self._slots:
            # a kept-alive connection the server closed while idle fails before any answer
            for _attempt in range(3):
                fresh = not self._idle
                reader, writer = (
                    await asyncio.open_connection(self.host, self.port)
                    if fresh
                    else self._idle.pop()
                )
                try:
                    writer.write(raw)
                    status, body, keep = await self._response(reader)
                except (_Closed, ConnectionError):
                    writer.close()
                    if fresh:
                        raise
                    continue
                except BaseException:
                    writer.close()
                    raise
                if keep:
                    self._idle.append((reader, writer))
                else:
                    writer.close()
                return status, body
        raise ConnectionError(f"{self.host}:{self.port} keeps closing connections")

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _Closed from exc
            raise
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, keep = 0, False, True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                keep = value.strip().lower() != "close"
        if not chunked:
            return status, await reader.readexactly(length), keep
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers from our servers
                return status, b"".join(parts), keep
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request(build_request("GET", path, f"{self.host}:{self.port}"))

    def close(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()
