"""The shared client (bot.httpclient: its lean request building and send, on bot.httptransport's
transport over bot/http11.py) against httpx's own client and transport (httpcore, h11), over
real loopback HTTP: the same calls must put the same bytes on the wire (request line, headers in
order, body) and give the caller the same response, stream and exceptions."""

from __future__ import annotations

import asyncio
import gzip
import json
import string
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.httpclient import TIMEOUT, SharedClient, encode_form, shared_client, with_query
from bot.httptransport import Http11Transport


@dataclass
class Seen:
    line: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Upstream:
    """A loopback HTTP/1.1 server writing down every request exactly as it arrived; how it
    answers depends on the path (see ``answer``)."""

    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def read_request(self, reader: asyncio.StreamReader) -> Seen:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("utf-8")
        line, *lines = head.split("\r\n")[:-2]
        headers = [(n, v.strip()) for n, _, v in (h.partition(":") for h in lines)]
        names = {n.lower(): v for n, v in headers}
        if names.get("transfer-encoding") == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            await reader.readexactly(2)
        else:
            body = await reader.readexactly(int(names.get("content-length", "0")))
        return Seen(line, headers, body)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                seen = await self.read_request(reader)
                self.seen.append(seen)
                if not await self.answer(seen, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def answer(self, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        path = seen.line.split(" ")[1].split("?")[0]
        if path == "/close":
            return False
        if path == "/garbage":
            writer.write(b"HELLO THERE\r\n\r\n")
            return False
        if path == "/partial":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            await writer.drain()
            return False
        if path == "/slow":
            await asyncio.sleep(1.0)
        if path == "/trickle":  # every piece well within the read timeout, all of it beyond
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(5):
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.write(b"2\r\nab\r\n")
            writer.write(b"0\r\n\r\n")
            return True
        if path == "/held":  # the first chunk now, the rest once the test releases it
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            await writer.drain()
            await self.release.wait()
            writer.write(b"4\r\nlast\r\n0\r\n\r\n")
            return True
        if path == "/big":
            body = bytes(range(256)) * (3 * 4096 + 7)  # 3 MB and a bit: read in chunks
            extra = "Content-Type: application/octet-stream\r\n"
        elif path == "/gzip":
            body = gzip.compress("olá, até logo".encode() * 50)
            extra = "Content-Encoding: gzip\r\nContent-Type: text/plain; charset=utf-8\r\n"
        elif path == "/redirect":
            body, extra = b"", "Location: /echo\r\n"
            writer.write(f"HTTP/1.1 302 Found\r\n{extra}Content-Length: 0\r\n\r\n".encode())
            return True
        else:
            body = json.dumps({"line": seen.line, "body": seen.body.decode("latin-1")}).encode()
            extra = (
                "Content-Type: application/json\r\nSet-Cookie: a=1\r\nX-Twice: 1\r\nX-Twice: 2\r\n"
            )
        head = f"HTTP/1.1 200 OK\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        return True


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    up.server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
    async with up.server:
        yield up


@pytest.fixture
async def clients() -> AsyncIterator[tuple[httpx.AsyncClient, SharedClient]]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as reference, shared_client() as ours:
        yield reference, ours


async def chunks() -> AsyncIterator[bytes]:
    for piece in (b"one ", b"two ", b"three"):
        yield piece


CALLS: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
    ("GET", "/echo", lambda: {}),
    ("GET", "/echo?a=1", lambda: {"params": {"b": "c d", "e": ["1", "2"]}}),
    ("GET", "/echo?a=1", lambda: {"params": {}}),
    ("GET", "/echo", lambda: {"params": {"q": "Rua São José, 10"}, "headers": {"Accept": "x"}}),
    ("GET", "/echo", lambda: {"headers": {"Accept": "text/plain", "X-Name": "José".encode()}}),
    (
        "GET",
        "/api/v2/buildings",
        lambda: {
            # an OZmap list request: its filter as query JSON, the point's floats, the paging
            "params": {
                "limit": 100,
                "filter": json.dumps(
                    [
                        {
                            "property": "coords",
                            "operator": "near",
                            "value": {"lat": -27.5, "lng": -48.52, "radius": 80.0},
                        }
                    ],
                    separators=(",", ":"),
                ),
                "page": 2,
                "flag": True,
                "none": None,
            },
            "headers": {"Accept": "application/json", "Authorization": "key"},
        },
    ),
    ("POST", "/echo", lambda: {}),
    ("PUT", "/echo", lambda: {"content": b""}),
    ("DELETE", "/echo", lambda: {"content": b"gone"}),
    ("POST", "/echo", lambda: {"json": {"chat_id": 42, "text": "olá 👋", "ok": [True, None]}}),
    (
        "POST",
        "/echo",
        lambda: {"content": b'{"a":1}', "headers": {"Content-Type": "application/json"}},
    ),
    ("POST", "/echo", lambda: {"content": "só texto"}),
    (
        "POST",
        "/2010-04-01/Messages.json",
        lambda: {
            "data": {
                "To": "whatsapp:+5548991234567",
                "Body": "Olá! 100% fibra & até +1 = ~ok? /sim;\n2ª linha",
                "Flag": True,
                "Off": False,
                "None": None,
                "N": 3,
                "List": ["a b", "c&d"],
            },
            "headers": {"Authorization": "Basic QUMxOnRva2Vu", "Accept": "application/json"},
        },
    ),
    ("POST", "/echo", lambda: {"data": {}, "headers": {"content-type": "text/x-custom"}}),
    ("POST", "/echo", lambda: {"data": {"a": "b"}, "auth": ("AC1", "token")}),
    ("POST", "/echo", lambda: {"content": chunks()}),
    (
        "POST",
        "/upload",
        lambda: {
            "files": {"file": ("a.txt", b"data", "text/plain")},
            "data": {"caption": "foto"},
            "headers": {"Content-Type": "multipart/form-data; boundary=fixedboundary"},
        },
    ),
    ("POST", "/echo", lambda: {"content": b"x", "headers": {"Host": "example.org"}}),
    ("POST", "/echo", lambda: {"content": b"x", "headers": [("X-A", "1"), ("X-A", "2")]}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), CALLS)
async def test_the_upstream_receives_what_httpx_would_send_and_we_read_what_httpx_reads(
    upstream: Upstream,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    method: str,
    path: str,
    kwargs: Callable[[], dict[str, Any]],
) -> None:
    answers = []
    for client in clients:
        answers.append(await client.request(method, upstream.url + path, **kwargs()))
    reference, ours = upstream.seen
    assert ours == reference
    assert ours.line.startswith(f"{method} {path.split('?')[0]}")
    httpx_answer, our_answer = answers
    assert our_answer.status_code == httpx_answer.status_code == 200
    assert our_answer.reason_phrase == httpx_answer.reason_phrase
    assert our_answer.http_version == httpx_answer.http_version
    assert our_answer.headers.multi_items() == httpx_answer.headers.multi_items()
    assert our_answer.headers.get_list("x-twice") == ["1", "2"]
    assert our_answer.content == httpx_answer.content
    assert our_answer.request.headers.raw == httpx_answer.request.headers.raw


async def test_a_request_built_by_the_shared_client_equals_httpxs(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    for method, path, kwargs in CALLS:
        args = kwargs()
        if "auth" in args or isinstance(args.get("content"), AsyncIterator):
            continue  # not build_request's arguments / a stream, read once
        built = [c.build_request(method, "http://up.example" + path, **args) for c in clients]
        assert built[1].method == built[0].method
        assert built[1].url == built[0].url
        assert built[1].headers.raw == built[0].headers.raw
        assert built[1].read() == built[0].read()
        assert built[1].extensions == built[0].extensions


async def test_a_timeout_given_per_request_reaches_the_transport_as_httpx_gives_it(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    for timeout in (2.5, httpx.Timeout(3.0, connect=1.0, pool=0.5), None):
        built = [
            c.build_request("POST", "http://up.example/a", content=b"x", timeout=timeout)
            for c in clients
        ]
        assert built[1].extensions == built[0].extensions


def test_a_query_is_put_on_a_url_as_httpx_puts_it() -> None:
    texts = [
        string.printable,
        "".join(chr(c) for c in range(32, 0x250)),
        "Olá, até já! 👋🏽 São José – nº 5",
        "",
        "a+b=c&d%20e",
        '[{"property":"coords","operator":"near","value":{"lat":-27.5,"lng":-48.5}}]',
    ]
    bases = ["http://x.example/api/v2/boxes", "https://x.example:8443/a?old=1", "http://x/p#frag"]
    for base in bases:
        for text in texts:
            params: dict[str, Any] = {text or "k": text, "T": True, "N": -48.527, "L": [text, None]}
            for given in (params, {}):
                ours = with_query(httpx.URL(base), given)
                theirs = httpx.Request("GET", base, params=given).url
                assert ours == theirs
                assert ours.raw_path == theirs.raw_path  # what goes on the request line
                assert ours.query == theirs.query
                assert ours.params == theirs.params


def test_forms_are_encoded_as_httpx_encodes_them() -> None:
    texts = [
        string.printable,
        "".join(chr(c) for c in range(32, 0x250)),
        "Olá, até já! 👋🏽 São José – nº 5",
        "",
        " leading and trailing ",
        "a+b=c&d%20e",
    ]
    for text in texts:
        data: dict[str, Any] = {text or "k": text, "Flag": True, "N": 1.5, "L": [text, False, None]}
        assert encode_form(data) == httpx.Request("POST", "http://x", data=data).content
    # and urllib agrees, for the plain case
    assert encode_form({"To": "whatsapp:+55 48"}) == urlencode({"To": "whatsapp:+55 48"}).encode()


async def test_a_redirect_is_handed_back_unless_asked_to_follow(
    upstream: Upstream, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    for client in clients:
        kept = await client.get(upstream.url + "/redirect")
        assert kept.status_code == 302
        assert kept.next_request is not None
        assert kept.next_request.url == upstream.url + "/echo"
        followed = await client.get(upstream.url + "/redirect", follow_redirects=True)
        assert followed.status_code == 200
        assert [r.status_code for r in followed.history] == [302]


async def test_event_hooks_and_client_auth_still_run(upstream: Upstream) -> None:
    heard: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        heard.append(request.url.path)

    async with shared_client() as client:
        client.event_hooks = {"request": [on_request], "response": []}
        client.auth = ("AC1", "token")
        await client.post(upstream.url + "/echo", content=b"x")
    assert heard == ["/echo"]
    assert ("Authorization", "Basic QUMxOnRva2Vu") in upstream.seen[0].headers


async def test_a_gzipped_answer_is_decoded_as_httpx_decodes_it(
    upstream: Upstream, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    reference, ours = [await c.get(upstream.url + "/gzip") for c in clients]
    assert ours.text == reference.text == "olá, até logo" * 50


async def test_a_large_answer_streams_in_chunks(
    upstream: Upstream, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    bodies = []
    for client in clients:
        async with client.stream("GET", upstream.url + "/big") as response:
            pieces = [piece async for piece in response.aiter_raw()]
        assert len(pieces) > 1
        bodies.append(b"".join(pieces))
    assert bodies[0] == bodies[1] == bytes(range(256)) * (3 * 4096 + 7)


async def test_a_streamed_answer_is_read_as_it_arrives(
    upstream: Upstream, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    for client in clients:
        upstream.release.clear()
        async with client.stream("GET", upstream.url + "/held") as response:
            parts = response.aiter_bytes()
            first = await asyncio.wait_for(parts.__anext__(), 2.0)  # the rest is still held
            upstream.release.set()
            rest = b"".join([part async for part in parts])
        assert (first, rest) == (b"first", b"last")


async def test_the_read_timeout_bounds_each_wait_not_the_whole_answer(
    upstream: Upstream, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    for client in clients:
        response = await client.get(upstream.url + "/trickle", timeout=httpx.Timeout(5, read=0.3))
        assert response.content == b"ab" * 5
        with pytest.raises(httpx.ReadTimeout):
            await client.get(upstream.url + "/slow", timeout=httpx.Timeout(5, read=0.2))


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/close", httpx.RemoteProtocolError),
        ("/partial", httpx.RemoteProtocolError),
        ("/garbage", httpx.RemoteProtocolError),
    ],
)
async def test_a_broken_answer_raises_the_error_httpx_raises(
    upstream: Upstream,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    path: str,
    error: type[Exception],
) -> None:
    for client in clients:
        with pytest.raises(error):
            await client.get(upstream.url + path)


async def test_nobody_listening_is_a_connect_error_for_both(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    for client in clients:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get(f"ftp://127.0.0.1:{port}/")


async def test_waiting_past_the_pool_timeout_is_a_pool_timeout(upstream: Upstream) -> None:
    """httpx's PoolTimeout, a TimeoutException as every caller of the shared client catches."""
    limits = httpx.Limits(max_connections=1)
    reference = httpx.AsyncClient(limits=limits)
    async with reference, shared_client(transport=Http11Transport(limits)) as ours:
        for client in (reference, ours):
            held = asyncio.create_task(client.get(upstream.url + "/slow"))
            await asyncio.sleep(0.1)
            with pytest.raises(httpx.PoolTimeout):
                await client.get(upstream.url + "/echo", timeout=httpx.Timeout(5, pool=0.2))
            assert (await held).status_code == 200
