"""What an ERP or CRM also calls (the official SDK's proxies): prospects updated and deleted,
pendencies, a client deleted, optical power in batch, the inside of a box, and a property with
no location refused rather than placed at its box."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.ozmap.sandbox import BOX_900, SPLITTER_900, RunningSandbox
from tests.sandbox.conftest import reservation


def sample(sandbox: RunningSandbox, name: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.network.samples[name]
    return found


async def test_a_property_without_a_location_is_refused(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    body = reservation("sem-lugar", BOX_900)
    del body["lat"], body["lng"]
    response = await api.post("/properties", json=body)
    assert response.status_code == 422
    assert "coords" in response.json()["message"] and "lat and lng" in response.json()["message"]
    assert sandbox.network.client_by_code("sem-lugar") is None
    # with coords (what the SDK sends) it is placed where the customer is
    covered = sample(sandbox, "covered")
    body["coords"] = [covered["lng"], covered["lat"]]
    created = (await api.post("/properties", json=body)).json()
    assert created["coords"] == [covered["lng"], covered["lat"]]
    # inside a building a property has no point of its own
    building = sample(sandbox, "building")["building"]
    inside = reservation("apto-101", building)
    del inside["lat"], inside["lng"]
    assert (await api.post("/properties", json=inside)).status_code == 201


async def test_prospects_are_updated_and_deleted(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    far = sample(sandbox, "not_covered")
    created = await api.post(
        "/prospects",
        json={"name": "Ana", "coords": [far["lng"], far["lat"]], "code": "P-1", "external_id": "x"},
    )
    prospect_id = created.json()["id"]
    patched = await api.patch(
        f"/prospects/{prospect_id}",
        json={"observation": "ligar", "viable": True, "lat": -27.0, "lng": -48.0, "tags": []},
    )
    assert patched.status_code == 204 and patched.content == b""
    doc = (await api.get(f"/prospects/{prospect_id}")).json()
    assert (doc["observation"], doc["viable"], doc["coords"]) == ("ligar", True, [-48.0, -27.0])
    assert doc["code"] == "P-1" and doc["external_id"] == "x"
    bad = await api.patch(f"/prospects/{prospect_id}", json={"viable": "yes"})
    assert bad.status_code == 422 and "viable" in bad.json()["message"]
    unknown = await api.patch(f"/prospects/{prospect_id}", json={"colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["message"]
    assert (await api.delete(f"/prospects/{prospect_id}")).status_code == 204
    assert (await api.get(f"/prospects/{prospect_id}")).status_code == 404
    assert (await api.delete(f"/prospects/{prospect_id}")).status_code == 404


async def test_pendencies(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    covered = sample(sandbox, "covered")
    pendency_type = (await api.get("/pendency-types")).json()["rows"][0]["id"]
    project = sandbox.network.get("boxes", BOX_900)["project"]  # type: ignore[index]
    owner = sandbox.network.users[0]["_id"]
    body = {
        "owner": owner,
        "project": project,
        "pendencyType": pendency_type,
        "coords": [covered["lng"], covered["lat"]],
        "name": "Ajustar drop",
    }
    for missing in ("owner", "project", "pendencyType", "coords"):
        refused = await api.post(
            "/pendencies", json={k: v for k, v in body.items() if k != missing}
        )
        assert refused.status_code == 422 and missing in refused.json()["message"], missing
    wrong = await api.post("/pendencies", json={**body, "pendencyType": "0" * 24})
    assert wrong.status_code == 422 and "GET /pendency-types" in wrong.json()["message"]

    created = await api.post("/pendencies", json=body)
    assert created.status_code == 201
    doc = created.json()
    assert doc["solved"] is False and doc["lat"] == covered["lat"] and doc["convertedTo"] is None
    near = {"lat": covered["lat"], "lng": covered["lng"], "radius": 100}
    params = {"filter": json.dumps([{"property": "coords", "operator": "near", "value": near}])}
    assert [p["id"] for p in (await api.get("/pendencies", params=params)).json()["rows"]] == [
        doc["id"]
    ]
    assert (await api.patch(f"/pendencies/{doc['id']}", json={"solved": True})).status_code == 204
    assert (await api.get(f"/pendencies/{doc['id']}")).json()["solved"] is True
    assert (await api.delete(f"/pendencies/{doc['id']}")).status_code == 204
    assert (await api.get(f"/pendencies/{doc['id']}")).status_code == 404


async def test_deleting_a_client_keeps_its_property(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    client = sandbox.network.client_by_code("cliente-lote-2")
    assert client is not None
    [prop] = sandbox.network.properties_of_client(client["_id"])
    assert (await api.delete(f"/ftth-clients/{client['_id']}")).status_code == 204
    assert (await api.get(f"/ftth-clients/{client['_id']}")).status_code == 404
    kept = (await api.get(f"/properties/{prop['_id']}")).json()
    assert kept["client"] is None and kept["connections"] == prop["connections"]
    assert kept["history"]["clients"][0]["exit_date"] is not None
    assert (await api.get("/properties/client/cliente-lote-2")).json() == []


async def test_optical_power_in_batch(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    ids = [p["_id"] for p in list(sandbox.network.docs("properties"))[:3]]
    response = await api.post(
        "/properties/batch-update",
        json={
            "filter": [{"property": "id", "operator": "in", "value": ids}],
            "update": {"potencyRead": -21.5},
        },
    )
    assert response.status_code == 204
    powers = [sandbox.network.get("properties", i)["potencyRead"] for i in ids]  # type: ignore[index]
    assert powers == [-21.5] * 3
    assert sum(1 for p in sandbox.network.docs("properties") if p.get("potencyRead")) == 3
    for body in (
        {"update": {"potencyRead": 1}},
        {"filter": [{"property": "id", "operator": "in", "value": ids}], "update": {"name": "x"}},
        {
            "filter": [{"property": "id", "operator": "in", "value": ids}],
            "update": {"potencyRead": "x"},
        },
    ):
        assert (await api.post("/properties/batch-update", json=body)).status_code == 422


async def test_the_inside_of_a_box_and_of_a_building(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    topology = (await api.get(f"/base-boxes/{BOX_900}/topology")).json()
    splitter = topology["splitters"][SPLITTER_900]
    assert splitter["isDrop"] is True and len(splitter["connectables"]["output"]) == 8
    assert [p["index"] for p in splitter["ports"]] == list(range(8))
    fibres = {f for f in splitter["connectables"]["output"] if f}
    assert {d["fibers"][0] for d in topology["drops"].values()} == fibres
    clients = [d["propertyData"]["client"]["code"] for d in topology["drops"].values()]
    assert len(clients) == len(fibres) and all(clients)
    for kind in ("cables", "connectors", "fusions", "passings", "dios", "switches", "cords"):
        assert topology[kind] == {}
    design = (await api.get(f"/base-boxes/{BOX_900}/design")).json()
    assert design["box"] == BOX_900 and set(design["positions"]["drops"]) == set(topology["drops"])

    # a reservation shows up inside, and changes the checksum
    await api.post("/properties", json=reservation("novo-900", BOX_900))
    after = (await api.get(f"/base-boxes/{BOX_900}/topology")).json()
    assert len(after["drops"]) == len(topology["drops"]) + 1
    assert after["checksum"] != topology["checksum"]

    building = sample(sandbox, "building")["building"]
    inside = (await api.get(f"/base-boxes/{building}/topology")).json()
    assert len(inside["splitters"]) == 1 and inside["drops"]
    assert all("coords" not in d["propertyData"] for d in inside["drops"].values())
    assert (await api.get(f"/base-boxes/{building}")).json()["kind"] == "Building"
    every = (await api.get("/base-boxes", params={"limit": -1})).json()
    assert every["total"] == len(list(sandbox.network.docs("boxes"))) + 2
    assert (await api.get("/base-boxes/" + "0" * 24 + "/topology")).status_code == 404
