"""The shared outbound client (bot.httpclient.shared_client): httpx's interface on its own
transport, over real loopback sockets: connections kept alive and reused, httpx's exceptions and
timeouts, mounts taking precedence (as the tests' fakes need)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.httpclient import mount_for, shared_client, shared_transport
from bot.httptransport import Http11Transport


class Upstream:
    """A loopback HTTP/1.1 server counting its connections; answers JSON echoing the request
    (method, path, body), after ``delay`` seconds."""

    def __init__(self) -> None:
        self.connections = 0
        self.delay = 0.0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                method, path, _ = head.split(" ", 2)
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = (await reader.readexactly(length)).decode()
                await asyncio.sleep(self.delay)
                answer = json.dumps({"method": method, "path": path, "body": body}).encode()
                head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                head += f"Content-Length: {len(answer)}\r\n\r\n"
                writer.write(head.encode() + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    up.server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
    async with up.server:
        yield up


async def test_the_default_transport_is_ours() -> None:
    async with shared_client() as client:
        transport = client._transport_for_url(httpx.URL("https://api.telegram.org/bot1/getMe"))
        assert isinstance(transport, Http11Transport)


async def test_requests_go_out_and_reuse_one_kept_alive_connection(upstream: Upstream) -> None:
    async with shared_client() as client:
        for i in range(10):
            response = await client.post(upstream.url + "/bot1/sendMessage", json={"n": i})
            assert response.status_code == 200
            assert response.json() == {
                "method": "POST",
                "path": "/bot1/sendMessage",
                "body": json.dumps({"n": i}, separators=(",", ":")),
            }
    assert upstream.connections == 1


async def test_form_posts_with_basic_auth_as_twilio_sends_them(upstream: Upstream) -> None:
    async with shared_client() as client:
        response = await client.post(
            upstream.url + "/2010-04-01/Messages.json",
            data={"To": "whatsapp:+5548", "Body": "olá"},
            auth=("AC1", "token"),
        )
    assert response.json()["body"] == "To=whatsapp%3A%2B5548&Body=ol%C3%A1"


async def test_a_slow_answer_is_httpx_read_timeout(upstream: Upstream) -> None:
    upstream.delay = 1.0
    async with shared_client() as client:
        with pytest.raises(httpx.TimeoutException):
            await client.get(upstream.url + "/slow", timeout=httpx.Timeout(5.0, read=0.1))


async def test_nobody_listening_is_an_httpx_transport_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with shared_client() as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_mounts_take_precedence_over_the_default_transport() -> None:
    def fake(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"faked": str(request.url)})

    mounts = {"https://api.telegram.org": httpx.MockTransport(fake)}
    async with shared_client(mounts) as client:
        response = await client.get("https://api.telegram.org/bot1/getMe")
    assert response.json() == {"faked": "https://api.telegram.org/bot1/getMe"}


def test_an_upstream_mount_is_keyed_by_its_origin() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    assert mount_for("http://127.0.0.1:9994/api/v2", transport) == {
        "http://127.0.0.1:9994": transport
    }
    assert mount_for("https://ozmap.example.com.br/api/v2", transport) == {
        "https://ozmap.example.com.br": transport
    }
    assert mount_for("not a url", transport) == {}


async def test_the_metered_ozmap_upstream_keeps_the_shared_transport() -> None:
    from bot.metrics import MeteredTransport, Metrics

    transport = shared_transport()
    url = "http://127.0.0.1:9994/api/v2"
    mounts = Metrics().meter_ozmap(mount_for(url, transport), url)
    async with shared_client(mounts, transport=transport) as client:
        metered = client._transport_for_url(httpx.URL(url + "/boxes"))
        assert isinstance(metered, MeteredTransport)
        assert metered._inner is transport


async def test_cookies_an_upstream_sets_are_not_kept() -> None:
    sent: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"})

    async with shared_client({"http://up.example": httpx.MockTransport(answer)}) as client:
        await client.get("http://up.example/a")
        await client.get("http://up.example/b")
    assert sent == [None, None]
