"""An httpx transport on :mod:`bot.http11`: httpx's request in, httpx's response out.

The shared client (:mod:`bot.httpclient`) sends everything through this. httpx's own transport
(httpcore, h11, anyio) cost about 1.1 ms of CPU per POST under ozbot's load, aiohttp's client
about 0.15 ms; this about a third of that (bench/transport.py). It does only the mapping: the
request's raw headers and bytes go on the wire as httpx built them (an upstream receives what
httpx's own transport would send: tests/channels/test_http_contract.py compares the two over
loopback), and the answer's body is handed over as it arrives, or in one piece when read whole.
Redirects are never followed here (httpx's client follows them when asked).

Timeouts and errors are httpx's (:mod:`bot.http11` says how), so callers catch
``httpx.TimeoutException`` and ``httpx.TransportError`` as with httpx's own transport.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bot.http11 import IDEMPOTENT, Connection, Key, Pool, head_bytes

__all__ = ["Answer", "Http11Transport"]

_PORTS = {"http": 80, "https": 443}


class _Body(httpx.AsyncByteStream):
    """An answer's body as httpx reads it; closing gives the connection back to the pool (or
    closes it, when the body was not read to its end)."""

    __slots__ = ("_conn", "_read", "_request")

    def __init__(self, conn: Connection, read: float | None, request: httpx.Request) -> None:
        self._conn: Connection | None = conn
        self._read = read
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            raise httpx.StreamClosed()
        while (chunk := await conn.next_chunk(self._read)) is not None:
            yield chunk

    async def read(self) -> bytes:
        """The whole body (``_Response.aread``, outside httpx's own request context)."""
        if self._conn is None:
            raise httpx.StreamClosed()
        try:
            return await self._conn.read_all(self._read)
        except httpx.RequestError as exc:
            exc.request = self._request
            raise

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.finish()


class _Response(httpx.Response):
    """httpx's response whose ``aread`` (what the client does for every request not streamed)
    takes the body in one call: httpx's own walks it through four generators, a chunker and a
    decoder that, for a body without Content-Encoding, change nothing (25 us of CPU a
    request). The state it leaves is httpx's: content, bytes downloaded, consumed and closed
    (which releases the connection and sets ``elapsed``)."""

    _body: _Body

    async def aread(self) -> bytes:
        if (
            hasattr(self, "_content")
            or self.is_stream_consumed
            or self.is_closed
            or "content-encoding" in self.headers
        ):
            return await super().aread()
        self.is_stream_consumed = True
        content = self._content = await self._body.read()
        self._num_bytes_downloaded = len(content)
        await self.aclose()
        return content


class Answer:
    """An HTTP answer read whole, as :meth:`bot.httpclient.SharedClient.fetch` returns it: the
    status, the headers as they came, the body decoded by its Content-Encoding (httpx's
    ``content``), and httpx's readings of it (``json``, ``text``, ``headers``)."""

    __slots__ = ("_headers", "_raw", "content", "reason_phrase", "status_code")

    def __init__(
        self,
        status_code: int,
        raw_headers: Any,
        content: bytes,
        reason_phrase: str = "",
    ) -> None:
        self.status_code = status_code
        self._raw = raw_headers  # (name, value) byte pairs
        self._headers: httpx.Headers | None = None
        self.content = content
        self.reason_phrase = reason_phrase

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        """A response httpx has read (``request``'s, not streamed)."""
        return cls(
            response.status_code, response.headers.raw, response.content, response.reason_phrase
        )

    @property
    def headers(self) -> httpx.Headers:
        if self._headers is None:
            self._headers = httpx.Headers(list(self._raw))
        return self._headers

    def json(self, **kwargs: Any) -> Any:
        """httpx's ``Response.json``: the body as JSON (ValueError when it is not)."""
        return json.loads(self.content, **kwargs)

    @property
    def text(self) -> str:
        """httpx's ``Response.text``: the body in the Content-Type's charset, else UTF-8."""
        kind = self.headers.get("content-type")
        return httpx.Response(
            self.status_code, headers={"content-type": kind} if kind else None, content=self.content
        ).text


def _decoded(status: int, raw_headers: Any, body: bytes) -> bytes:
    """``body`` as httpx's ``content`` gives it: decoded by its Content-Encoding, if any."""
    if not any(name.lower() == b"content-encoding" for name, _ in raw_headers):
        return body
    return httpx.Response(status, headers=list(raw_headers), content=body).content


def _reason(conn: Connection) -> str:
    return conn.reason.decode("ascii", errors="ignore")


def _version(conn: Connection) -> bytes:
    return b"HTTP/1.0" if conn._parser.get_http_version() == "1.0" else b"HTTP/1.1"


class Http11Transport(httpx.AsyncBaseTransport):
    """httpx's transport interface on one :class:`bot.http11.Pool` (made at the first
    request, in the running loop), keeping at most ``limits.max_connections`` connections,
    idle ones ``limits.keepalive_expiry`` seconds."""

    def __init__(
        self,
        limits: httpx.Limits = httpx.Limits(),  # noqa: B008  # immutable
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limits = limits
        self._ssl = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        )
        self._pool: Pool | None = None

    async def _send(
        self,
        url: httpx.URL,
        method: str,
        head: bytes,
        body: Any,
        timeouts: dict[str, Any],
        sni: str | None = None,
        chunked: bool = False,
    ) -> Connection:
        """A connection that has sent the request and read its answer's head."""
        scheme = url.scheme
        if scheme not in _PORTS:
            raise httpx.UnsupportedProtocol(f"the URL's scheme is not http or https: {scheme!r}")
        # the host as it goes in DNS and TLS: IDNA-encoded (httpx's ``host`` is decoded)
        key: Key = (scheme, url.raw_host.decode("ascii"), url.port or _PORTS[scheme], sni)
        pool = self._pool or self._open()
        while True:
            conn = await pool.acquire(key, timeouts)
            try:
                await conn.exchange(
                    head, body, timeouts, head_only=method == "HEAD", chunked=chunked
                )
                return conn
            except (httpx.RemoteProtocolError, httpx.ReadError):
                conn.finish()
                # a kept-alive connection the server had closed before this request: once
                # more on a fresh one, when sending it twice does no harm
                if not conn.reused or conn.received or method not in IDEMPOTENT:
                    raise
                if not isinstance(body, bytes):
                    raise
            except BaseException:
                conn.finish()
                raise

    def _open(self) -> Pool:
        self._pool = Pool(self._limits, self._ssl)
        return self._pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        raw = request.headers.raw
        chunked = False
        body: Any
        try:
            body = request.content
        except httpx.RequestNotRead:  # a streamed body: framed in chunks unless its length is known
            body = request.stream
            chunked = not any(name.lower() == b"content-length" for name, _ in raw)
        timeouts = request.extensions.get("timeout") or {}
        conn = await self._send(
            url,
            request.method,
            head_bytes(request.method, url.raw_path, raw),
            body,
            timeouts,
            request.extensions.get("sni_hostname"),
            chunked,
        )
        extensions: dict[str, Any] = {"http_version": _version(conn)}
        if conn.reason:
            extensions["reason_phrase"] = conn.reason
        stream = _Body(conn, timeouts.get("read"), request)
        answer = _Response(conn.status, headers=conn.headers, stream=stream, extensions=extensions)
        answer._body = stream
        return answer

    async def fetch(
        self,
        method: str,
        url: httpx.URL,
        raw: list[tuple[bytes, bytes]],
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> Answer:
        """One request from its parts (``raw``: the headers httpx would send, Host and the
        body's length among them), its answer read whole: what ``handle_async_request`` and
        httpx's reading of the response do, without building either httpx object. Raises
        the httpx exceptions ``handle_async_request`` raises (without their ``request``)."""
        conn = await self._send(url, method, head_bytes(method, url.raw_path, raw), body, timeouts)
        try:
            content = await conn.read_all(timeouts.get("read"))
        finally:
            conn.finish()
        status, headers = conn.status, conn.headers
        return Answer(status, headers, _decoded(status, headers, content), _reason(conn))

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
