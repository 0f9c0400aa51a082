"""POST /properties semantics: auto_connect, force, buildings, errors, concurrency; client PATCH
validation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bot.ozmap.sandbox import BOX_900, SPLITTER_900, THREE_FREE_PORTS_BOX, RunningSandbox
from tests.sandbox.conftest import reservation


def box_named(sandbox: RunningSandbox, name: str) -> dict[str, Any]:
    return next(b for b in sandbox.network.docs("boxes") if b["name"] == name)


async def port_of(api: httpx.AsyncClient, created: dict[str, Any]) -> int:
    prop = (await api.get(f"/properties/{created['id']}")).json()
    return int(prop["connections"][0]["port"])


async def test_first_free_port_skips_blocked_ports(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    splitter = sandbox.network.get("splitters", SPLITTER_900)
    assert splitter is not None
    splitter["ports"][3]["blocked"] = True  # port 4, the first free one

    created = (await api.post("/properties", json=reservation("a1", BOX_900))).json()

    assert await port_of(api, created) == 5


async def test_without_force_a_splitter_off_the_pon_is_refused(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    box = box_named(sandbox, "CTO-AGR-12")  # free ports, splitter input not attached

    refused = await api.post("/properties", json=reservation("a2", box["_id"], force=False))

    assert refused.status_code == 422
    assert refused.json()["error"] == "NO_FREE_PORT"
    assert "force" in refused.json()["message"]
    assert (await api.get("/properties/client/a2")).json() == []  # nothing half-created

    forced = await api.post("/properties", json=reservation("a2", box["_id"], force=True))
    assert forced.status_code == 201
    assert await port_of(api, forced.json()) == 4  # ports 1-3 are taken


async def test_full_box_answers_422_no_free_port(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    box = box_named(sandbox, "CTO-AGR-02")

    response = await api.post("/properties", json=reservation("a3", box["_id"]))

    assert response.status_code == 422
    assert response.json() == {
        "message": response.json()["message"],
        "error": "NO_FREE_PORT",
        "status": 422,
    }
    assert "CTO-AGR-02" in response.json()["message"]
    assert sandbox.network.client_by_code("a3") is None


async def test_duplicate_code_is_409_and_takes_no_port(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    response = await api.post("/properties", json=reservation("reserva_123", BOX_900))

    assert response.status_code == 409
    assert response.json()["error"] == "DUPLICATE_CODE"
    splitter = sandbox.network.get("splitters", SPLITTER_900)
    assert splitter is not None and splitter["connectables"]["output"][3] is None


async def test_unknown_box_is_404_json(api: httpx.AsyncClient) -> None:
    response = await api.post("/properties", json=reservation("a4", "0" * 24))

    assert response.status_code == 404
    assert response.json()["status"] == 404 and "box" in response.json()["message"]


async def test_reservation_in_a_building(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    building = sandbox.network.samples["building"]["building"]

    response = await api.post("/properties", json=reservation("apto-1", building))

    assert response.status_code == 201
    assert response.json()["lat"] is None and response.json()["lng"] is None
    prop = (await api.get("/properties/client/apto-1")).json()[0]
    assert prop["box"] == building and prop["parent"] == building
    assert prop["coords"] is None
    inside = sandbox.network.splitters_in(building)[0]
    assert prop["connections"][0]["id"] == inside["_id"]
    assert prop["connections"][0]["port"] == 6  # the seed occupies ports 1-5


async def test_coords_form_and_no_auto_connect(api: httpx.AsyncClient) -> None:
    body = reservation("a5", BOX_900, auto_connect=False, coords=[-48.5275, -27.5783])
    del body["lat"], body["lng"]

    created = (await api.post("/properties", json=body)).json()

    assert created["lat"] == -27.5783 and created["lng"] == -48.5275
    assert created["drop"] is None
    prop = (await api.get(f"/properties/{created['id']}")).json()
    assert prop["connections"] == []
    assert prop["client"]["code"] == "a5"  # populated on GET


async def test_invalid_bodies_are_explained(api: httpx.AsyncClient) -> None:
    cases = [
        (b"not json", 400, "INVALID_JSON"),
        (b'{"box": "%s", "lat": "x", "lng": 1}' % BOX_900.encode(), 422, "INVALID_FIELD"),
        (b'{"box": "%s", "client": {"name": "no code"}}' % BOX_900.encode(), 422, "INVALID_FIELD"),
    ]
    for content, status, error in cases:
        response = await api.post("/properties", content=content)
        assert (response.status_code, response.json()["error"]) == (status, error)
        assert response.json()["message"]


async def test_fifty_concurrent_reservations_on_three_free_ports(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    responses = await asyncio.gather(
        *(
            api.post("/properties", json=reservation(f"race-{i}", THREE_FREE_PORTS_BOX))
            for i in range(50)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [422] * 47
    assert {r.json()["error"] for r in responses if r.status_code == 422} == {"NO_FREE_PORT"}
    won = [r.json() for r in responses if r.status_code == 201]
    ports = [await port_of(api, c) for c in won]
    assert len(set(ports)) == 3
    splitter = sandbox.network.splitters_in(THREE_FREE_PORTS_BOX)[0]
    assert None not in splitter["connectables"]["output"]


async def test_property_patch_and_delete(api: httpx.AsyncClient) -> None:
    created = (await api.post("/properties", json=reservation("a6", BOX_900))).json()

    patched = await api.patch(f"/properties/{created['id']}", json={"observation": "portão azul"})
    assert patched.status_code == 204
    assert (await api.get(f"/properties/{created['id']}")).json()["observation"] == "portão azul"
    bad = await api.patch(f"/properties/{created['id']}", json={"box": "x"})
    assert bad.status_code == 422 and "box" in bad.json()["message"]
    assert (await api.delete("/properties/" + "0" * 24)).status_code == 404


async def test_client_patch_merges_onu_and_validates(api: httpx.AsyncClient) -> None:
    cid = "643d32be7112800014c3873f"

    ok = await api.patch(f"/ftth-clients/{cid}", json={"onu": {"serial_number": "ZTEG1234"}})
    assert ok.status_code == 204
    onu = (await api.get(f"/ftth-clients/{cid}")).json()["onu"]
    assert onu == {"user_PPPoE": "", "serial_number": "ZTEG1234", "mac_address": ""}

    for body, status in (
        ({"status": 2}, 422),
        ({"status": True}, 422),
        ({"implanted": "yes"}, 422),
        ({"box": "x"}, 422),
        ({"code": "reserva_123"}, 409),
    ):
        response = await api.patch(f"/ftth-clients/{cid}", json=body)
        assert response.status_code == status, body
        assert response.json()["message"]
    assert (await api.patch("/ftth-clients/" + "0" * 24, json={"status": 1})).status_code == 404


async def test_batch_update_refuses_other_fields_and_empty_filters(
    api: httpx.AsyncClient,
) -> None:
    flt = [{"property": "code", "operator": "=", "value": "test-status"}]
    for body in ({"filter": flt, "update": {"name": "x"}}, {"filter": [], "update": {"status": 1}}):
        response = await api.post("/ftth-clients/batch-update", json=body)
        assert response.status_code == 422
    found = await api.get(
        "/ftth-clients",
        params={"filter": '[{"property":"code","operator":"=","value":"test-status"}]'},
    )
    assert found.json()["rows"][0]["name"] == "Cliente Teste Status"
