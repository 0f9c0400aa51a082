"""``SharedClient.fetch``, the lean path the Telegram, Twilio and OZmap requests take: the
upstream receives what httpx's own client sends, the answer reads as httpx reads it, and its
failures are httpx's, whether the request goes to the transport as parts, through the OZmap
meter, or (on any other transport) through ``request``."""

# ruff: noqa: F811 - the contract test's fixtures, imported by name, are the tests' arguments

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.httpclient import TIMEOUT, SharedClient, mount_for, shared_client, shared_transport
from bot.httptransport import Answer
from bot.metrics import Metrics
from tests.channels.test_http_contract import (  # noqa: F401 - fixtures, used by name
    CALLS,
    Upstream,
    clients,
    upstream,
)


def fetchable(kwargs: dict[str, Any]) -> bool:
    """What ``fetch`` takes: no auth or files, a body given whole."""
    if "auth" in kwargs or "files" in kwargs:
        return False
    return not isinstance(kwargs.get("content"), AsyncIterator)


FETCHED = [call for call in CALLS if fetchable(call[2]())]


def same_reading(ours: Answer, theirs: httpx.Response) -> None:
    assert ours.status_code == theirs.status_code
    assert ours.reason_phrase == theirs.reason_phrase
    assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert ours.content == theirs.content
    assert ours.text == theirs.text
    if theirs.headers.get("content-type") == "application/json":
        assert ours.json() == theirs.json()


@pytest.mark.parametrize(("method", "path", "kwargs"), FETCHED)
async def test_the_upstream_receives_what_httpx_sends_and_the_answer_reads_the_same(
    upstream: Upstream,
    clients: tuple[httpx.AsyncClient, SharedClient],
    method: str,
    path: str,
    kwargs: Callable[[], dict[str, Any]],
) -> None:
    reference, ours = clients
    theirs = await reference.request(method, upstream.url + path, **kwargs())
    answer = await ours.fetch(method, upstream.url + path, **kwargs())
    assert isinstance(answer, Answer)
    sent_by_httpx, sent_by_fetch = upstream.seen
    assert sent_by_fetch == sent_by_httpx
    same_reading(answer, theirs)


async def test_a_gzipped_answer_is_decoded_and_a_redirect_is_the_answer(
    upstream: Upstream, clients: tuple[httpx.AsyncClient, SharedClient]
) -> None:
    reference, ours = clients
    for path in ("/gzip", "/redirect"):
        same_reading(
            await ours.fetch("GET", upstream.url + path), await reference.get(upstream.url + path)
        )
    assert (await ours.fetch("GET", upstream.url + "/gzip")).text == "olá, até logo" * 50
    assert (await ours.fetch("GET", upstream.url + "/redirect")).status_code == 302


@pytest.mark.parametrize(
    ("path", "limits", "error"),
    [
        ("/close", TIMEOUT, httpx.RemoteProtocolError),
        ("/partial", TIMEOUT, httpx.RemoteProtocolError),
        ("/garbage", TIMEOUT, httpx.RemoteProtocolError),
        ("/slow", httpx.Timeout(5, read=0.2), httpx.ReadTimeout),
    ],
)
async def test_a_broken_or_slow_answer_raises_what_httpx_raises(
    upstream: Upstream,
    clients: tuple[httpx.AsyncClient, SharedClient],
    path: str,
    limits: httpx.Timeout,
    error: type[Exception],
) -> None:
    for client in clients:
        with pytest.raises(error):
            await client.request("GET", upstream.url + path, timeout=limits)
    with pytest.raises(error):
        await clients[1].fetch("GET", upstream.url + path, timeout=limits)


async def test_nobody_listening_and_another_scheme_fail_as_in_httpx(
    clients: tuple[httpx.AsyncClient, SharedClient],
) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(httpx.ConnectError):
        await clients[1].fetch("GET", f"http://127.0.0.1:{port}/")
    with pytest.raises(httpx.UnsupportedProtocol):
        await clients[1].fetch("GET", f"ftp://127.0.0.1:{port}/")


async def test_on_another_transport_fetch_is_request_read() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ok": True}, headers={"X-Twice": "1"})

    fake = httpx.MockTransport(answer)
    async with shared_client({"http://up.example": fake}) as client:
        fetched = await client.fetch("POST", "http://up.example/a", json={"a": 1})
        built = client.build_request("POST", "http://up.example/a", json={"a": 1})
    assert (fetched.status_code, fetched.json(), fetched.headers["x-twice"]) == (
        201,
        {"ok": True},
        "1",
    )
    assert seen[0].headers.raw == built.headers.raw
    assert seen[0].content == built.content == b'{"a":1}'


async def test_what_httpx_must_handle_itself_still_goes_through_it(upstream: Upstream) -> None:
    heard: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        heard.append(request.url.path)

    async with shared_client() as client:
        client.event_hooks = {"request": [on_request], "response": []}
        client.auth = ("AC1", "token")
        answer = await client.fetch("POST", upstream.url + "/echo", content=b"x")
    assert answer.status_code == 200
    assert heard == ["/echo"]
    assert ("Authorization", "Basic QUMxOnRva2Vu") in upstream.seen[0].headers


def counted(metrics: Metrics, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def test_the_ozmap_meter_times_and_counts_a_fetch(upstream: Upstream) -> None:
    metrics = Metrics()
    transport = shared_transport()
    api = upstream.url + "/api/v2"
    mounts = metrics.meter_ozmap(mount_for(api, transport), api)
    async with shared_client(mounts, transport=transport) as client:
        answer = await client.fetch("GET", api + "/boxes", params={"limit": 100})
    assert answer.status_code == 200
    assert upstream.seen[0].line == "GET /api/v2/boxes?limit=100 HTTP/1.1"
    assert counted(metrics, "ozbot_ozmap_requests_total", operation="GET boxes", outcome="ok") == 1
    assert counted(metrics, "ozbot_ozmap_request_seconds_count", operation="GET boxes") == 1


async def test_the_ozmap_meter_over_another_transport_counts_too() -> None:
    metrics = Metrics()
    api = "http://oz.example/api/v2"
    fake = httpx.MockTransport(lambda request: httpx.Response(503))
    async with shared_client(metrics.meter_ozmap({"http://oz.example": fake}, api)) as client:
        answer = await client.fetch("GET", api + "/boxes")
    assert answer.status_code == 503
    assert (
        counted(metrics, "ozbot_ozmap_requests_total", operation="GET boxes", outcome="failed") == 1
    )
