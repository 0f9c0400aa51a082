"""A small HTTP/1.1 client on asyncio and httptools: keep-alive connections, pooled per origin.

What :mod:`bot.httptransport` sends through. aiohttp's client cost about 150 us of CPU a
request under ozbot's load, most of it its own request and response objects, header multidicts,
cookie filtering and a task a request (bench/transport.py); this writes the bytes httpx decided
on in one ``write`` and reads the answer with httptools (llhttp, the C parser uvicorn uses).

Only what ozbot's upstreams need: HTTP/1.1 without pipelining, TLS through :mod:`ssl`, answers
framed by Content-Length, chunked or the connection's close, 1xx answers skipped. Redirects,
content decoding and cookies are httpx's business, not this module's. Every failure is httpx's
exception (what its own transport raises for it): callers catch ``httpx.TimeoutException`` and
``httpx.TransportError``.

Timeouts keep httpx's meaning: ``connect`` bounds opening a connection (TLS handshake
included), ``read`` each wait for data from the socket (not the whole answer), ``write`` each
wait for a streamed body's chunk to leave, ``pool`` the wait for a free connection.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from collections.abc import AsyncIterable
from typing import Any

import httptools
import httpx

__all__ = ["Connection", "Pool", "head_bytes"]

#: a body read ahead of its reader pauses the socket beyond this many bytes
HIGH_WATER = 1 << 18
#: an answer with more headers than this is refused (llhttp itself sets no limit)
MAX_HEADERS = 256
#: methods whose request may go again on a fresh connection when a kept-alive one turns out
#: closed before any byte of its answer (a POST is never sent twice)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

Key = tuple[str, str, int, str | None]  # scheme, host, port, TLS server name


def head_bytes(method: str, target: bytes, raw: list[tuple[bytes, bytes]]) -> bytes:
    """The request line and headers as they go on the wire. A CR or LF inside a name or a
    value (which would smuggle a header or a request in) is refused, as h11 refuses it; Host
    goes first, where h11 puts it (RFC 9110 asks for it there)."""
    if raw and raw[0][0].lower() != b"host":
        raw = sorted(raw, key=lambda pair: pair[0].lower() != b"host")  # the rest keep order
    lines = [b"%s %s HTTP/1.1" % (method.encode("ascii"), target)]
    lines += [b"%s: %s" % pair for pair in raw]
    text = b"\r\n".join(lines)
    if text.count(b"\n") != len(lines) - 1 or text.count(b"\r") != len(lines) - 1:
        raise httpx.LocalProtocolError("a CR or LF in a request's line or headers")
    return text + b"\r\n\r\n"


class Connection(asyncio.Protocol):
    """One connection to an origin: one request at a time, its answer parsed as it arrives.

    The reader (:meth:`exchange`, :meth:`read_all`, :meth:`next_chunk`) waits on one future
    that the protocol's callbacks resolve; a read timeout is one timer a wait, pushed on by
    every packet rather than rearmed (``_seen``)."""

    def __init__(self, pool: Pool, key: Key) -> None:
        self._pool = pool
        self._loop = pool.loop
        self.key = key
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.alive = True  # not closed by either side, nor broken
        self.counted = True  # holds one of the pool's places
        self.reused = False  # has answered a request before
        self.idle_since = 0.0
        self._busy = False
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._seen = 0.0
        self._writable: asyncio.Future[None] | None = None
        self._start(False)

    def _start(self, head_only: bool) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head = False  # the status line and headers are in
        self.done = False  # the whole answer is in
        self.keep = False  # the connection may carry another request afterwards
        self.received = False  # any byte of this answer arrived
        self.error: Exception | None = None
        self._head_only = head_only
        self._interim = False
        self._chunks: list[bytes] = []
        self._size = 0
        self._paused = False

    # asyncio's callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._seen = self._loop.time()
        if not self._busy or self.done:  # nothing asked: a server talking out of turn
            self.close()
            return
        self.received = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(httpx.RemoteProtocolError(f"a malformed answer ({exc})"))

    def eof_received(self) -> bool:
        return False  # the transport closes itself: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        if self._busy and not self.done and self.error is None:
            if exc is None and self.head and self._until_close():
                self.done = True
            elif exc is not None:
                self.error = httpx.ReadError(str(exc) or type(exc).__name__)
            elif self.head:
                self.error = httpx.RemoteProtocolError(
                    "the server closed the connection before the answer's end"
                )
            else:
                self.error = httpx.RemoteProtocolError("the server disconnected without answering")
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._pool.forget(self)

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # httptools' callbacks

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            raise httptools.HttpParserError("too many headers")  # feed_data's caller reports it
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # 100 Continue and the like: the answer follows
            self._interim = True
            return
        self.status = status
        self.head = True
        if self._head_only:  # the parser cannot be told a HEAD's answer has no body
            self.done = True
            self.close()
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._size += len(body)
        if self._size > HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            self.reason = b""
            self.headers = []
            return
        self.done = True
        self.keep = self._parser.should_keep_alive()
        self._wake()

    # the reader's side

    def _until_close(self) -> bool:
        """Whether the answer's body runs to the connection's close (neither length nor
        chunks): its close is then its end, not a failure."""
        if self.status in (204, 304):
            return False
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"content-length" or (
                lowered == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                return False
        return True

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        self.error = error
        self.close()
        self._wake()

    def _expire(self, waiter: asyncio.Future[None], timeout: float) -> None:
        left = self._seen + timeout - self._loop.time()
        if left > 0:  # data came meanwhile: the wait starts again from the last of it
            self._timer = self._loop.call_later(left, self._expire, waiter, timeout)
        elif not waiter.done():
            waiter.set_exception(httpx.ReadTimeout("timed out waiting for the server"))

    async def _wait(self, read: float | None) -> None:
        """Until the callbacks have news, at most ``read`` seconds after the last data."""
        if self.error is not None:
            raise self.error
        waiter = self._waiter = self._loop.create_future()
        if read is not None:
            self._seen = self._loop.time()
            self._timer = self._loop.call_later(read, self._expire, waiter, read)
        try:
            await waiter
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self.error is not None:
            raise self.error

    async def exchange(
        self,
        head: bytes,
        body: bytes | AsyncIterable[bytes],
        timeouts: dict[str, Any],
        *,
        head_only: bool = False,
        chunked: bool = False,
    ) -> None:
        """Send one request (``body``: bytes, or chunks framed as ``chunked`` says) and wait
        for its answer's status line and headers."""
        self._start(head_only)
        self._busy = True
        if not self.alive or self.transport is None:
            raise httpx.RemoteProtocolError("the server disconnected without answering")
        if isinstance(body, bytes):
            self.transport.write(head + body)
        else:
            self.transport.write(head)
            await self._upload(body, chunked, timeouts.get("write"))
        read = timeouts.get("read")
        while not self.head:
            await self._wait(read)

    async def _upload(self, body: AsyncIterable[bytes], chunked: bool, write: Any) -> None:
        assert self.transport is not None
        async for chunk in body:
            if not chunk:
                continue
            self.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if self._writable is not None:
                try:
                    async with asyncio.timeout(write):
                        await self._writable
                except TimeoutError:
                    self._fail(httpx.WriteTimeout("timed out sending the request's body"))
            if self.error is not None or not self.alive:
                raise self.error or httpx.WriteError("the connection closed during the upload")
        if chunked:
            self.transport.write(b"0\r\n\r\n")

    def _take(self) -> bytes:
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._size = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def read_all(self, read: float | None) -> bytes:
        """The rest of the answer's body, once it is all in."""
        if not self.done:  # usually it came with the head, in the same packet
            parts = []
            while not self.done:
                if self._chunks:  # taken as it comes, so the socket is never paused for it
                    parts.append(self._take())
                await self._wait(read)
            if parts:
                parts.append(self._take())
                return b"".join(parts)
        return self._take() if self._chunks else b""

    async def next_chunk(self, read: float | None) -> bytes | None:
        """What has come of the body since the last call (waiting for some), None at its end."""
        while not self._chunks:
            if self.done:
                return None
            await self._wait(read)
        return self._take()

    def finish(self) -> None:
        """The request is over: back to the pool if its answer was read whole, else closed."""
        reusable = self.done and self.keep and self.alive and self.error is None
        self._busy = False
        self._pool.release(self, reusable)

    def close(self) -> None:
        self.alive = False
        if self.transport is not None:
            self.transport.close()
        self._pool.forget(self)


