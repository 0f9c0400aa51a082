"""Condominium feasibility against a scripted OZmap that applies the filters it is sent (the
sandbox's filter rules): buildings by ``near``, horizontal condominiums by ``point-intersect``,
nothing downloaded whole; ports counted live; independent reads go out together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.ozmap import CondoOption
from bot.ozmap.geometry import point_in_polygon
from bot.ozmap.sandbox.filters import matches, parse_filter
from tests.ozmap.fake_ozmap import FakeOzmap, client_for, filter_of

HERE = (-27.5800, -48.5300)  # (lat, lng): the building Solar stands here
GATED = (-27.5900, -48.5400)  # inside the Palmeiras condominium

BUILDINGS: list[dict[str, Any]] = [
    {
        "_id": "solar",
        "name": "Ed. Solar",
        "address": "R. Rui Barbosa, 1200",
        "coords": [HERE[1], HERE[0]],
    },
    {"id": "mar", "name": "Ed. Mar", "coords": [-48.53, -27.5805]},  # ~55 m south
    {"id": "longe", "name": "Ed. Longe", "coords": [-48.52, -27.57]},  # ~1.5 km away
    {"id": "sem-coords", "name": "Ed. Sem", "lat": None, "lng": None},
]
PALMEIRAS: dict[str, Any] = {
    "id": "palmeiras",
    "name": "Cond. Palmeiras",
    "address": "Estrada X, 10",
    "polygon": {
        "type": "Polygon",
        "coordinates": [
            [
                [-48.545, -27.595],
                [-48.535, -27.595],
                [-48.535, -27.585],
                [-48.545, -27.585],
                [-48.545, -27.595],
            ]
        ],
    },
}
PALMEIRAS_BOXES = [
    {"id": "cto-a", "name": "CTO-A", "coords": [-48.5401, -27.5901]},  # next to GATED
    {"id": "cto-b", "name": "CTO-B", "coords": [-48.5440, -27.5940]},
]


def drop_splitter(sid: str, parent: str, outputs: list[str | None], **over: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "parent": parent,
        "isDrop": True,
        "implanted": True,
        "connectables": {"input": ["pon"], "output": outputs},
        "ports": [{"index": i, "blocked": False} for i in range(len(outputs))],
        **over,
    }


def filtered(rows: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """A list route answering only the rows matching the request's filter, as OZmap would."""

    def handler(request: httpx.Request) -> httpx.Response:
        flt = parse_filter(filter_of(request))
        found = [r for r in rows if matches(view(r), flt, lambda *_: None)]
        return httpx.Response(200, json={"total": len(found), "count": len(found), "rows": found})

    return handler


def view(doc: dict[str, Any]) -> dict[str, Any]:
    """What the filters see: ``coords`` also from ``lat``/``lng``, ``id`` also from ``_id``."""
    out = dict(doc)
    out.setdefault("id", doc.get("_id"))
    if "coords" not in doc and isinstance(doc.get("lat"), float):
        out["coords"] = [doc["lng"], doc["lat"]]
    return out


class Network:
    def __init__(self) -> None:
        self.splitters = [
            drop_splitter("s-solar", "solar", [None, "f", None, "f"]),
            drop_splitter("s-solar-dist", "solar", [None, None], isDrop=False),
            drop_splitter("s-mar", "mar", ["f", "f"]),
            drop_splitter("s-a", "cto-a", ["f", "f", "f"]),
            drop_splitter("s-b", "cto-b", [None, None, "f"]),
        ]

    def install(self, fake: FakeOzmap) -> None:
        fake.on("GET", "buildings", filtered(BUILDINGS))
        fake.on("GET", "horizontal-condominiums", filtered([PALMEIRAS]))

        def boxes(request: httpx.Request) -> httpx.Response:
            [cond] = filter_of(request)
            assert cond["operator"] == "within"
            assert cond["value"] == {"id": "palmeiras", "model": "horizontalCondominium"}
            return httpx.Response(200, json={"total": 2, "rows": PALMEIRAS_BOXES})

        fake.on("GET", "boxes", boxes)
        fake.on("GET", "splitters", filtered(self.splitters))


@pytest.fixture
def network(fake: FakeOzmap) -> Network:
    net = Network()
    net.install(fake)
    return net


