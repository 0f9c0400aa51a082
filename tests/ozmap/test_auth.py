"""Both ways to authenticate, as OZmap's SDK does: the API key as the raw Authorization header,
or a login (``POST /users/login?type=API``, the token of its answer, a new login once on 401)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.errors import OzmapAuthError, OzmapError
from bot.ozmap import OzmapClient
from bot.ozmap.sandbox import RunningSandbox
from tests.ozmap.fake_ozmap import BASE, FakeOzmap, body_of


async def test_login_against_the_sandbox(sandbox: RunningSandbox) -> None:
    paths: list[str] = []

    async def record(request: httpx.Request) -> None:
        paths.append(f"{request.method} {request.url.path.removeprefix('/api/v2/')}")

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        ozmap = OzmapClient(http, sandbox.url, login="devoz", password="devoz")
        assert await ozmap.authenticated() is True
        covered = sandbox.network.samples["covered"]
        assert (await ozmap.feasibility(covered["lat"], covered["lng"])).viable is True
        assert sandbox.token in ozmap.secrets and "devoz" in ozmap.secrets
        wrong = OzmapClient(http, sandbox.url, login="devoz", password="nope")
        assert await wrong.authenticated() is False
        with pytest.raises(OzmapAuthError, match="check OZMAP_LOGIN and OZMAP_PASSWORD"):
            await wrong.box("x")
    # one login, then the calls: the token is reused
    assert paths[:3] == ["POST users/login", "GET authenticated", "GET ftth-viability/radius"]


class Expiring:
    """A scripted OZmap whose tokens expire: each login hands out the next token, and only the
    latest one is accepted."""

    def __init__(self, fake: FakeOzmap) -> None:
        self.issued = 0
        self.logins: list[dict[str, str]] = []
        self.fake = fake
        fake.on("POST", "users/login", self.login)

    def login(self, request: httpx.Request) -> httpx.Response:
        assert request.url.params["type"] == "API"
        self.logins.append(body_of(request))
        self.issued += 1
        return httpx.Response(200, json={"authorization": f"token-{self.issued}", "user": {}})

    def expire(self) -> None:
        self.issued += 1  # what the server accepts moves on; the client's token is stale

    def guarded(self, status: int, payload: object) -> object:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.headers.get("Authorization") != f"token-{self.issued}":
                return httpx.Response(401, json={"message": "jwt expired"})
            return httpx.Response(status, json=payload)

        return handler


async def test_a_new_login_once_on_401_then_the_request_again(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    server = Expiring(fake)
    fake.on("GET", "boxes/b1", server.guarded(200, {"id": "b1"}))
    fake.on("POST", "prospects", server.guarded(201, {"id": "p1"}))
    ozmap = OzmapClient(http, BASE, login="bot", password="s3cret", backoff=0)
    assert (await ozmap.box("b1")).id == "b1"
    server.expire()
    assert (await ozmap.create_prospect("Ana", "", "R", 0.0, 0.0)).id == "p1"
    assert server.logins == [{"login": "bot", "password": "s3cret"}] * 2
    assert [r.headers.get("Authorization") for r in fake.requests if r.method != "POST"] == [
        "token-1"
    ]
    # the refused POST was not applied (401): sent again once with the new token
    posts = [r.headers["Authorization"] for r in fake.requests if r.url.path.endswith("prospects")]
    assert posts == ["token-1", "token-3"]


async def test_a_second_401_is_an_auth_error_not_a_loop(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    Expiring(fake)
    fake.on("GET", "boxes/b1", httpx.Response(401, json={"message": "no API module"}))
    ozmap = OzmapClient(http, BASE, login="bot", password="s3cret")
    with pytest.raises(OzmapAuthError, match="OZMAP_LOGIN"):
        await ozmap.box("b1")
    assert [r.url.path.removeprefix("/api/v2/") for r in fake.requests] == [
        "users/login",
        "boxes/b1",
        "users/login",
        "boxes/b1",
    ]


async def test_concurrent_requests_share_one_login(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    server = Expiring(fake)
    fake.on("GET", "boxes/b1", server.guarded(200, {"id": "b1"}))
    ozmap = OzmapClient(http, BASE, login="bot", password="s3cret")
    await asyncio.gather(*(ozmap.box("b1") for _ in range(5)))
    server.expire()
    await asyncio.gather(*(ozmap.box("b1") for _ in range(5)))
    assert len(server.logins) == 2


async def test_an_api_key_never_logs_in(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("GET", "boxes/b1", httpx.Response(401, json={"message": "Unauthorized"}))
    with pytest.raises(OzmapAuthError, match="check OZMAP_TOKEN"):
        await OzmapClient(http, BASE, "key-123").box("b1")
    assert [r.url.path for r in fake.requests] == ["/api/v2/boxes/b1"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(200, json={"user": {}}), "carries no token"),
        (httpx.Response(401, json={"message": "bad"}), "refused the login"),
    ],
)
async def test_a_login_that_gives_no_token(
    fake: FakeOzmap, http: httpx.AsyncClient, answer: httpx.Response, message: str
) -> None:
    fake.on("POST", "users/login", answer)
    with pytest.raises(OzmapError, match=message):
        await OzmapClient(http, BASE, login="bot", password="s3cret").box("b1")


async def test_other_token_fields_are_read(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("POST", "users/login", httpx.Response(200, json={"token": "Bearer abc"}))
    fake.on("GET", "boxes/b1", {"id": "b1"})
    await OzmapClient(http, BASE, login="bot", password="s3cret").box("b1")
    assert fake.requests[-1].headers["Authorization"] == "abc"
    assert json.loads(fake.requests[0].content) == {"login": "bot", "password": "s3cret"}
