"""Reading OZmap's documents: every fixture from the tutorials, and the defensive parsers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ozmap.models import (
    Building,
    ClientStatus,
    FtthClient,
    HorizontalCondominium,
    NewReservation,
    Property,
    Prospect,
    Splitter,
    distance_m,
    list_rows,
    point_in_polygon,
)
from tests.support.fixtures import ozmap_fixture

# file, property id, client id, code, implanted, lat, lng, port
BY_CODE = [
    (
        "properties-client-by-code.implanted.json",
        "63ed056e7112800014c1c731",
        "63ed056d7112800014c1c72e",
        "reserva_123",
        True,
        -27.580520760129144,
        -48.52405115962029,
        1,
    ),
    (
        "properties-client-by-code.reservation.json",
        "62d194b46c9401002392c704",
        "62d194b46c9401002392c701",
        "123|123",
        False,
        -27.5782336721312,
        -48.527442812919624,
        4,
    ),
    (
        "properties-client-by-code.status.json",
        "643d32bf7112800014c38742",
        "643d32be7112800014c3873f",
        "test-status",
        True,
        -27.576685937919645,
        -48.52836683392526,
        6,
    ),
]


@pytest.mark.parametrize(("name", "pid", "cid", "code", "implanted", "lat", "lng", "port"), BY_CODE)
def test_by_code_answers_parse_with_underscore_ids_and_populated_client(
    name: str, pid: str, cid: str, code: str, implanted: bool, lat: float, lng: float, port: int
) -> None:
    [raw] = ozmap_fixture(name)
    prop = Property.model_validate(raw)
    assert prop.id == pid
    assert prop.client_id == cid
    client = prop.client_obj
    assert client is not None
    assert (client.id, client.code, client.implanted) == (cid, code, implanted)
    assert client.status is ClientStatus.OK
    assert client.onu is not None and client.onu.serial_number == ""
    assert (prop.lat, prop.lng) == (lat, lng)
    assert prop.coords == (lng, lat)
    assert prop.box == raw["box"] and prop.pole == raw["pole"]
    assert [(c.kind, c.port) for c in prop.connections] == [("Splitter", port)]
    # unknown fields are kept, not dropped
    assert prop.model_extra is not None and prop.model_extra["history"] == raw["history"]
    assert "_id" not in (prop.model_extra or {})


def test_create_answer_parses_with_id_and_client_as_id_string() -> None:
    raw = ozmap_fixture("properties-create.response.json")
    prop = Property.model_validate(raw)
    assert prop.id == "62d194b46c9401002392c704"
    assert prop.client_id == "62d194b46c9401002392c701"
    assert prop.client_obj is None
    assert prop.coords == (raw["lng"], raw["lat"])
    assert prop.model_extra is not None and prop.model_extra["disconnect_property"] is False


def test_reservation_body_is_the_tutorials_request() -> None:
    expected = ozmap_fixture("properties-create.request.json")
    body = NewReservation(
        box=expected["box"],
        lat=expected["lat"],
        lng=expected["lng"],
        address=expected["address"],
        observation=expected["observation"],
        client_code=expected["client"]["code"],
        client_name=expected["client"]["name"],
        client_observation=expected["client"]["observation"],
    ).to_body()
    assert body == expected


@pytest.mark.parametrize(
    ("raw", "lat", "lng", "coords"),
    [
        ({"coords": [-48.5, -27.5]}, -27.5, -48.5, (-48.5, -27.5)),
        ({"lat": -27.5, "lng": -48.5}, -27.5, -48.5, (-48.5, -27.5)),
        ({"coords": {"lat": -27.5, "lng": -48.5}}, -27.5, -48.5, (-48.5, -27.5)),
        ({"coords": [-48.5, -27.5], "lat": None, "lng": None}, -27.5, -48.5, (-48.5, -27.5)),
        ({"lat": None, "lng": None}, None, None, None),  # a property inside a building
        ({"coords": ["x", 1]}, None, None, None),
    ],
)
def test_geometry_either_half_fills_the_other(
    raw: dict[str, Any], lat: float | None, lng: float | None, coords: Any
) -> None:
    prop = Property.model_validate({"id": "p", **raw})
    assert (prop.lat, prop.lng, prop.coords) == (lat, lng, coords)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"status": 1}, ClientStatus.ERROR),
        ({"status": 0}, ClientStatus.OK),
        ({}, ClientStatus.OK),
    ],
)
def test_client_status_is_an_intenum(raw: dict[str, Any], expected: ClientStatus) -> None:
    assert FtthClient.model_validate({"id": "c", **raw}).status is expected


def test_populated_references_reduce_to_ids_and_tags_accept_both_forms() -> None:
    prop = Property.model_validate(
        {
            "id": "p",
            "box": {"_id": "b1", "name": "CTO"},
            "project": {"id": "pr"},
            "tags": ["t1", {"_id": "t2", "name": "MASSIVA"}],
            "address": None,
        }
    )
    assert (prop.box, prop.project, prop.address) == ("b1", "pr", "")
    assert prop.tags[0] == "t1"
    second = prop.tags[1]
    assert not isinstance(second, str) and (second.id, second.name) == ("t2", "MASSIVA")


def test_prospect_answer() -> None:
    prospect = Prospect.model_validate(
        {"_id": "x1", "tags": None, "name": "Ana", "coords": [-48.5, -27.5], "__v": 0}
    )
    assert (prospect.id, prospect.lat, prospect.tags) == ("x1", -27.5, [])


def splitter(**over: Any) -> Splitter:
    raw: dict[str, Any] = {
        "id": "s",
        "isDrop": True,
        "implanted": True,
        "connectables": {"input": ["f0"], "output": [None, "f2", None, None]},
        "ports": [{"index": i, "blocked": False} for i in range(4)],
    }
    raw.update(over)
    return Splitter.model_validate(raw)


@pytest.mark.parametrize(
    ("over", "free"),
    [
        ({}, [1, 3, 4]),
        ({"isDrop": False}, []),  # a distribution splitter: clients never plug in
        ({"implanted": False}, []),
        ({"ports": [{"blocked": True}, {}, {}, {"blocked": True}]}, [3]),
        ({"ports": []}, [1, 3, 4]),  # no port records: nothing is blocked
        ({"connectables": {"output": [{"_id": "f1"}, None]}}, [2]),  # populated fibre
    ],
)
def test_splitter_free_ports(over: dict[str, Any], free: list[int]) -> None:
    assert splitter(**over).free_ports() == free


SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[-48.0, -27.0], [-47.0, -27.0], [-47.0, -26.0], [-48.0, -26.0], [-48.0, -27.0]],
        [[-47.6, -26.6], [-47.4, -26.6], [-47.4, -26.4], [-47.6, -26.4], [-47.6, -26.6]],
    ],
}


@pytest.mark.parametrize(
    ("lat", "lng", "polygon", "inside"),
    [
        (-26.2, -47.8, SQUARE, True),
        (-26.5, -47.5, SQUARE, False),  # in the hole
        (-25.0, -47.5, SQUARE, False),
        (-26.2, -47.8, {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]}, True),
        (-26.2, -47.8, {"type": "Polygon", "coordinates": "garbage"}, False),
        (-26.2, -47.8, {}, False),
    ],
)
def test_point_in_polygon(lat: float, lng: float, polygon: dict[str, Any], inside: bool) -> None:
    assert point_in_polygon(lat, lng, polygon) is inside
    condo = HorizontalCondominium.model_validate({"id": "h", "polygon": polygon})
    assert condo.contains(lat, lng) is inside


@pytest.mark.parametrize(
    ("payload", "rows", "total"),
    [
        ({"total": 3, "count": 1, "start": 0, "limit": 1, "rows": [{"id": "a"}]}, ["a"], 3),
        ([{"id": "a"}, {"id": "b"}], ["a", "b"], None),
        ({"rows": [{"id": "a"}, "junk"]}, ["a"], None),
    ],
)
def test_list_rows(payload: Any, rows: list[str], total: int | None) -> None:
    got, got_total = list_rows(payload)
    assert [r["id"] for r in got] == rows
    assert got_total == total


@pytest.mark.parametrize("payload", [{"total": 1}, "text", None])
def test_list_rows_refuses_what_is_not_a_list(payload: Any) -> None:
    with pytest.raises(ValueError, match="no rows"):
        list_rows(payload)


def test_distance_and_buildings() -> None:
    assert distance_m(0, 0, 0, 0) == 0
    assert 111_100 < distance_m(-27.0, -48.0, -28.0, -48.0) < 111_300
    building = Building.model_validate({"_id": "b", "coords": [-48.5, -27.5], "name": "Ed. Sol"})
    assert (building.id, building.kind, building.lat) == ("b", "Building", -27.5)
