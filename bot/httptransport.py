"""An httpx transport on aiohttp: httpx's request in, httpx's response out, aiohttp's pool between.

The shared client (:mod:`bot.httpclient`) sends everything through this. httpx's own transport
(httpcore, h11, anyio) cost about 1.1 ms of CPU per POST under ozbot's load; ``httpx_aiohttp``'s
transport about 0.23 ms against 0.1 ms for aiohttp called directly (bench/transport.py). This
one does only the mapping: the request's raw headers and bytes go to aiohttp as they are (aiohttp
is told to add no headers of its own, so an upstream receives what httpx's transport would send:
tests/channels/test_http_contract.py compares the two over loopback), and the answer's body is
read in one piece when its length is known and small, in chunks otherwise.

Timeouts keep httpx's meaning: ``connect`` bounds opening a connection, ``read`` each wait for
data, ``pool`` the wait for a free connection (aiohttp's ``connect``, which also covers the
opening: the tighter of the two wins). aiohttp has no write timeout; a request body is
written to the kernel's buffer at once for every request ozbot sends. aiohttp's errors become
httpx's, so callers catch ``httpx.TimeoutException`` and ``httpx.TransportError`` as before.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport", "Answer", "map_error"]

#: an answer up to this long (by its Content-Length) is read as one chunk
WHOLE_BODY = 1 << 20
CHUNK = 1 << 16
#: the headers aiohttp would add when a request lacks them; httpx decides what a request
#: carries, so aiohttp adds none (Host and the body's length httpx always sets)
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
_URL_CACHE = 256


def map_error(exc: Exception, request: httpx.Request | None) -> Exception:
    """The httpx exception its own transport raises for the failure aiohttp raised ``exc``
    for (``exc`` itself when it is neither aiohttp's nor a timeout)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timeout", request=request)
    if isinstance(exc, TimeoutError):  # aiohttp's SocketTimeoutError, or a bare one
        return httpx.ReadTimeout(str(exc) or "read timeout", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # a status line aiohttp cannot read
        return httpx.RemoteProtocolError(exc.message, request=request)
    if isinstance(exc, aiohttp.ClientConnectionError):  # reset, broken pipe while reading
        return httpx.ReadError(str(exc), request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.TransportError(str(exc), request=request)
    return exc


#: what :func:`map_error` maps (a try/except costs nothing until it catches; a context
#: manager is two calls a request)
_MAPPED = (aiohttp.ClientError, TimeoutError)


class _Body(httpx.AsyncByteStream):
    """An aiohttp answer's body as httpx reads it; closing releases the connection to the pool
    (or closes it, when the body was not read to its end)."""

    __slots__ = ("_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        response = self._response
        try:
            length = response.content_length
            if length is not None and length <= WHOLE_BODY:
                yield await response.read()
                return
            async for chunk in response.content.iter_chunked(CHUNK):
                yield chunk
        except _MAPPED as exc:
            raise map_error(exc, self._request) from exc

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except _MAPPED as exc:
            raise map_error(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()


class _Response(httpx.Response):
    """httpx's response whose ``aread`` (what the client does for every request not streamed)
    takes the body from aiohttp in one call: httpx's own walks it through four generators, a
    chunker and a decoder that, for a body without Content-Encoding, change nothing (25 us of
    CPU a request). The state it leaves is httpx's: content, bytes downloaded, consumed and
    closed (which releases the connection and sets ``elapsed``)."""

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


def _text_headers(raw: Any) -> list[tuple[str, str]]:
    # aiohttp takes text; httpx's values are bytes (UTF-8 kept through surrogates, both ways)
    return [(k.decode("latin-1"), v.decode("utf-8", "surrogateescape")) for k, v in raw]


async def _upload(stream: httpx.AsyncByteStream) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface on one ``aiohttp.ClientSession`` (opened at the first
    request, in the running loop), keeping at most ``limits.max_connections`` connections,
    idle ones ``limits.keepalive_expiry`` seconds."""

    def __init__(
        self,
        limits: httpx.Limits = httpx.Limits(),  # noqa: B008  # immutable
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limits = limits
        self._ssl: ssl.SSLContext | bool = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        )
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self._urls: dict[str, URL] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 0,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            skip_auto_headers=_AUTO_HEADERS,
            auto_decompress=False,  # httpx decodes the body by its Content-Encoding
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(),
        )
        return self._session

    def _timeout(self, given: dict[str, float | None]) -> aiohttp.ClientTimeout:
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) >= _URL_CACHE:
                self._timeouts.clear()
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        return timeout

    def _url(self, url: httpx.URL) -> URL:
        # httpx has already quoted the URL: yarl need not parse and quote it again
        text = str(url)
        parsed = self._urls.get(text)
        if parsed is None:
            if len(self._urls) >= _URL_CACHE:
                self._urls.clear()
            parsed = self._urls[text] = URL(text, encoded=True)
        return parsed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"the URL's scheme is not http or https: {request.url.scheme!r}", request=request
            )
        session = self._session or self._open()
        raw = request.headers.raw
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:  # a streamed body: aiohttp frames it (chunked) itself
            data = _upload(request.stream)  # type: ignore[arg-type]
            raw = [(k, v) for k, v in raw if k.lower() != b"transfer-encoding"]
        headers = _text_headers(raw)
        try:
            response = await session.request(
                request.method,
                self._url(request.url),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=self._timeout(request.extensions.get("timeout") or {}),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except _MAPPED as exc:
            raise map_error(exc, request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        body = _Body(response, request)
        answer = _Response(
            response.status, headers=response.raw_headers, stream=body, extensions=extensions
        )
        answer._body = body
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
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"the URL's scheme is not http or https: {url.scheme!r}"
            )
        session = self._session or self._open()
        try:
            response = await session.request(
                method,
                self._url(url),
                headers=_text_headers(raw),
                data=body or None,
                allow_redirects=False,
                timeout=self._timeout(timeouts),
            )
            try:
                content = await response.read()
            finally:
                response.release()
        except _MAPPED as exc:
            raise map_error(exc, None) from exc
        status, answered = response.status, response.raw_headers
        return Answer(status, answered, _decoded(status, answered, content), response.reason or "")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
