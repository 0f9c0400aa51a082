"""OZmap's tutorials, call by call, over real HTTP: 002 reserve, 000 activate, 001 status
(one client and a batch), 004 cancel. Answers are compared with the tutorials' JSON examples."""

from __future__ import annotations

import json

import httpx

from bot.ozmap.sandbox import BOX_900, SPLITTER_900, RunningSandbox
from tests.sandbox.conftest import key_shape
from tests.support.fixtures import ozmap_fixture

# curl --data-raw sends this content type; the sandbox must read the JSON body regardless
CURL_FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_seeded_clients_match_the_tutorial_examples_exactly(api: httpx.AsyncClient) -> None:
    for code, name in (
        ("reserva_123", "properties-client-by-code.implanted.json"),
        ("test-status", "properties-client-by-code.status.json"),
    ):
        response = await api.get(f"/properties/client/{code}")
        assert response.status_code == 200
        assert response.json() == ozmap_fixture(name)


async def test_002_reserve_answers_like_the_tutorial(api: httpx.AsyncClient) -> None:
    request = ozmap_fixture("properties-create.request.json")
    expected = ozmap_fixture("properties-create.response.json")

    response = await api.post("/properties", content=json.dumps(request), headers=CURL_FORM)

    assert response.status_code == 201
    body = response.json()
    assert key_shape(body) == key_shape(expected)
    for field in (
        "observation",
        "tags",
        "cables",
        "kind",
        "address",
        "coords",
        "box",
        "project",
        "pole",
        "lat",
        "lng",
        "disconnect_property",
    ):
        assert body[field] == expected[field], field
    assert isinstance(body["client"], str) and len(body["client"]) == 24
    assert body["history"]["clients"][0]["id"] == body["client"]
    assert body["history"]["clients"][0]["code"] == "123|123"
    assert body["history"]["clients"][0]["exit_date"] is None
    assert body["drop"] and body["id"] != body["client"]


async def test_find_reservation_by_code_with_a_pipe(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    assert (await api.get("/properties/client/123|123")).json() == []  # not in the seed
    created = (
        await api.post("/properties", json=ozmap_fixture("properties-create.request.json"))
    ).json()

    for path in ("/properties/client/123|123", "/properties/client/123%7C123"):
        response = await api.get(path)
        assert response.status_code == 200
        found = response.json()
        expected = ozmap_fixture("properties-client-by-code.reservation.json")
        assert key_shape(found) == key_shape(expected)
        prop = found[0]
        assert prop["_id"] == created["id"]
        assert prop["client"]["_id"] == created["client"]
        assert prop["client"]["implanted"] is False
        assert prop["client"]["code"] == "123|123"
        assert prop["client"]["name"] == "Gabriel Marioto"
        assert prop["connections"] == [
            {
                "id": SPLITTER_900,
                "kind": "Splitter",
                "port": 4,
                "name": "Splitter 1",
                "implanted": True,
                "fiber": prop["connections"][0]["fiber"],
            }
        ]
    splitter = sandbox.network.get("splitters", SPLITTER_900)
    assert splitter is not None
    assert splitter["connectables"]["output"][3] == prop["connections"][0]["fiber"]


async def test_000_activate_a_reservation(api: httpx.AsyncClient) -> None:
    found = (await api.get("/properties/client/reservation_123")).json()
    assert len(found) == 1 and found[0]["client"]["implanted"] is False
    client_id = found[0]["client"]["_id"]

    response = await api.patch(
        f"/ftth-clients/{client_id}", content=b'{ "implanted": true }', headers=CURL_FORM
    )

    assert response.status_code == 204
    assert response.content == b""
    after = (await api.get("/properties/client/reservation_123")).json()
    assert after[0]["client"]["implanted"] is True


async def test_001_read_and_update_a_status(api: httpx.AsyncClient) -> None:
    found = (
        await api.get("/properties/client/test-status", headers={"Accept": "application/json"})
    ).json()
    client_id = found[0]["client"]["_id"]
    assert client_id == "643d32be7112800014c3873f"
    assert found[0]["client"]["status"] == 0

    response = await api.patch(f"/ftth-clients/{client_id}", json={"status": 1})

    assert response.status_code == 204 and response.content == b""
    assert (await api.get(f"/ftth-clients/{client_id}")).json()["status"] == 1


async def test_001_batch_update_of_the_tutorial_ids(api: httpx.AsyncClient) -> None:
    ids = ["643d32be7112800014c3873f", "6400e9c18a21020d261e7df1", "6400e9e28a21020d261e7e32"]
    for cid in ids:
        assert (await api.get(f"/ftth-clients/{cid}")).json()["status"] == 0

    response = await api.post(
        "/ftth-clients/batch-update",
        json={
            "filter": [{"property": "id", "operator": "in", "value": ids}],
            "update": {"status": 1},
        },
    )

    assert response.status_code == 204 and response.content == b""
    for cid in ids:
        assert (await api.get(f"/ftth-clients/{cid}")).json()["status"] == 1
    others = (await api.get("/ftth-clients", params={"limit": -1})).json()["rows"]
    # nobody else was touched: the seed's only other red client is cliente-erro/-massiva-regiao
    assert {c["code"] for c in others if c["status"] == 1} == {
        "test-status",
        "cliente-lote-1",
        "cliente-lote-2",
        "cliente-erro",
        "cliente-massiva-regiao",
    }


async def test_004_cancel_frees_the_port(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    await api.post("/properties", json=ozmap_fixture("properties-create.request.json"))
    sample = sandbox.network.samples["covered"]
    point = {"lat": sample["lat"], "lng": sample["lng"]}

    def ports_of_900(answer: dict[str, object]) -> list[int]:
        boxes = answer["boxes"]
        assert isinstance(boxes, list)
        box = next(b for b in boxes if b["id"] == BOX_900)
        return list(box["splitters"][0]["availablePorts"])

    assert 4 not in ports_of_900((await api.get("/ftth-viability/radius", params=point)).json())
    found = (await api.get("/properties/client/123|123")).json()
    prop_id, client_id = found[0]["_id"], found[0]["client"]["_id"]

    response = await api.delete(f"/properties/{prop_id}")

    assert response.status_code == 204 and response.content == b""
    assert (await api.get("/properties/client/123|123")).json() == []
    assert (await api.get(f"/properties/{prop_id}")).status_code == 404
    assert (await api.get(f"/ftth-clients/{client_id}")).status_code == 404
    assert 4 in ports_of_900((await api.get("/ftth-viability/radius", params=point)).json())
    # and the same port is handed out again
    again = (
        await api.post("/properties", json=ozmap_fixture("properties-create.request.json"))
    ).json()
    prop = (await api.get(f"/properties/{again['id']}")).json()
    assert prop["connections"][0]["port"] == 4
