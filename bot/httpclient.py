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

__all__ = ["LIMITS", "TIMEOUT", "NoCookies", "mount_for", "shared_client", "shared_transport"]

#: at most this many connections in all, idle ones kept 5 s (aiohttp's connector limit)
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=5.0)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing. No upstream of ozbot's (Telegram, Twilio, OZmap, the
    geocoders) authenticates by cookie, and httpx reads every answer's ``Set-Cookie`` into its
    jar through urllib's request and email objects: about 16 us of CPU per request, 12% of a
    bare post (bench/channels.py measures a post)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


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
) -> httpx.AsyncClient:
    """The client the lifespan owns (close it with ``aclose``), on ``transport`` (default: a
    new :func:`shared_transport`). ``mounts`` route URL prefixes to other transports (tests
    mount the messenger fakes on ``https://api.telegram.org``). It keeps no cookies
    (:class:`NoCookies`)."""
    return httpx.AsyncClient(
        transport=transport or shared_transport(),
        mounts=dict(mounts or {}),
        timeout=timeout,
        cookies=NoCookies(),
    )
