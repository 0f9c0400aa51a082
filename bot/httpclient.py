"""The process's one outbound HTTP client: httpx's interface on a transport of ozbot's own.

Everything ozbot sends out (the PTB ``Bot`` through :class:`bot.channels.telegram.
SharedClientRequest`, the twilio client through :class:`bot.channels.whatsapp.HttpxTwilioClient`,
the OZmap client, the geocoders) speaks ``httpx.AsyncClient``, and the tests fake the outside
world at its transport (``mounts``). The default transport is :mod:`bot.httptransport`'s, on
:mod:`bot.http11` (asyncio and httptools' C parser): httpx's own (httpcore, h11, anyio) cost
about 1.1 ms of CPU per POST under ozbot's load, most of a turn, and aiohttp's client 0.15 ms;
and :class:`SharedClient` leaves out the work httpx does per request that ozbot never needs.
bench/transport.py measures the stacks.

The pool keeps its connections per origin, so no pool is walked per request
(encode/httpcore#928): one transport serves every upstream. Timeouts keep httpx's meaning
through the transport: connect, read, write, and pool (waiting for a free connection).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http.cookiejar import Cookie, CookieJar
from json import dumps as json_dumps
from typing import Any, cast

import httpx
from httpx._client import ClientState

from bot.httptransport import Answer, Http11Transport

__all__ = [
    "LIMITS",
    "TIMEOUT",
    "Answer",
    "NoCookies",
    "SharedClient",
    "mount_for",
    "shared_client",
    "shared_transport",
    "with_query",
]

#: at most this many connections in all (50 of them idle), idle ones kept 5 s
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=5.0)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing. No upstream of ozbot's (Telegram, Twilio, OZmap, the
    geocoders) authenticates by cookie."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


class _Cookieless(httpx.Cookies):
    """httpx's cookies on a :class:`NoCookies` jar, without reading answers for them: httpx
    hands every answer to its jar through urllib request and response wrappers it builds first
    (about 25 us of CPU a request, a fifth of a POST on the aiohttp transport), even for a jar
    that drops everything."""

    def __init__(self) -> None:
        super().__init__(NoCookies())

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


#: distinct URL strings (and header sets) whose parsed form the client keeps (ozbot's upstreams
#: call a handful of endpoints with a handful of header sets; queries travel apart, as ``params``)
URL_CACHE_SIZE = 256
_FORM_PLAIN = re.compile("[A-Za-z0-9_.~-]*")
_BODY_METHODS = ("POST", "PUT", "PATCH")
#: each byte as urlencode writes it: itself when unreserved, "+" for a space, else %XX
_FORM_BYTES = tuple(
    chr(b) if _FORM_PLAIN.fullmatch(chr(b)) else "+" if b == 0x20 else f"%{b:02X}"
    for b in range(256)
)


def _quote(text: str) -> str:
    # a table looked up per byte in C (str.translate of the UTF-8 bytes, each read as one
    # Latin-1 character) rather than a Python call per run of bytes to quote, or a call per
    # byte (map): a 120-character Portuguese message, 2.3x faster than map, which was 2x
    # faster than the runs for a JSON filter
    if _FORM_PLAIN.fullmatch(text):
        return text
    return text.encode().decode("latin-1").translate(_FORM_BYTES)


def _form_value(value: Any) -> str:
    # httpx's primitive_value_to_str: JSON's spelling of booleans, nothing for None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else _quote(str(value))


def encode_form(data: Mapping[str, Any]) -> bytes:
    """``data`` as httpx encodes a form (``urllib.parse.urlencode`` of its values as httpx
    writes them: true/false, "" for None, every item of a list or tuple), byte for byte.
    urllib quotes a text one character at a time in Python, 25 us for a Twilio message's
    form; a regular expression replaces only the runs that need quoting."""
    pairs = []
    for key, value in data.items():
        name = _quote(str(key))
        if isinstance(value, list | tuple):
            pairs.extend([f"{name}={_form_value(item)}" for item in value])
        else:
            pairs.append(f"{name}={_form_value(value)}")
    return "&".join(pairs).encode()


def with_query(url: httpx.URL, params: Mapping[str, Any]) -> httpx.URL:
    """``url`` with its query replaced by ``params``, as ``httpx.Request(url, params=params)``
    makes it (the query given replaces the URL's; no params, no query), without parsing the
    URL again: httpx re-parses and re-quotes the whole URL in Python, about 60 us for an OZmap
    list request's JSON filter. The query is :func:`encode_form`'s encoding, which is httpx's
    (``urlencode``, values as httpx writes them); httpx's quoting of a query leaves such a text
    as it is. The parsed URL is httpx's own (``ParseResult``), with only its query replaced."""
    query = encode_form(params).decode("ascii") if params else None
    copy = httpx.URL.__new__(httpx.URL)
    copy._uri_reference = url._uri_reference._replace(query=query)
    return copy


class SharedClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` as ozbot uses it, with httpx's work it never needs left out of
    the common request (tests/channels/test_http_contract.py checks that an upstream receives
    the same request from this client as from httpx's own):

    * no cookies (:class:`_Cookieless`; setting them is ignored);
    * URL strings parsed once: httpx parses a URL in pure Python, about 40 us of CPU;
    * a request with a body of bytes, a form, JSON or none, and no cookies or files (the
      OZmap client's GETs with params too), has its headers merged once per header set, not
      rebuilt four times (25 us a request);
    * without auth, event hooks or redirects to follow, ``send`` hands the request straight to
      the transport, past httpx's auth-flow and redirect generators.
    """

    _cookieless = _Cookieless()
    _urls: dict[str, httpx.URL]
    _merged: dict[Any, tuple[list[tuple[bytes, bytes]], bool]]

    def __init__(self, **kwargs: Any) -> None:
        self._urls = {}
        self._merged = {}
        super().__init__(**kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookieless

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None

    def _url(self, url: str) -> httpx.URL:
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    def _merge(self, headers: Mapping[str, str] | None) -> tuple[list[tuple[bytes, bytes]], bool]:
        """The client's headers updated with ``headers`` as httpx merges them (a name given
        replaces the client's in place), and whether a Content-Type is among them."""
        client = self._headers
        key = (tuple(client.raw), tuple(headers.items()) if headers else ())
        merged = self._merged.get(key)
        if merged is None:
            combined = httpx.Headers(client)
            combined.update(headers)
            if len(self._merged) >= URL_CACHE_SIZE:
                self._merged.clear()
            merged = self._merged[key] = (combined.raw, "content-type" in combined)
        return merged

    def _parts(
        self,
        method: str,
        url: httpx.URL,
        content: Any,
        data: Any,
        json: Any,
        params: Any,
        headers: Any,
        timeout: Any,
    ) -> tuple[str, httpx.URL, list[tuple[bytes, bytes]], bytes, dict[str, float | None]] | None:
        """The method, URL, raw headers, body and timeouts of the request httpx would build,
        for a request the lean path builds itself; None when httpx's own building is needed."""
        body = _body(content, data, json)
        if (
            body is None
            or not (headers is None or type(headers) is dict)
            or self._params
            or not url.is_absolute_url
            or (headers and not _PLAIN_NAMES.isdisjoint(name.lower() for name in headers))
        ):
            return None
        method = method.upper()
        merged, has_type = self._merge(headers)
        payload, content_type = body
        # in httpx's order: Host, an empty body's length, the merged headers, then the body's
        raw = [(b"Host", url.netloc)]
        encoded = bool(payload) or content_type is not None
        if not encoded and method in _BODY_METHODS:
            raw.append((b"Content-Length", b"0"))
        raw.extend(merged)
        if encoded:
            raw.append((b"Content-Length", str(len(payload)).encode()))
        if content_type is not None and not has_type:
            raw.append((b"Content-Type", content_type))
        chosen = self.timeout if timeout is httpx.USE_CLIENT_DEFAULT else httpx.Timeout(timeout)
        if params is not None:
            if type(params) is not dict:
                url = httpx.URL(url, params=params)  # httpx's own reading of other kinds
            else:
                url = with_query(url, params)
        return method, url, raw, payload, chosen.as_dict()

    def build_request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        extensions: Any = None,
    ) -> httpx.Request:
        if isinstance(url, str):
            url = self._url(url)
        parts = (
            self._parts(method, url, content, data, json, params, headers, timeout)
            if files is None and cookies is None and extensions is None
            else None
        )
        if parts is None:
            return super().build_request(
                method, url, content=content, data=data, files=files, json=json,
                params=params, headers=headers, cookies=cookies, timeout=timeout,
                extensions=extensions,
            )  # fmt: skip
        return _request(*parts)

    async def fetch(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: Any = None,
        data: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,  # noqa: ASYNC109  # httpx's request's
    ) -> Answer:
        """``request(...)`` read whole, as an :class:`~bot.httptransport.Answer`; a redirect is
        never followed (it is the answer). On a transport with a ``fetch`` (the shared
        transport, and :class:`bot.metrics.MeteredTransport` over it) the request
        goes to it as parts: no httpx ``Request``, ``Response`` or body stream is built, about
        50 us of CPU a request (bench/transport.py). Anywhere else (the tests' fakes) and for
        what httpx must handle itself (auth, event hooks, following redirects, files), it is
        ``request``, read. The upstream receives the same request either way
        (tests/channels/test_http_contract.py)."""
        parsed = self._url(url) if isinstance(url, str) else url
        parts = (
            None
            if (
                self.follow_redirects
                or self._auth is not None
                or parsed.userinfo
                or self._event_hooks["request"]
                or self._event_hooks["response"]
                or self.is_closed
            )
            else self._parts(method, parsed, content, data, json, params, headers, timeout)
        )
        if parts is not None:
            lean = getattr(self._transport_for_url(parts[1]), "fetch", None)
            if lean is not None:
                self._state = ClientState.OPENED
                return cast(Answer, await lean(*parts))
        response = await self.request(
            method, parsed, content=content, data=data, json=json, params=params,
            headers=headers, timeout=timeout, follow_redirects=False,
        )  # fmt: skip
        return Answer.of(response)

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        follow = (
            self.follow_redirects
            if follow_redirects is httpx.USE_CLIENT_DEFAULT
            else follow_redirects
        )
        if (
            follow
            or not (auth is httpx.USE_CLIENT_DEFAULT or auth is None)
            or self._auth is not None
            or request.url.userinfo
            or self._event_hooks["request"]
            or self._event_hooks["response"]
            or self.is_closed
        ):
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        # what httpx's send does for such a request, past the auth flow and the redirect
        # loop, whose generators and copies are a tenth of a request's CPU
        self._state = ClientState.OPENED
        self._set_timeout(request)
        response = await self._send_single_request(request)
        try:
            response.history = []
            if response.has_redirect_location:
                response.next_request = self._build_redirect_request(request, response)
            if not stream:
                await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response


#: headers that make httpx's own request building decide something: left to it
_PLAIN_NAMES = frozenset({"host", "content-length", "transfer-encoding"})


def _request(
    method: str,
    url: httpx.URL,
    raw: list[tuple[bytes, bytes]],
    payload: bytes,
    timeouts: dict[str, float | None],
) -> httpx.Request:
    """httpx's request from the lean path's parts, its body already read."""
    request = httpx.Request(
        method, url, headers=raw, stream=httpx.ByteStream(payload), extensions={"timeout": timeouts}
    )
    request.read()
    return request


def _body(content: Any, data: Any, json: Any) -> tuple[bytes, bytes | None] | None:
    """A request's body and the Content-Type httpx gives it, for the bodies httpx encodes in
    one piece (None for the others: streams, files, several kinds at once)."""
    given = (content is not None) + (data is not None) + (json is not None)
    if given > 1:
        return None
    if content is not None:
        if isinstance(content, bytes):
            return content, None
        return (content.encode(), None) if isinstance(content, str) else None
    if data is not None:
        if not isinstance(data, Mapping):
            return None
        if data:  # httpx sends an empty form as no body at all
            return encode_form(data), b"application/x-www-form-urlencoded"
    if json is not None:
        text = json_dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode(), b"application/json"
    return b"", None


def shared_transport() -> Http11Transport:
    """The transport the shared client sends through (one pool of connections)."""
    return Http11Transport(limits=LIMITS)


def mount_for(url: str, transport: httpx.AsyncBaseTransport) -> dict[str, httpx.AsyncBaseTransport]:
    """``{origin of url: transport}``, a mount for one upstream (empty for a URL without an
    http(s) origin), so a wrapper such as the OZmap meter finds the shared transport to wrap."""
    origin = httpx.URL(url)
    if origin.scheme not in ("http", "https") or not origin.host:
        return {}
    port = f":{origin.port}" if origin.port else ""
    return {f"{origin.scheme}://{origin.host}{port}": transport}


def shared_client(
    mounts: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout = TIMEOUT,
) -> SharedClient:
    """The client the lifespan owns (close it with ``aclose``), on ``transport`` (default: a
    new :func:`shared_transport`). ``mounts`` route URL prefixes to other transports (tests
    mount the messenger fakes on ``https://api.telegram.org``). It keeps no cookies
    (:class:`SharedClient`)."""
    return SharedClient(
        transport=transport or shared_transport(),
        mounts=dict(mounts or {}),
        timeout=timeout,
    )
