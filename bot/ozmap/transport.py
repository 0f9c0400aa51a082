"""The OZmap API v2 on the wire: authentication, retries, error mapping and paging, on one
injected ``httpx.AsyncClient``.

* **Authentication**, as the official SDK does it (docs/ozmap-api.md section 1): an API key
  sent as the raw ``Authorization`` header; or a login and password, exchanged by ``POST
  /users/login?type=API`` for the ``authorization`` token of the answer, logged in again once on
  a 401 (concurrent requests share one login). A request refused with 401 was not applied, so
  sending it again after a new login is safe even for a write.
* **Retries**: only reads (GET), on timeouts, connection errors and 5xx, with exponential
  backoff and full jitter: a POST that timed out may have been applied.
* **Paging**, one page at a time with the SDK's batch size: ``hasNextPage``/``nextUrl`` when the
  server sends them (``nextUrl``'s parameters re-sent on our own path, never another host),
  else ``page``/``limit`` while ``total`` says more is left; a page without rows ends it.
* **Filters** (and sort) travel as query JSON or in the GET body as the SDK sends them, by a
  setting: proxies may drop a GET body, and OZmap's old clients used the query string.

Errors are :mod:`bot.errors` only; neither the key, the password nor paths (which can carry client
codes, sometimes a CPF) are ever logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx

from bot.errors import (
    ConfigError,
    NoFreePort,
    OzmapAuthError,
    OzmapError,
    OzmapNotFound,
    OzmapRejected,
    OzmapUnavailable,
)
from bot.httpclient import Answer, SharedClient
from bot.ozmap.models import list_rows

__all__ = ["FILTER_PLACES", "PAGE_SIZE", "Transport"]

#: an answer as the transport reads it: httpx's, or the shared client's (``fetch``)
Answered = httpx.Response | Answer

log = logging.getLogger(__name__)

FILTER_PLACES = ("query", "body")
PAGE_SIZE = 100  # the SDK's findAll batch
LOGIN_PATH = "users/login"
_MAX_PAGES = 1000  # a guard against a server that keeps promising another page
# A 4xx to a reservation whose message talks of ports is read as "no free port". OZmap's error
# texts are not documented (docs/ozmap-api.md section 1): the sandbox says NO_FREE_PORT, a real
# server says something in Portuguese or English about a port ("porta", "port", "doors").
_PORT_WORDS = re.compile(r"\b(port|ports|porta|portas|door|doors)\b", re.IGNORECASE)
_ERROR_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,}")  # NO_FREE_PORT, DUPLICATE_CODE, ...
_TOKEN_KEYS = ("authorization", "token", "authenticationKey", "access_token")


def api_root(base_url: str) -> str:
    """The server root of an ``OZMAP_URL`` (with or without ``/api/v2``); ConfigError if it is
    not an http(s) URL."""
    root = base_url.strip().rstrip("/").removesuffix("/api/v2")
    url = httpx.URL(root)
    if url.scheme not in {"http", "https"} or not url.host:
        raise ConfigError(
            f"OZMAP_URL={base_url!r} is not an http(s) URL: set it to e.g. "
            "https://yourisp.ozmap.com.br"
        )
    return str(url).rstrip("/")


class Transport:
    """Requests to one OZmap. Give ``token`` (an API key) or ``login`` and ``password``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        token: str = "",
        login: str = "",
        password: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 0.2,
        filters_in: Literal["query", "body"] = "query",
        page_size: int = PAGE_SIZE,
        rng: random.Random | None = None,
    ) -> None:
        if filters_in not in FILTER_PLACES:
            raise ConfigError(f"OZMAP_FILTERS_IN={filters_in!r}: use query or body")
        if not token and not (login and password):
            raise ConfigError(
                "OZmap needs an API key (OZMAP_TOKEN) or a login and password "
                "(OZMAP_LOGIN, OZMAP_PASSWORD)"
            )
        self.base = api_root(base_url)
        self._api = self.base + "/api/v2/"
        self._http = http
        self._login = login
        self._password = password
        self._uses_login = not token
        self._token = token
        self._generation = 0  # bumped by every login, so concurrent 401s share one
        self._login_lock = asyncio.Lock()
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._retries = max(0, retries)
        self._backoff = backoff
        self.filters_in = filters_in
        self.page_size = page_size
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the key or the token in use, and the password."""
        return tuple(s for s in (self._token, self._password) if s)

    # --- authentication ---------------------------------------------------------------------

    async def _log_in(self, seen: int) -> None:
        """Log in unless another request did since ``seen``."""
        async with self._login_lock:
            if self._generation != seen and self._token:
                return
            body = {"login": self._login, "password": self._password}
            response = await self._send("POST", LOGIN_PATH, params={"type": "API"}, body=body)
            if response.status_code in (400, 401, 403, 404):
                raise OzmapAuthError(
                    f"OZmap refused the login (HTTP {response.status_code}): check OZMAP_LOGIN "
                    "and OZMAP_PASSWORD (the user needs the API module)",
                    status=response.status_code,
                )
            _raise_for_status(response, what="login", reservation=False, login=True)
            token = _token_of(response)
            if not token:
                raise OzmapError("OZmap's login answer carries no token (field authorization)")
            self._token = token
            self._generation += 1

    async def _authorised(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> Answered:
        """Send with the credentials; with a login, log in first and again once on a 401."""
        if self._uses_login and not self._token:
            await self._log_in(self._generation)
        seen = self._generation
        response = await self._send(method, path, params=params, body=body)
        if response.status_code == 401 and self._uses_login:
            await self._log_in(seen)
            response = await self._send(method, path, params=params, body=body)
        return response

    # --- one request ------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Answered:
        """One request, retried only if it is a GET; any answer below 500 is returned."""
        attempts = 1 + (self._retries if method == "GET" else 0)
        resource = path.split("/", 1)[0]
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = self._token
        for attempt in range(attempts):
            cause: Exception | None = None
            try:
                # the shared client's fetch: the same request, no httpx objects built for it
                send = (
                    self._http.fetch if isinstance(self._http, SharedClient) else self._http.request
                )
                response = await send(
                    method,
                    self._api + path,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self._timeout,
                )
            except httpx.TimeoutException as exc:
                cause = exc
                error = OzmapUnavailable(
                    f"OZmap at {self.base} did not answer in time: check OZMAP_URL, or raise "
                    "OZMAP_READ_TIMEOUT if the server is just slow"
                )
            except httpx.TransportError as exc:
                cause = exc
                error = OzmapUnavailable(
                    f"OZmap at {self.base} is unreachable ({type(exc).__name__}): check "
                    "OZMAP_URL and that the server is up"
                )
            else:
                log.debug("ozmap %s %s -> %s", method, resource, response.status_code)
                if response.status_code < 500:
                    return response
                error = OzmapUnavailable(
                    f"OZmap failed (HTTP {response.status_code}"
                    f"{_suffix(_error_fields(response)[0])}): try again later",
                    status=response.status_code,
                )
            if attempt + 1 < attempts:
                log.debug("ozmap %s %s retry %d: %s", method, resource, attempt + 1, error)
                await asyncio.sleep(self._rng.uniform(0, self._backoff * 2**attempt))
                continue
            raise error from cause
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        what: str = "element",
        reservation: bool = False,
    ) -> Any:
        """Send, map errors, and return the decoded JSON (None for an empty body)."""
        response = await self._authorised(method, path, params, body)
        _raise_for_status(response, what=what, reservation=reservation, login=self._uses_login)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise OzmapUnavailable(
                f"OZmap at {self.base} answered with something that is not JSON: check that "
                "OZMAP_URL points at the OZmap API",
                status=response.status_code,
            ) from exc

    # --- lists ------------------------------------------------------------------------------

    def _query(
        self, filters: list[Any] | None, sort: list[Any] | None
    ) -> tuple[dict[str, Any], Any]:
        params: dict[str, Any] = {"limit": self.page_size}
        if self.filters_in == "body":
            body = {k: v for k, v in (("filter", filters), ("sort", sort)) if v}
            return params, body or None
        if filters:
            params["filter"] = json.dumps(filters, separators=(",", ":"))
        if sort:
            params["sort"] = json.dumps(sort, separators=(",", ":"))
        return params, None

    async def rows(
        self, path: str, filters: list[Any] | None = None, sort: list[Any] | None = None
    ) -> list[Mapping[str, Any]]:
        """Every row of a list endpoint, one page after another."""
        params, body = self._query(filters, sort)
        rows: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        page = 1
        for _ in range(_MAX_PAGES):
            payload = await self.call("GET", path, params=params, body=body, what=path)
            try:
                batch, total = list_rows(payload)
            except ValueError as exc:
                raise OzmapError(f"OZmap's {path} list has no rows: {exc}") from exc
            ids = [str(row.get("id") or row.get("_id") or "") for row in batch]
            if ids and all(i and i in seen for i in ids):
                break  # the same rows again: the server does not page the way we asked
            seen.update(ids)
            rows.extend(batch)
            more = payload.get("hasNextPage") if isinstance(payload, Mapping) else None
            next_url = payload.get("nextUrl") if isinstance(payload, Mapping) else None
            if not batch or more is False:
                break
            if more is True and isinstance(next_url, str) and next_url:
                params = dict(parse_qsl(urlsplit(next_url).query, keep_blank_values=True))
                params.setdefault("limit", str(self.page_size))
                continue
            if more is True or (total is not None and len(rows) < total):
                page += 1
                params = {**params, "page": page}
                continue
            break
        return rows


# --- pure helpers ----------------------------------------------------------------------------


def _token_of(response: Answered) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, str) and body:
        return body
    if isinstance(body, Mapping):
        for key in _TOKEN_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value.removeprefix("Bearer ").strip()
    return None


def _suffix(message: str | None) -> str:
    return f": {message}" if message else ""


def _error_fields(response: Answered) -> tuple[str | None, str | None]:
    """The message and the error code (``NO_FREE_PORT``...) of an error answer. OZmap documents
    no error body (docs/ozmap-api.md section 1), so each plausible one is read: ``message``
    beside an ``error`` code, ``error`` as the message itself, ``errors: [{message, code}]``,
    ``error: {code, message}``, and a short plain-text body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        plain = text and len(text) <= 500 and not text.startswith("<")  # not an HTML page
        return (text if plain else None), None
    return _message_in(body), _code_in(body)


