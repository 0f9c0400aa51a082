"""bot/http11.py under the shared transport: what a real upstream can do to a kept-alive
connection (close it, answer in odd framings, stall, speak TLS), over loopback sockets. The
answers the contract test compares with httpx's own transport are in test_http_contract.py;
these are the cases where what matters is the pool's state afterwards."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot.httpclient import SharedClient, shared_client
from bot.httptransport import Http11Transport

# A self-signed certificate for localhost and 127.0.0.1, valid a hundred years, made with
#   openssl req -x509 -newkey rsa:2048 -nodes -keyout loopback.key -out loopback.crt \
#     -days 36500 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1
# Its key guards nothing but these tests.
TLS = Path(__file__).parent / "tls"

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

Answer = Callable[[int, int, bytes, asyncio.StreamWriter], Awaitable[bool]]
Start = Callable[..., Awaitable["Scripted"]]


@dataclass
class Scripted:
    """A loopback server whose ``answer(connection number, request number on it, request line,
    writer)`` writes the answer and says whether to keep the connection; it counts connections
    and requests."""

    answer: Answer
    connections: int = 0
    requests: list[tuple[int, bytes]] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            for count in range(1, 100):
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                line = head.split(b"\r\n")[0]
                self.requests.append((number, line))
                if not await self.answer(number, count, line, writer):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[..., Awaitable[Scripted]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer, context: ssl.SSLContext | None = None) -> Scripted:
        up = Scripted(answer)
        up.server = await asyncio.start_server(up.handle, "127.0.0.1", 0, ssl=context)
        servers.append(up.server)
        return up

    yield start
    for server in servers:
        server.close()


def client(**limits: float) -> SharedClient:
    return shared_client(transport=Http11Transport(httpx.Limits(**limits)))  # type: ignore[arg-type]


async def always_ok(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(OK)
    return True


async def test_a_kept_alive_connection_carries_the_next_requests(scripted: Start) -> None:
    up = await scripted(always_ok)
    async with client() as http:
        for _ in range(3):
            assert (await http.get(f"http://127.0.0.1:{up.port}/")).text == "ok"
            assert (
                await http.fetch("POST", f"http://127.0.0.1:{up.port}/", content=b"x")
            ).content == b"ok"
    assert up.connections == 1
    assert len(up.requests) == 6


async def test_a_server_closing_an_idle_kept_alive_connection_costs_nothing(
    scripted: Start,
) -> None:
    async def then_close(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(OK)
        return False  # closed after answering, though the answer said nothing of it

    up = await scripted(then_close)
    async with client() as http:
        for _ in range(3):
            await asyncio.sleep(0.05)  # the close arrives while the connection is idle
            answer = await http.fetch("POST", f"http://127.0.0.1:{up.port}/", content=b"x")
            assert answer.content == b"ok"
    assert up.connections == 3


async def test_connection_close_in_the_answer_is_honoured(scripted: Start) -> None:
    async def closing(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.3)  # the server would take another request: we must not send it
        return True

    up = await scripted(closing)
    async with client() as http:
        for _ in range(2):
            assert (await http.fetch("GET", f"http://127.0.0.1:{up.port}/")).content == b"ok"
    assert up.connections == 2


async def test_a_reused_connection_closed_unanswered_retries_a_get_but_not_a_post(
    scripted: Start,
) -> None:
    """The race a keep-alive timeout leaves: the server closes the connection as the request
    goes out. A GET goes again on a fresh connection; a POST may have been acted on, so it
    fails as httpx's own transport fails it."""

    async def first_only(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        if count == 1:
            writer.write(OK)
            return True
        return False  # the second request on a connection: closed, unanswered

    up = await scripted(first_only)
    url = f"http://127.0.0.1:{up.port}/"
    async with client() as http:
        await http.fetch("GET", url)
        assert (await http.fetch("GET", url)).content == b"ok"
        assert up.connections == 2
        with pytest.raises(httpx.RemoteProtocolError):
            await http.fetch("POST", url, content=b"send once")
    assert [line for _, line in up.requests].count(b"POST / HTTP/1.1") == 1


async def test_a_body_left_half_read_closes_its_connection_and_frees_its_place(
    scripted: Start,
) -> None:
    async def big(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        body = b"x" * (2 << 20)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        return True

    up = await scripted(big)
    url = f"http://127.0.0.1:{up.port}/"
    async with client(max_connections=1) as http:
        async with http.stream("GET", url) as response:
            first = await response.aiter_raw().__anext__()
            assert 0 < len(first) < 2 << 20
        # the one place is free again, and the half-read connection was not kept
        whole = await asyncio.wait_for(http.fetch("GET", url, timeout=httpx.Timeout(5, pool=1)), 5)
        assert len(whole.content) == 2 << 20
    assert up.connections == 2


async def test_a_body_running_to_the_close_ends_there(scripted: Start) -> None:
    async def unframed(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
        return False

    up = await scripted(unframed)
    async with client() as http, httpx.AsyncClient() as reference:
        url = f"http://127.0.0.1:{up.port}/"
        assert (await http.fetch("GET", url)).content == b"all of it"
        assert (await http.get(url)).content == (await reference.get(url)).content == b"all of it"


async def test_an_interim_answer_is_skipped_and_a_head_answer_has_no_body(scripted: Start) -> None:
    async def odd(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        if line.startswith(b"HEAD "):  # the length a GET's body would have, and no body
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
            return True
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
        return True

    up = await scripted(odd)
    url = f"http://127.0.0.1:{up.port}/"
    async with client() as http:
        answer = await http.fetch("POST", url, content=b"x")
        assert (answer.status_code, answer.content) == (200, b"ok")
        head = await asyncio.wait_for(http.head(url), 5)  # Content-Length 2, yet no body follows
        assert (head.status_code, head.content) == (200, b"")
        assert (await http.fetch("GET", url)).content == b"ok"


async def test_a_stalled_answer_is_a_read_timeout_and_its_connection_is_dropped(
    scripted: Start,
) -> None:
    async def stall_first(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        if conn == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
            await writer.drain()
            await asyncio.sleep(2)
            return False
        writer.write(OK)
        return True

    up = await scripted(stall_first)
    url = f"http://127.0.0.1:{up.port}/"
    async with client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.fetch("GET", url, timeout=httpx.Timeout(5, read=0.2))
        assert (await http.fetch("GET", url)).content == b"ok"
    assert up.connections == 2


async def test_a_handshake_that_never_comes_is_a_connect_timeout(scripted: Start) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)  # accepts the TCP connection, never answers the TLS hello
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, client() as http:
        with pytest.raises(httpx.ConnectTimeout):
            await http.fetch(
                "GET", f"https://127.0.0.1:{port}/", timeout=httpx.Timeout(5, connect=0.2)
            )


async def test_waiting_past_the_pool_timeout_is_a_pool_timeout(scripted: Start) -> None:
    async def slow(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.5)
        writer.write(OK)
        return True

    up = await scripted(slow)
    url = f"http://127.0.0.1:{up.port}/"
    async with client(max_connections=1) as http:
        held = asyncio.create_task(http.fetch("GET", url))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await http.fetch("GET", url, timeout=httpx.Timeout(5, pool=0.1))
        assert (await held).content == b"ok"
        # one waiting for the place gets it once the held request is done
        first = asyncio.create_task(http.fetch("GET", url))
        second = asyncio.create_task(http.fetch("GET", f"http://localhost:{up.port}/"))
        assert [a.content for a in await asyncio.gather(first, second)] == [b"ok", b"ok"]


def server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "loopback.crt", TLS / "loopback.key")
    return context


async def test_tls_to_a_loopback_server_verifies_its_certificate(scripted: Start) -> None:
    up = await scripted(always_ok, server_context())
    trusting = ssl.create_default_context(cafile=str(TLS / "loopback.crt"))
    async with shared_client(transport=Http11Transport(verify=trusting)) as http:
        for host in ("127.0.0.1", "localhost"):
            assert (
                await http.fetch("POST", f"https://{host}:{up.port}/", json={"a": 1})
            ).content == b"ok"
            assert (await http.get(f"https://{host}:{up.port}/")).http_version == "HTTP/1.1"
    assert up.connections == 2  # one a host, kept alive across its requests
    async with client() as http:  # the system's authorities know nothing of this certificate
        with pytest.raises(httpx.ConnectError):
            await http.fetch("GET", f"https://localhost:{up.port}/")


async def test_a_header_smuggling_a_line_in_is_refused(scripted: Start) -> None:
    up = await scripted(always_ok)
    async with client() as http:
        for bad in ("x\r\nX-Injected: 1", "x\nX-Injected: 1", "x\rX"):
            with pytest.raises(httpx.LocalProtocolError):
                await http.fetch("GET", f"http://127.0.0.1:{up.port}/", headers={"X-Note": bad})
    assert up.requests == []


async def test_an_idle_connection_past_its_expiry_is_not_reused(scripted: Start) -> None:
    up = await scripted(always_ok)
    async with client(keepalive_expiry=0.1) as http:
        await http.fetch("GET", f"http://127.0.0.1:{up.port}/")
        await asyncio.sleep(0.2)
        await http.fetch("GET", f"http://127.0.0.1:{up.port}/")
    assert up.connections == 2


async def test_an_answer_with_endless_headers_is_refused(scripted: Start) -> None:
    async def endless(conn: int, count: int, line: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-More: yes\r\n" * 1000 + b"\r\n")
        return False

    up = await scripted(endless)
    async with client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.fetch("GET", f"http://127.0.0.1:{up.port}/")