class Pool:
    """Connections per origin (:data:`Key`), at most ``limits.max_connections`` in all and
    ``limits.max_keepalive_connections`` idle, each idle one closed after
    ``limits.keepalive_expiry`` seconds. A request takes the most recently used idle one."""

    def __init__(self, limits: httpx.Limits, context: ssl.SSLContext) -> None:
        self._max = limits.max_connections
        self._keep = limits.max_keepalive_connections
        expiry = limits.keepalive_expiry
        self._expiry = math.inf if expiry is None else expiry
        self._ssl = context
        self._idle: dict[Key, list[Connection]] = {}
        self._idle_count = 0
        self._count = 0  # open or opening
        self._waiters: list[asyncio.Future[None]] = []
        self._swept = 0.0
        self.closed = False
        self.loop = asyncio.get_running_loop()

    async def acquire(self, key: Key, timeouts: dict[str, Any]) -> Connection:
        while True:
            stack = self._idle.get(key)
            if stack:
                now = self.loop.time()
                while stack:
                    conn = stack.pop()
                    self._idle_count -= 1
                    if conn.alive and now - conn.idle_since < self._expiry:
                        return conn
                    conn.close()
            if self._max is None or self._count < self._max:
                return await self._open(key, timeouts.get("connect"))
            if self._idle_count:
                self._close_oldest()
                continue
            await self._wait_for_place(timeouts.get("pool"))

    async def _wait_for_place(self, pool: float | None) -> None:
        waiter = self.loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(pool):
                await waiter
        except TimeoutError:
            raise httpx.PoolTimeout("timed out waiting for a free connection") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _notify(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _open(self, key: Key, connect: float | None) -> Connection:
        scheme, host, port, sni = key
        context = self._ssl if scheme == "https" else None
        self._count += 1
        try:
            async with asyncio.timeout(connect):
                _, conn = await self.loop.create_connection(
                    lambda: Connection(self, key),
                    host,
                    port,
                    ssl=context,
                    server_hostname=(sni or host) if context else None,
                )
        except TimeoutError:
            self._count -= 1
            self._notify()
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            self._count -= 1
            self._notify()
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            self._count -= 1
            self._notify()
            raise
        return conn

    def release(self, conn: Connection, reusable: bool) -> None:
        if (
            not reusable
            or self.closed
            or (self._keep is not None and self._idle_count >= self._keep)
        ):
            conn.close()
            return
        now = self.loop.time()
        conn.idle_since = now
        conn.reused = True
        self._idle.setdefault(conn.key, []).append(conn)
        self._idle_count += 1
        if now - self._swept > self._expiry:
            self._sweep(now)
        self._notify()

    def _sweep(self, now: float) -> None:
        self._swept = now
        for stack in list(self._idle.values()):
            while stack and now - stack[0].idle_since >= self._expiry:
                stack[0].close()  # forget() takes it off the stack

    def _close_oldest(self) -> None:
        stacks = [stack for stack in self._idle.values() if stack]
        min(stacks, key=lambda stack: stack[0].idle_since)[0].close()

    def forget(self, conn: Connection) -> None:
        """``conn`` is closed or closing: it leaves the idle stacks and frees its place."""
        stack = self._idle.get(conn.key)
        if stack and conn in stack:
            stack.remove(conn)
            self._idle_count -= 1
        if conn.counted:
            conn.counted = False
            self._count -= 1
            self._notify()

    def close(self) -> None:
        self.closed = True
        for stack in list(self._idle.values()):
            for conn in list(stack):
                conn.close()
        self._idle.clear()
        self._idle_count = 0
