"""The client against a scripted OZmap at the httpx transport: headers, URLs, bodies, retries
and the translation of every failure into bot.errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.errors import (
    ConfigError,
    NoFreePort,
    OzmapAuthError,
    OzmapError,
    OzmapNotFound,
    OzmapRejected,
    OzmapUnavailable,
)
from bot.ozmap import ClientStatus, NewReservation, OzmapClient
from bot.settings import load_settings
from tests.ozmap.fake_ozmap import BASE, TOKEN, FakeOzmap, body_of, client_for, filter_of

RESERVATION = NewReservation(
    box="box1",
    lat=-27.5782,
    lng=-48.5274,
    address="R. Delminda Silveira, 900",
    client_code="123|123",
    client_name="Gabriel Marioto",
)
CREATED = {"id": "p1", "client": "c1", "box": "box1", "coords": [-48.5274, -27.5782]}


async def test_requests_carry_the_raw_key_and_the_api_prefix(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    fake.on("GET", "authenticated", {})
    assert await client_for(fake, http).authenticated() is True
    [request] = fake.requests
    assert str(request.url) == f"{BASE}/api/v2/authenticated"
    assert request.headers["Authorization"] == TOKEN  # raw key, no "Bearer", as OZmap's SDK
    assert request.headers["Accept"] == "application/json"


async def test_client_code_is_one_encoded_path_segment(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    fake.on("GET", "properties/client/123%7C123", [{"_id": "p", "client": {"_id": "c"}}])
    fake.on("GET", "properties/client/a%2Fb%20c", [])
    client = client_for(fake, http)
    [prop] = await client.properties_by_client_code("123|123")
    assert (prop.id, prop.client_id) == ("p", "c")
    assert await client.properties_by_client_code("a/b c") == []
    assert [r.url.raw_path for r in fake.requests] == [
        b"/api/v2/properties/client/123%7C123",
        b"/api/v2/properties/client/a%2Fb%20c",
    ]


async def test_unknown_client_code_is_an_empty_list(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    fake.on("GET", "properties/client/nobody", httpx.Response(404, json={"message": "nope"}))
    assert await client_for(fake, http).properties_by_client_code("nobody") == []


async def test_get_is_retried_on_503_then_succeeds(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, json={})])
    fake.on("GET", "boxes/b1", lambda _r: next(answers))
    box = await client_for(fake, http, retries=2).box("b1")
    assert box.id == ""  # the empty document parsed
    assert len(fake.requests) == 3


async def test_get_gives_up_after_the_retries(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("GET", "boxes/b1", httpx.Response(503, json={"message": "maintenance"}))
    with pytest.raises(OzmapUnavailable, match="maintenance") as caught:
        await client_for(fake, http, retries=2).box("b1")
    assert caught.value.status == 503
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"), httpx.ConnectError("refused")]
)
async def test_get_is_retried_on_timeouts_and_connection_errors(
    fake: FakeOzmap, http: httpx.AsyncClient, exc: Exception
) -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise exc
        return httpx.Response(200, json={"viable": False})

    fake.on("GET", "ftth-viability/radius", flaky)
    result = await client_for(fake, http, retries=1).feasibility(-27.5, -48.5, radius=300)
    assert result.viable is False
    assert calls == 2
    assert fake.requests[-1].url.params["radius"] == "300"


async def test_unreachable_names_the_setting_and_chains_the_cause(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.on("GET", "authenticated", down)
    with pytest.raises(OzmapUnavailable, match="OZMAP_URL") as caught:
        await client_for(fake, http, retries=2).authenticated()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "failure", [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.ConnectError("x")]
)
async def test_a_reservation_is_never_sent_twice(
    fake: FakeOzmap, http: httpx.AsyncClient, failure: Any
) -> None:
    def fail(_request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        assert isinstance(failure, httpx.Response)
        return failure

    fake.on("POST", "properties", fail)
    with pytest.raises(OzmapUnavailable):
        await client_for(fake, http, retries=5).create_property(RESERVATION)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("PATCH", "ftth-clients/c1", lambda c: c.update_client("c1", implanted=True)),
        ("DELETE", "properties/p1", lambda c: c.delete_property("p1")),
        ("POST", "ftth-clients/batch-update", lambda c: c.batch_update_clients(["a"], status=1)),
        ("POST", "prospects", lambda c: c.create_prospect("A", "48999", "R", 0.0, 0.0)),
    ],
)
async def test_writes_are_not_retried(
    fake: FakeOzmap, http: httpx.AsyncClient, method: str, path: str, call: Any
) -> None:
    fake.on(method, path, httpx.Response(500))
    with pytest.raises(OzmapUnavailable):
        await call(client_for(fake, http, retries=3))
    assert len(fake.requests) == 1


async def test_bad_key(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("GET", "authenticated", httpx.Response(401, json={"message": "Unauthorized"}))
    fake.on("GET", "boxes/b1", httpx.Response(403))
    client = client_for(fake, http)
    assert await client.authenticated() is False
    with pytest.raises(OzmapAuthError, match="check OZMAP_TOKEN") as caught:
        await client.box("b1")
    assert caught.value.status == 403
    assert len(fake.requests) == 2  # 4xx is never retried


@pytest.mark.parametrize(
    ("status", "body", "auto_connect", "error", "message"),
    [
        (
            422,
            {"error": "NO_FREE_PORT", "message": "CTO-01 has no free port"},
            True,
            NoFreePort,
            "CTO-01",
        ),
        (422, {"error": "NO_FREE_PORT", "message": "x"}, False, NoFreePort, "x"),
        (400, {"message": "Nenhuma porta disponível na caixa"}, True, NoFreePort, "Nenhuma porta"),
        (400, {"message": "No available ports"}, True, NoFreePort, "ports"),
        (400, {"message": "Nenhuma porta disponível na caixa"}, False, OzmapRejected, "porta"),
        (
            409,
            {"error": "DUPLICATE_CODE", "message": "code 123|123 exists"},
            True,
            OzmapRejected,
            "exists",
        ),
        (400, {"message": "opportunity lost"}, True, OzmapRejected, "opportunity"),
        (422, None, True, OzmapRejected, "HTTP 422"),
        (404, {"message": "box not found"}, True, OzmapNotFound, "box not found"),
    ],
)
async def test_reservation_refusals(
    fake: FakeOzmap,
    http: httpx.AsyncClient,
    status: int,
    body: Any,
    auto_connect: bool,
    error: type[Exception],
    message: str,
) -> None:
    answer = httpx.Response(status, json=body) if body is not None else httpx.Response(status)
    fake.on("POST", "properties", answer)
    reservation = RESERVATION.model_copy(update={"auto_connect": auto_connect})
    with pytest.raises(OzmapError, match=message) as caught:
        await client_for(fake, http).create_property(reservation)
    assert type(caught.value) is error
    assert caught.value.status == status


async def test_create_property_sends_the_tutorial_body(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    fake.on("POST", "properties", httpx.Response(201, json=CREATED))
    prop = await client_for(fake, http).create_property(RESERVATION)
    assert (prop.id, prop.client_id, prop.lat) == ("p1", "c1", -27.5782)
    assert body_of(fake.requests[0]) == RESERVATION.to_body()


async def test_delete_of_a_missing_property(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("DELETE", "properties/p1", httpx.Response(204))
    client = client_for(fake, http)
    await client.delete_property("p1")  # 204: nothing to return, nothing raised
    with pytest.raises(OzmapNotFound):
        await client.delete_property("gone")


async def test_update_client_sends_only_what_changes(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    fake.on("PATCH", "ftth-clients/c1", httpx.Response(204))
    client = client_for(fake, http)
    await client.update_client("c1", implanted=True)
    await client.update_client("c1", status=ClientStatus.ERROR, onu={"serial_number": "ZTE1"})
    assert [body_of(r) for r in fake.requests] == [
        {"implanted": True},
        {"status": 1, "onu": {"serial_number": "ZTE1"}},
    ]
    with pytest.raises(ValueError, match="at least one field"):
        await client.update_client("c1")


async def test_batch_update_filters_by_ids(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("POST", "ftth-clients/batch-update", httpx.Response(204))
    client = client_for(fake, http)
    await client.batch_update_clients(["a", "b"], status=ClientStatus.ERROR)
    await client.batch_update_clients([], status=0)  # nothing to do: no request
    assert [body_of(r) for r in fake.requests] == [
        {
            "filter": [{"property": "id", "operator": "in", "value": ["a", "b"]}],
            "update": {"status": 1},
        }
    ]


async def test_prospect_body(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("POST", "prospects", lambda r: httpx.Response(201, json={"_id": "x", **body_of(r)}))
    prospect = await client_for(fake, http).create_prospect(
        "Ana", "+5548999990000", "R. X, 1", -27.5, -48.5, "sem viabilidade", tags=["t1"]
    )
    assert body_of(fake.requests[0]) == {
        "name": "Ana",
        "phone": "+5548999990000",
        "address": "R. X, 1",
        "coords": [-48.5, -27.5],
        "observation": "sem viabilidade",
        "tags": ["t1"],
        "viable": False,
    }
    assert (prospect.id, prospect.lat, prospect.viable) == ("x", -27.5, False)


async def test_lists_follow_next_url_one_page_at_a_time(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    names = [{"id": f"t{i}", "name": f"TAG{i}"} for i in range(5)]

    def page(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params.get("start", 0)), int(request.url.params["limit"])
        rows = names[start : start + limit]
        more = start + limit < len(names)
        body = {"total": 5, "count": len(rows), "start": start, "limit": limit, "rows": rows}
        body["hasNextPage"] = more
        if more:
            body["nextUrl"] = f"/api/v2/tags?start={start + limit}&limit={limit}&x=1"
        return httpx.Response(200, json=body)

    fake.on("GET", "tags", page)
    tags = await client_for(fake, http, page_size=2).tags(["TAG0", "TAG4"])
    assert [t.name for t in tags] == [f"TAG{i}" for i in range(5)]  # the fake ignores the filter
    assert [dict(r.url.params) for r in fake.requests] == [
        {"limit": "2", "filter": '[{"property":"name","operator":"in","value":["TAG0","TAG4"]}]'},
        {"start": "2", "limit": "2", "x": "1"},  # nextUrl's own parameters, on our own path
        {"start": "4", "limit": "2", "x": "1"},
    ]
    assert all(r.url.host == "ozmap.test" for r in fake.requests)
    assert await client_for(fake, http).tags([]) == []
    assert len(fake.requests) == 3


async def test_the_sdk_page_size_is_the_default(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("GET", "tags", {"total": 0, "rows": []})
    await client_for(fake, http).tags()
    assert fake.requests[0].url.params["limit"] == "100"


@pytest.mark.parametrize(
    ("answers", "sent"),
    [
        # no hasNextPage: pages while the total says more is left
        (
            [{"total": 3, "rows": [{"id": "a"}, {"id": "b"}]}, {"total": 3, "rows": [{"id": "c"}]}],
            [None, "2"],
        ),
        # hasNextPage without nextUrl: the next page
        (
            [{"rows": [{"id": "a"}], "hasNextPage": True}, {"rows": [{"id": "b"}]}],
            [None, "2"],
        ),
        # a server that ignores the page: the same rows again end it
        (
            [{"total": 9, "rows": [{"id": "a"}]}, {"total": 9, "rows": [{"id": "a"}]}],
            [None, "2"],
        ),
        # an empty page ends it whatever was promised
        ([{"rows": [{"id": "a"}], "hasNextPage": True}, {"rows": [], "hasNextPage": True}], None),
        # a bare array is one page
        ([[{"id": "a"}, {"id": "b"}]], [None]),
    ],
)
async def test_servers_that_page_otherwise(
    fake: FakeOzmap, http: httpx.AsyncClient, answers: list[Any], sent: list[str | None] | None
) -> None:
    replies = iter(answers)
    fake.on("GET", "tags", lambda _r: httpx.Response(200, json=next(replies)))
    tags = await client_for(fake, http).tags()
    assert sorted({t.id for t in tags}) == sorted(
        {
            row["id"]
            for answer in answers
            for row in (answer if isinstance(answer, list) else answer["rows"])
        }
    )
    if sent is not None:
        assert [r.url.params.get("page") for r in fake.requests] == sent
    assert len(fake.requests) == len(answers)


async def test_filters_in_the_get_body_as_the_sdk_sends_them(
    fake: FakeOzmap, http: httpx.AsyncClient
) -> None:
    fake.on("GET", "ftth-clients", {"total": 1, "rows": [{"id": "c1", "code": "x"}]})
    client = client_for(fake, http, filters_in="body")
    assert (await client.client_by_code("x")).id == "c1"
    [request] = fake.requests
    assert "filter" not in request.url.params
    assert body_of(request) == {"filter": [{"property": "code", "operator": "=", "value": "x"}]}


async def test_an_empty_code_asks_nothing(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    assert await client_for(fake, http).properties_by_client_code(" ") == []
    assert fake.requests == []


async def test_client_by_code_and_regions(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    fake.on("GET", "ftth-clients", lambda r: httpx.Response(200, json={"total": 0, "rows": []}))
    fake.on("GET", "regions", [{"_id": "r1", "name": "Centro", "tags": ["massiva"]}])
    client = client_for(fake, http)
    with pytest.raises(OzmapNotFound, match="check the code"):
        await client.client_by_code("nobody")
    assert filter_of(fake.requests[0]) == [{"property": "code", "operator": "=", "value": "nobody"}]
    [region] = await client.regions_at(-27.5, -48.5)
    assert (region.id, region.tags) == ("r1", ["massiva"])
    assert filter_of(fake.requests[1]) == [
        {
            "property": "polygon",
            "operator": "point-intersect",
            "value": {"lat": -27.5, "lng": -48.5},
        }
    ]


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (httpx.Response(200, text="<html>login</html>"), OzmapUnavailable, "not JSON"),
        (httpx.Response(200, json={"rows": "x"}), OzmapError, "no rows"),
        (httpx.Response(200, json={"rows": [{"name": 5}]}), OzmapError, "unexpected shape"),
    ],
)
async def test_odd_answers_become_ozmap_errors(
    fake: FakeOzmap, http: httpx.AsyncClient, answer: httpx.Response, error: type, message: str
) -> None:
    fake.on("GET", "tags", answer)
    with pytest.raises(error, match=message):
        await client_for(fake, http).tags()


async def test_settings_build_the_client(fake: FakeOzmap, http: httpx.AsyncClient) -> None:
    env = {"OZMAP_URL": BASE, "OZMAP_TOKEN": TOKEN, "OZMAP_RETRIES": "0"}
    fake.on("GET", "boxes/b", httpx.Response(503))
    client = OzmapClient.from_settings(load_settings(env, env_file=None), http)
    with pytest.raises(OzmapUnavailable):
        await client.box("b")
    assert len(fake.requests) == 1  # OZMAP_RETRIES=0 reached the client
    assert TOKEN not in repr(client)
    with pytest.raises(ConfigError, match="OZMAP_TOKEN"):
        OzmapClient.from_settings(load_settings({}, env_file=None), http)
    with pytest.raises(ConfigError, match="OZMAP_LOGIN and OZMAP_PASSWORD"):
        OzmapClient.from_settings(load_settings({"OZMAP_AUTH": "login"}, env_file=None), http)


@pytest.mark.parametrize("base", [BASE, BASE + "/", BASE + "/api/v2", BASE + "/api/v2/"])
async def test_the_base_url_may_carry_the_api_prefix(
    fake: FakeOzmap, http: httpx.AsyncClient, base: str
) -> None:
    fake.on("GET", "authenticated", {})
    assert await OzmapClient(http, base, TOKEN).authenticated() is True
    assert str(fake.requests[0].url) == f"{BASE}/api/v2/authenticated"


@pytest.mark.parametrize("url", ["ozmap.example.com", "ftp://x", ""])
async def test_a_malformed_url_is_a_config_error(http: httpx.AsyncClient, url: str) -> None:
    with pytest.raises(ConfigError, match="OZMAP_URL"):
        OzmapClient(http, url, TOKEN)
