"""GET /ftth-viability/radius: which boxes are viable, why the others are not, ordering, and
the shapes the answer can take."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from geopy.distance import geodesic

from bot.ozmap.sandbox import BOX_900, SHAPES, SPLITTER_900, Network, RunningSandbox, create_app

BOX_KEYS = {
    "id",
    "name",
    "kind",
    "coords",
    "lat",
    "lng",
    "distance",
    "implanted",
    "project",
    "capacity",
    "busyDoors",
    "availableDoors",
    "splitters",
}


async def check(api: httpx.AsyncClient, lat: float, lng: float, **extra: Any) -> dict[str, Any]:
    response = await api.get("/ftth-viability/radius", params={"lat": lat, "lng": lng, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_name(answer: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in answer[key]}


async def test_covered_sample(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    s = sandbox.network.samples["covered"]

    answer = await check(api, s["lat"], s["lng"])

    assert set(answer) == {"viable", "lat", "lng", "radius", "boxes", "not_viable_boxes"}
    assert answer["viable"] is True and answer["radius"] == 250
    assert (answer["lat"], answer["lng"]) == (s["lat"], s["lng"])
    first = answer["boxes"][0]
    assert set(first) == BOX_KEYS and first["id"] == BOX_900
    assert first["splitters"] == [
        {
            "id": SPLITTER_900,
            "name": "Splitter 1",
            "ratio": {"input": 1, "output": 8},
            "availablePorts": [4, 5, 7, 8],
        }
    ]
    assert (first["capacity"], first["busyDoors"], first["availableDoors"]) == (8, 4, 4)
    reasons = {b["name"]: b["reason"] for b in answer["not_viable_boxes"]}
    assert reasons["CTO-AGR-02"] == "NO_AVAILABLE_PORTS"  # full
    assert reasons["CTO-AGR-03"] == "DRAFT"
    assert reasons["CTO-AGR-08"] == "NOT_IMPLANTED"
    assert reasons["CTO-AGR-06"] == "NO_AVAILABLE_PORTS"  # its only free ports are blocked


async def test_distances_are_geodesic_sorted_and_within_radius(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    s = sandbox.network.samples["covered"]

    answer = await check(api, s["lat"], s["lng"], radius=180)

    listed = answer["boxes"] + answer["not_viable_boxes"]
    for key in ("boxes", "not_viable_boxes"):
        distances = [b["distance"] for b in answer[key]]
        assert distances == sorted(distances)
    expected = {}
    for box in sandbox.network.docs("boxes"):
        d = geodesic((s["lat"], s["lng"]), (box["coords"][1], box["coords"][0])).meters
        if d <= 180:
            expected[box["_id"]] = d
    assert {b["id"] for b in listed} == set(expected)
    for b in listed:
        assert abs(b["distance"] - expected[b["id"]]) < 0.1


async def test_small_radius_leaves_boxes_out(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    s = sandbox.network.samples["covered"]
    wide = await check(api, s["lat"], s["lng"])

    narrow = await check(api, s["lat"], s["lng"], radius=30)

    assert [b["id"] for b in narrow["boxes"]] == [BOX_900]
    assert len(wide["boxes"]) > 1 and narrow["not_viable_boxes"] == []


async def test_not_covered_sample(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    s = sandbox.network.samples["not_covered"]

    answer = await check(api, s["lat"], s["lng"])

    assert answer["viable"] is False
    assert answer["boxes"] == [] and answer["not_viable_boxes"] == []


async def test_blocked_and_taken_ports_make_a_box_not_viable(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    s = sandbox.network.samples["covered"]
    splitter = sandbox.network.get("splitters", SPLITTER_900)
    assert splitter is not None
    for i in (3, 4):
        splitter["ports"][i]["blocked"] = True
    splitter["connectables"]["output"][6] = "f" * 24

    before = by_name(await check(api, s["lat"], s["lng"]), "boxes")["CTO-AGR-01"]
    assert before["splitters"][0]["availablePorts"] == [8]
    splitter["connectables"]["output"][7] = "e" * 24

    after = await check(api, s["lat"], s["lng"])

    assert "CTO-AGR-01" not in by_name(after, "boxes")
    assert by_name(after, "not_viable_boxes")["CTO-AGR-01"]["reason"] == "NO_AVAILABLE_PORTS"


async def test_draft_box_with_free_ports_is_still_not_viable(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    s = sandbox.network.samples["covered"]
    box = sandbox.network.get("boxes", BOX_900)
    assert box is not None
    box["draft"] = True

    answer = await check(api, s["lat"], s["lng"])

    assert by_name(answer, "not_viable_boxes")["CTO-AGR-01"]["reason"] == "DRAFT"


async def test_bad_parameters_are_400_with_a_fix(api: httpx.AsyncClient) -> None:
    for params in (
        {"lat": "abc", "lng": "-48.5"},
        {"lng": "-48.5"},
        {"lat": "95", "lng": "0"},
        {"lat": "-27.5", "lng": "-48.5", "radius": "0"},
    ):
        response = await api.get("/ftth-viability/radius", params=params)
        assert response.status_code == 400, params
        body = response.json()
        assert body["status"] == 400 and body["message"] and body["error"]


SHAPE_KEYS = {
    "full": {"viable", "lat", "lng", "radius", "boxes", "not_viable_boxes"},
    "minimal": {"viable", "boxes"},
    "bare": {"viable"},
    "mixed": {"viable", "boxes"},
    "nested": {"viable", "viableBoxes", "notViableBoxes"},
    "ids": {"viable", "boxes"},
    "wrapped": {"data"},
}


async def test_the_sandbox_answers_in_every_shape(
    api: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    s = sandbox.network.samples["covered"]
    full = await check(api, s["lat"], s["lng"])
    viable_ids = [b["id"] for b in full["boxes"]]
    refused_ids = sorted(b["id"] for b in full["not_viable_boxes"])
    assert set(SHAPE_KEYS) == set(SHAPES)
    for shape, keys in SHAPE_KEYS.items():
        sandbox.sandbox.feasibility_shape = shape
        answer = await check(api, s["lat"], s["lng"])
        assert set(answer) == keys, shape
        if shape == "minimal":
            assert [set(b) for b in answer["boxes"]] == [{"id", "name", "distance"}] * len(
                viable_ids
            )
        if shape == "mixed":
            assert [b["id"] for b in answer["boxes"] if b["viable"]] == viable_ids
            assert sorted(b["id"] for b in answer["boxes"] if not b["viable"]) == refused_ids
            assert all(b["reason"] for b in answer["boxes"] if not b["viable"])
        if shape == "nested":
            assert [b["box"]["_id"] for b in answer["viableBoxes"]] == viable_ids
            assert all(b["freePorts"] > 0 for b in answer["viableBoxes"])
        if shape == "ids":
            assert answer["boxes"] == viable_ids
        if shape == "wrapped":
            assert answer["data"]["viavel"] is True
            assert [b["_id"] for b in answer["data"]["caixas"]] == viable_ids
            assert sorted(b["_id"] for b in answer["data"]["caixasInviaveis"]) == refused_ids
    sandbox.reset()
    assert sandbox.sandbox.feasibility_shape == "full"


def test_an_unknown_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="feasibility_shape must be one of"):
        create_app(Network.load(), "token", feasibility_shape="square")
