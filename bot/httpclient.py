"""The process's one outbound HTTP client: httpx's interface on aiohttp's transport.

Everything ozbot sends out (the PTB ``Bot`` through :class:`bot.channels.telegram.
SharedClientRequest`, the twilio client through :class:`bot.channels.whatsapp.HttpxTwilioClient`,
the OZmap client, the geocoders) speaks ``httpx.AsyncClient``, and the tests fake the outside
world at its transport (``mounts``). Only the default transport changes here: httpx's own
(httpcore, h11, anyio) cost about 1.1 ms of CPU per POST under ozbot's load, most of a turn,
where ``httpx_aiohttp.AiohttpTransport`` (aiohttp's connection pool and C parser) costs about
0.4 ms; bench/transport.py measures the three stacks (httpx, httpx on aiohttp, aiohttp alone).

aiohttp's connector keeps its connections per host, so no pool is walked per request
(encode/httpcore#928): one transport serves every upstream. Timeouts keep httpx's meaning
through the transport: connect, read, and pool (waiting for a free connection).
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = [
    "LIMITS",
    "TIMEOUT",
    "NoCookies",
    "SharedClient",
    "mount_for",
    "shared_client",
    "shared_transport",
]

#: at most this many connections in all, idle ones kept 5 s (aiohttp's connector limit)
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
    (about 25 us of CPU a request, a tenth of a POST on the aiohttp transport), even for a jar
    that drops everything."""

    def __init__(self) -> None:
        super().__init__(NoCookies())

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


#: distinct URL strings whose parsed form the client keeps (ozbot's upstreams call a handful
#: of endpoints; the queries travel apart, as ``params``)
URL_CACHE_SIZE = 256


class SharedClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` as ozbot uses it: no cookies (:class:`_Cookieless`; setting them is
    ignored), and URL strings parsed once: httpx parses a request's URL in pure Python, about
    40 us of CPU per request (a sixth of a POST), for the same few endpoints every time."""

    _cookieless = _Cookieless()
    _urls: dict[str, httpx.URL]

    def __init__(self, **kwargs: Any) -> None:
        self._urls = {}
        super().__init__(**kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookieless

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        if isinstance(url, str):
            parsed = self._urls.get(url)
            if parsed is None:
                if len(self._urls) >= URL_CACHE_SIZE:
                    self._urls.clear()
                parsed = self._urls[url] = httpx.URL(url)
            url = parsed
        return super().build_request(method, url, **kwargs)


def shared_transport() -> AiohttpTransport:
    """The transport the shared client sends through (one aiohttp session and pool)."""
    return AiohttpTransport(limits=LIMITS)


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