def _is_code(value: object) -> bool:
    return isinstance(value, str) and _ERROR_CODE.fullmatch(value) is not None


def _message_in(body: object, depth: int = 0) -> str | None:
    if isinstance(body, str):
        return body.strip() or None
    if depth > 2:
        return None
    if isinstance(body, list):
        return next((m for m in (_message_in(x, depth + 1) for x in body) if m), None)
    if not isinstance(body, Mapping):
        return None
    for key in ("message", "msg", "detail", "description", "error_description"):
        found = _message_in(body.get(key), depth + 1)
        if found:
            return found
    error = body.get("error")
    if isinstance(error, str) and not _is_code(error):
        return error.strip() or None
    return (
        _message_in(error, depth + 1)
        if isinstance(error, Mapping)
        else _message_in(body.get("errors"), depth + 1)
    )


def _code_in(body: object, depth: int = 0) -> str | None:
    if depth > 2:
        return None
    if isinstance(body, list):
        return next((c for c in (_code_in(x, depth + 1) for x in body) if c), None)
    if not isinstance(body, Mapping):
        return None
    for key in ("error", "code"):
        if _is_code(body.get(key)):
            return str(body[key])
    for key in ("error", "errors"):
        found = _code_in(body.get(key), depth + 1)
        if found:
            return found
    return None


def _raise_for_status(response: Answered, *, what: str, reservation: bool, login: bool) -> None:
    status = response.status_code
    if status < 400:
        return
    message, code = _error_fields(response)
    if status in (401, 403):
        fix = "check OZMAP_LOGIN and OZMAP_PASSWORD" if login else "check OZMAP_TOKEN"
        raise OzmapAuthError(
            f"OZmap refused the {'login' if login else 'API key'}: {fix} (HTTP {status}; "
            "the user needs the API module)",
            status=status,
        )
    if status == 404:
        raise OzmapNotFound(message or f"no such {what} in OZmap", status=status)
    if code == "NO_FREE_PORT" or (reservation and message and _PORT_WORDS.search(message)):
        raise NoFreePort(message or "the box has no free port", status=status)
    raise OzmapRejected(message or f"OZmap refused the request (HTTP {status})", status=status)
