"""A scripted OZmap at the httpx transport: routes answer by (method, path), every request is
recorded. Used where the real sandbox cannot produce the situation (5xx, timeouts, odd bodies)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.ozmap.client import OzmapClient

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]

BASE = "http://ozmap.test:9994"
TOKEN = "test-key-123456"


class FakeOzmap:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, handler: Handler | httpx.Response | Any) -> None:
        """Answer ``method path`` (path after /api/v2/) with a handler, a Response, or JSON."""
        if isinstance(handler, httpx.Response):
            response = handler
            self.routes[(method, path)] = lambda _req: response
        elif callable(handler):
            self.routes[(method, path)] = handler
        else:
            payload = handler
            self.routes[(method, path)] = lambda _req: httpx.Response(200, json=payload)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?", 1)[0].removeprefix("/api/v2/")
        handler = self.routes.get((request.method, path))
        if handler is None:
            return httpx.Response(404, json={"message": f"no route {request.method} {path}"})
        result = handler(request)
        if not isinstance(result, httpx.Response):
            result = await result
        return result

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix("/api/v2/") for r in self.requests]


def filter_of(request: httpx.Request) -> Any:
    raw = request.url.params.get("filter")
    return json.loads(raw) if raw else None


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def client_for(fake: FakeOzmap, http: httpx.AsyncClient, **options: Any) -> OzmapClient:
    options.setdefault("backoff", 0.0)
    return OzmapClient(http, BASE, TOKEN, connect_timeout=1.0, read_timeout=2.0, **options)
