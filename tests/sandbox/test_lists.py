"""List endpoints: envelope, paging, filters (query and GET body, every operator), auth, errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
from geopy.distance import geodesic

from bot.ozmap.sandbox import BOX_900, RunningSandbox


def flt(*conditions: Any) -> dict[str, str]:
    return {"filter": json.dumps(list(conditions)), "limit": "-1"}


def cond(prop: str, op: str, value: Any) -> dict[str, Any]:
    return {"property": prop, "operator": op, "value": value}


async def rows(api: httpx.AsyncClient, path: str, *conditions: Any) -> list[dict[str, Any]]:
    response = await api.get(path, params=flt(*conditions))
    assert response.status_code == 200, response.text
    return list(response.json()["rows"])


async def test_envelope_and_paging(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    total = len(list(sandbox.network.docs("boxes")))

    page2 = (await api.get("/boxes", params={"page": 2, "limit": 5})).json()
    everything = (await api.get("/boxes", params={"limit": -1})).json()

    # the SDK's Pagination type: total, count, start, limit, rows, hasNextPage, nextUrl?
    assert set(page2) == {"total", "count", "start", "limit", "rows", "hasNextPage", "nextUrl"}
    assert (page2["total"], page2["count"], page2["start"], page2["limit"]) == (total, 5, 5, 5)
    assert page2["hasNextPage"] is True and page2["nextUrl"] == "/api/v2/boxes?start=10&limit=5"
    assert [b["id"] for b in page2["rows"]] == [b["id"] for b in everything["rows"][5:10]]
    assert everything["count"] == total and len(everything["rows"]) == total
    assert everything["hasNextPage"] is False and "nextUrl" not in everything
    box = everything["rows"][0]
    assert box["id"] == box["_id"] and [box["lng"], box["lat"]] == box["coords"]
    for bad in ({"page": 0}, {"start": -1}, {"limit": 0}, {"limit": "x"}):
        response = await api.get("/boxes", params=bad)
        assert response.status_code == 400 and response.json()["error"] == "INVALID_PAGE", bad


async def test_following_next_url_reads_every_row_once(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    """As the SDK's findAll does: nextUrl's parameters re-sent, ``page`` dropped, ``limit``
    set again; the filter travels in the GET body each time (and in nextUrl)."""
    condition = [{"property": "status", "operator": "=", "value": 0}]
    expected = [
        c["id"] for c in (await api.get("/ftth-clients", params=flt(*condition))).json()["rows"]
    ]
    assert len(expected) > 25
    seen: list[str] = []
    params: dict[str, str] = {}
    while True:
        answer = (
            await api.request(
                "GET", "/ftth-clients", params={**params, "limit": "10"}, json={"filter": condition}
            )
        ).json()
        seen.extend(r["id"] for r in answer["rows"])
        if not answer["hasNextPage"]:
            break
        query = answer["nextUrl"].split("?", 1)[1]
        params = {k: v for k, v in httpx.QueryParams(query).items() if k != "page"}
    assert seen == expected
    # a client that fetches nextUrl as it is, without the body, gets the same rows
    first = (await api.request("GET", "/ftth-clients?limit=10", json={"filter": condition})).json()
    plain = await httpx.AsyncClient(
        base_url=sandbox.url, headers={"authorization": sandbox.token}
    ).get(first["nextUrl"])
    assert [r["id"] for r in plain.json()["rows"]] == expected[10:20]


async def test_select_keeps_only_the_fields_asked_for(api: httpx.AsyncClient) -> None:
    answer = (await api.get("/boxes", params={"select": "name coords", "limit": 2})).json()
    assert [set(b) for b in answer["rows"]] == [{"id", "_id", "name", "coords"}] * 2
    commas = (await api.get("/ftth-clients", params={"select": "code,onu.serial_number"})).json()
    assert set(commas["rows"][0]) == {"id", "_id", "code", "onu"}
    assert set(commas["rows"][0]["onu"]) == {"serial_number"}
    without = (await api.get(f"/boxes/{BOX_900}", params={"select": "-tags -history"})).json()
    assert "tags" not in without and without["name"] == "CTO-AGR-01" and without["id"] == BOX_900
    one = (await api.get(f"/boxes/{BOX_900}", params={"select": "name"})).json()
    assert one == {"id": BOX_900, "_id": BOX_900, "name": "CTO-AGR-01"}


async def test_filter_in_query_and_in_get_body_agree(api: httpx.AsyncClient) -> None:
    condition = cond("code", "=", "test-status")

    by_query = await rows(api, "/ftth-clients", condition)
    by_body = (await api.request("GET", "/ftth-clients", json={"filter": [condition]})).json()

    assert [c["code"] for c in by_query] == ["test-status"]
    assert by_body["rows"] == by_query


async def test_equality_operators_and_or_groups(api: httpx.AsyncClient) -> None:
    red = await rows(api, "/ftth-clients", cond("status", "=", 1))
    assert {c["code"] for c in red} == {"cliente-erro", "cliente-massiva-regiao"}
    not_red = await rows(api, "/ftth-clients", cond("status", "!=", 1))
    every = await rows(api, "/ftth-clients")
    assert len(red) + len(not_red) == len(every)

    codes = ["reserva_123", "test-status"]
    chosen = await rows(api, "/ftth-clients", cond("code", "in", codes))
    assert sorted(c["code"] for c in chosen) == codes
    rest = await rows(api, "/ftth-clients", cond("code", "notin", codes))
    assert len(rest) == len(every) - 2

    either = await rows(
        api, "/ftth-clients", [cond("code", "=", "reserva_123"), cond("code", "=", "test-status")]
    )
    assert sorted(c["code"] for c in either) == codes
    both = await rows(
        api, "/ftth-clients", cond("code", "=", "reserva_123"), cond("status", "=", 1)
    )
    assert both == []


async def test_like_is_a_case_insensitive_substring(api: httpx.AsyncClient) -> None:
    found = await rows(api, "/ftth-clients", cond("code", "like", "LOTE"))
    assert sorted(c["code"] for c in found) == ["cliente-lote-1", "cliente-lote-2"]


async def test_dotted_paths_and_exists(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    props = await rows(api, "/properties", cond("client.code", "=", "test-status"))
    assert [p["_id"] for p in props] == ["643d32bf7112800014c38742"]
    # the old SDK's form: a property by its client's id
    same = await rows(api, "/properties", cond("client", "=", "643d32be7112800014c3873f"))
    assert [p["_id"] for p in same] == ["643d32bf7112800014c38742"]

    await api.patch(
        "/ftth-clients/643d32be7112800014c3873f", json={"onu": {"serial_number": "FHTT0001"}}
    )
    by_onu = await rows(api, "/ftth-clients", cond("onu.serial_number", "=", "FHTT0001"))
    assert [c["code"] for c in by_onu] == ["test-status"]

    in_buildings = await rows(api, "/properties", cond("parent", "exists", True))
    buildings = {b["_id"] for b in sandbox.network.docs("buildings")}
    assert in_buildings and {p["parent"] for p in in_buildings} == buildings
    assert all(p["lat"] is None for p in in_buildings)
    outside = await rows(api, "/properties", cond("parent", "exists", False))
    assert len(in_buildings) + len(outside) == len(await rows(api, "/properties"))


async def test_near_on_coords(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    sample = sandbox.network.samples["covered"]
    point = {"lat": sample["lat"], "lng": sample["lng"], "radius": 100}

    near = await rows(api, "/boxes", cond("coords", "near", point))

    assert BOX_900 in {b["id"] for b in near}
    for box in sandbox.network.docs("boxes"):
        d = geodesic((sample["lat"], sample["lng"]), (box["coords"][1], box["coords"][0])).meters
        assert (box["_id"] in {b["id"] for b in near}) == (d <= 100), box["name"]


async def test_within_a_horizontal_condominium(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    hc = sandbox.network.samples["horizontal_condominium"]["horizontalCondominium"]

    inside = await rows(
        api, "/boxes", cond("coords", "within", {"id": hc, "model": "horizontalCondominium"})
    )

    assert sorted(b["name"] for b in inside) == ["CTO-JDP-01", "CTO-JDP-02"]


async def test_point_intersect_finds_regions_and_condominiums(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    outage = sandbox.network.samples["outage_region"]
    point = {"lat": outage["lat"], "lng": outage["lng"]}

    regions = await rows(api, "/regions", cond("polygon", "point-intersect", point))

    assert [r["id"] for r in regions] == [outage["region"]]
    massiva = (await rows(api, "/tags", cond("name", "=", "MASSIVA")))[0]
    assert massiva["id"] in regions[0]["tags"]
    assert "region" in massiva["allowedTypes"]

    hc = sandbox.network.samples["horizontal_condominium"]
    found = await rows(
        api,
        "/horizontal-condominiums",
        cond("polygon", "point-intersect", {"lat": hc["lat"], "lng": hc["lng"]}),
    )
    assert [h["id"] for h in found] == [hc["horizontalCondominium"]]
    covered = sandbox.network.samples["covered"]
    assert (
        await rows(
            api,
            "/horizontal-condominiums",
            cond("polygon", "point-intersect", {"lat": covered["lat"], "lng": covered["lng"]}),
        )
        == []
    )


async def test_tags_on_arrays_find_the_outage_box(api: httpx.AsyncClient) -> None:
    tags = await rows(api, "/tags", cond("name", "in", ["MASSIVA", "ROMPIMENTO", "MANUTENCAO"]))
    assert len(tags) == 3
    massiva = next(t["id"] for t in tags if t["name"] == "MASSIVA")

    boxes = await rows(api, "/boxes", cond("tags", "=", massiva))

    assert [b["name"] for b in boxes] == ["CTO-AGR-09"]
    fed = await rows(api, "/properties", cond("box", "=", boxes[0]["id"]))
    assert "cliente-massiva-caixa" in {p["client"]["code"] for p in fed}


async def test_sort(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/boxes", params={"limit": -1, "sort": json.dumps([{"property": "name", "direction": -1}])}
    )
    names = [b["name"] for b in response.json()["rows"]]
    assert names == sorted(names, key=str.casefold, reverse=True)


async def test_bad_filters_are_400_with_a_fix(api: httpx.AsyncClient) -> None:
    for raw in ("[{", '[{"property":"code","operator":"~","value":1}]', '"code"'):
        response = await api.get("/ftth-clients", params={"filter": raw})
        assert response.status_code == 400
        assert response.json()["error"] == "INVALID_FILTER" and response.json()["message"]


async def test_get_by_id_and_read_only_collections(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    box = (await api.get(f"/boxes/{BOX_900}")).json()
    assert box["pole"] == "5da62201493d9c00066655b1"
    assert box["project"] == "62bc9b89a17d2b0030bddc0c"
    projects = {p["id"] for p in await rows(api, "/projects")}
    assert {"5d9f3ff9200141000647f814", "62bc9b89a17d2b0030bddc0c"} <= projects
    splitters = await rows(
        api, "/splitters", cond("parent", "=", BOX_900), cond("isDrop", "=", True)
    )
    assert [s["id"] for s in splitters] == ["5da6220df003e8132800001e"]
    assert (await api.get(f"/splitters/{splitters[0]['id']}")).json()["ratio"]["output"] == 8
    assert len(await rows(api, "/buildings")) == 2
    tag = (await rows(api, "/tags"))[0]
    assert (await api.get(f"/tags/{tag['id']}")).json()["name"] == tag["name"]
    missing = await api.get("/boxes/" + "0" * 24)
    assert missing.status_code == 404 and missing.json()["error"] == "NOT_FOUND"


async def test_prospects(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    sample = sandbox.network.samples["not_covered"]
    body = {
        "name": "Maria",
        "address": sample["address"],
        "lat": sample["lat"],
        "lng": sample["lng"],
        "observation": "sem viabilidade",
        "viable": False,
    }

    created = await api.post("/prospects", json=body)

    assert created.status_code == 201
    doc = created.json()
    assert doc["coords"] == [sample["lng"], sample["lat"]] and doc["name"] == "Maria"
    assert (await api.get(f"/prospects/{doc['id']}")).json()["address"] == sample["address"]
    listed = await rows(api, "/prospects", cond("name", "=", "Maria"))
    assert [p["id"] for p in listed] == [doc["id"]]


async def test_auth_forms(sandbox: RunningSandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.api_url) as http:
        for value in (sandbox.token, f"Bearer {sandbox.token}", f"bearer {sandbox.token}"):
            assert (
                await http.get("/authenticated", headers={"Authorization": value})
            ).status_code == 200
        for headers in ({}, {"Authorization": "wrong"}, {"Authorization": "Bearer"}):
            response = await http.get("/boxes", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"] == "UNAUTHORIZED"
            assert response.json()["status"] == 401
            assert "Authorization" in response.json()["message"]


async def test_login_hands_out_the_token(sandbox: RunningSandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.api_url) as http:
        bad = await http.post("/users/login", json={"login": "devoz", "password": "nope"})
        assert bad.status_code == 401 and bad.json()["message"]
        good = await http.post(
            "/users/login?type=API", json={"login": "devoz", "password": "devoz"}
        )
        assert good.status_code == 200
        token = good.json()["authorization"]
        assert (await http.get("/boxes", headers={"Authorization": token})).status_code == 200


async def test_unknown_routes_and_methods_answer_json(api: httpx.AsyncClient) -> None:
    missing = await api.get("/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"] == "NOT_FOUND"
    wrong = await api.put("/boxes")
    assert wrong.status_code == 405 and wrong.json()["message"]