async def test_buildings_near_the_point_nearest_with_ports_first(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    options = await client_for(fake, http).condominium_feasibility(*HERE)
    assert [(o.kind, o.id, o.box_id, o.free_ports) for o in options] == [
        ("building", "solar", "solar", 2),  # the distribution splitter's ports do not count
        ("building", "mar", "mar", 0),  # near but full: named, after the ones with ports
    ]
    assert options[0].name == "Ed. Solar" and options[0].address == "R. Rui Barbosa, 1200"
    assert options[0].distance == 0.0 and 50 < options[1].distance < 60


async def test_horizontal_condominium_reserves_on_its_nearest_box_with_ports(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    options = await client_for(fake, http).condominium_feasibility(*GATED)
    assert options == [
        CondoOption(
            kind="horizontal",
            id="palmeiras",
            name="Cond. Palmeiras",
            address="Estrada X, 10",
            box_id="cto-b",
            free_ports=2,
            distance=0.0,
        )
    ]  # cto-a is nearer but full


async def test_the_server_filters_and_nothing_is_downloaded_whole(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    await client_for(fake, http, condo_radius=80).condominium_feasibility(*HERE)
    by_path = {r.url.path.removeprefix("/api/v2/"): filter_of(r) for r in fake.requests}
    assert by_path["buildings"] == [
        {
            "property": "coords",
            "operator": "near",
            "value": {"lat": HERE[0], "lng": HERE[1], "radius": 80},
        }
    ]
    assert by_path["horizontal-condominiums"] == [
        {
            "property": "polygon",
            "operator": "point-intersect",
            "value": {"lat": HERE[0], "lng": HERE[1]},
        }
    ]
    assert by_path["splitters"] == [
        {"property": "parent", "operator": "in", "value": ["solar", "mar"]},
        {"property": "isDrop", "operator": "=", "value": True},
    ]  # only the buildings near, nearest first
    assert sorted(fake.paths()[:2]) == ["buildings", "horizontal-condominiums"]
    assert "boxes" not in fake.paths()  # no horizontal condominium here


async def test_nothing_near_is_the_two_lookups_only(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    assert await client_for(fake, http).condominium_feasibility(-27.0, -48.0) == []
    assert sorted(fake.paths()) == ["buildings", "horizontal-condominiums"]


async def test_ports_are_live(fake: FakeOzmap, http: httpx.AsyncClient, network: Network) -> None:
    client = client_for(fake, http)
    [before, _] = await client.condominium_feasibility(*HERE)
    network.splitters[0]["connectables"]["output"] = ["f", "f", None, "f"]  # a port was sold
    [after, _] = await client.condominium_feasibility(*HERE)
    assert (before.free_ports, after.free_ports) == (2, 1)


async def test_the_two_lookups_go_out_together(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    both_arrived = asyncio.Event()
    arrived: set[str] = set()

    def meet(path: str, rows: list[dict[str, Any]]) -> Any:
        async def handler(request: httpx.Request) -> httpx.Response:
            arrived.add(path)
            if len(arrived) == 2:
                both_arrived.set()
            # a sequential client would never send the second read: this wait would time out
            await asyncio.wait_for(both_arrived.wait(), timeout=5)
            return filtered(rows)(request)

        return handler

    fake.on("GET", "buildings", meet("buildings", BUILDINGS))
    fake.on("GET", "horizontal-condominiums", meet("horizontal-condominiums", [PALMEIRAS]))
    await client_for(fake, http).condominiums_at(*GATED)
    assert arrived == {"buildings", "horizontal-condominiums"}


RING = [[-48.6, -27.6], [-48.4, -27.6], [-48.4, -27.4], [-48.6, -27.4], [-48.6, -27.6]]
HOLE = [[-48.55, -27.55], [-48.45, -27.55], [-48.45, -27.45], [-48.55, -27.45], [-48.55, -27.55]]


@pytest.mark.parametrize(
    ("polygon", "point", "inside"),
    [
        ({"type": "Polygon", "coordinates": [RING]}, (-27.5, -48.5), True),
        ({"type": "Polygon", "coordinates": [RING, HOLE]}, (-27.5, -48.5), False),  # the hole
        ({"type": "Polygon", "coordinates": [RING, HOLE]}, (-27.58, -48.58), True),
        ({"type": "MultiPolygon", "coordinates": [[HOLE], [RING]]}, (-27.58, -48.58), True),
        ({"type": "Polygon", "coordinates": "nonsense"}, (-27.5, -48.5), False),
    ],
)
def test_the_sandbox_reads_a_polygon_as_the_client_does(
    polygon: dict[str, Any], point: tuple[float, float], inside: bool
) -> None:
    """``point-intersect`` in the sandbox and the client's own check are one function: holes
    (a courtyard outside the condominium) and MultiPolygons alike."""
    lat, lng = point
    flt = parse_filter([{"property": "polygon", "operator": "point-intersect",
                         "value": {"lat": lat, "lng": lng}}])  # fmt: skip
    assert matches({"polygon": polygon}, flt, lambda *_: None) is inside
    assert point_in_polygon(lat, lng, polygon) is inside
