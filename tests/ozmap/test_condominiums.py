"""Condominium feasibility against a scripted OZmap: the directory is read once per TTL, a warm
call is one request, port counts are always live, independent reads go out together."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bot.ozmap import CondoOption
from tests.ozmap.fake_ozmap import FakeOzmap, client_for, filter_of
from tests.support.clock import ManualClock

HERE = (-27.5800, -48.5300)  # (lat, lng): the building Solar stands here
GATED = (-27.5900, -48.5400)  # inside the Palmeiras condominium

BUILDINGS = [
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
PALMEIRAS = {
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
        fake.on("GET", "buildings", {"total": len(BUILDINGS), "rows": BUILDINGS})
        fake.on("GET", "horizontal-condominiums", {"total": 1, "rows": [PALMEIRAS]})

        def boxes(request: httpx.Request) -> httpx.Response:
            [cond] = filter_of(request)
            assert cond["operator"] == "within"
            assert cond["value"] == {"id": "palmeiras", "model": "horizontalCondominium"}
            return httpx.Response(200, json={"total": 2, "rows": PALMEIRAS_BOXES})

        def splitters(request: httpx.Request) -> httpx.Response:
            [cond] = filter_of(request)
            assert (cond["property"], cond["operator"]) == ("parent", "in")
            rows = [s for s in self.splitters if s["parent"] in cond["value"]]
            return httpx.Response(200, json={"total": len(rows), "rows": rows})

        fake.on("GET", "boxes", boxes)
        fake.on("GET", "splitters", splitters)


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


async def test_cold_call_reads_the_directory_then_the_splitters(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    await client_for(fake, http).condominium_feasibility(*HERE)
    paths = fake.paths()
    assert sorted(paths[:2]) == ["buildings", "horizontal-condominiums"]
    assert paths[2:] == ["boxes", "splitters"]
    [cond] = filter_of(fake.requests[-1])
    assert sorted(cond["value"]) == ["mar", "solar"]  # only the candidates' splitters


async def test_warm_call_is_one_request_and_ports_are_live(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    client = client_for(fake, http)
    await client.condominium_feasibility(*HERE)
    fake.requests.clear()

    network.splitters[0]["connectables"]["output"] = ["f", "f", None, "f"]  # a port was sold
    [solar, _] = await client.condominium_feasibility(*HERE)
    assert fake.paths() == ["splitters"]
    assert solar.free_ports == 1

    fake.requests.clear()
    [palmeiras] = await client.condominium_feasibility(*GATED)
    assert fake.paths() == ["splitters"]
    assert palmeiras.box_id == "cto-b"


async def test_no_condominium_near_costs_no_request_once_warm(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    client = client_for(fake, http)
    await client.refresh_condominiums()
    fake.requests.clear()
    assert await client.condominium_feasibility(-27.0, -48.0) == []
    assert fake.requests == []


async def test_directory_is_read_again_after_the_ttl(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    clock = ManualClock(1000.0)
    client = client_for(fake, http, condo_ttl=300, clock=clock)
    await client.condominium_feasibility(*HERE)
    clock.now += 299
    fake.requests.clear()
    await client.condominium_feasibility(*HERE)
    assert fake.paths() == ["splitters"]
    clock.now += 1
    fake.requests.clear()
    await client.condominium_feasibility(*HERE)
    assert "buildings" in fake.paths()


async def test_concurrent_cold_callers_share_one_directory_read(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    client = client_for(fake, http)
    await asyncio.gather(*(client.condominium_feasibility(*HERE) for _ in range(5)))
    assert fake.paths().count("buildings") == 1
    assert fake.paths().count("splitters") == 5


async def test_independent_directory_reads_go_out_together(
    fake: FakeOzmap, http: httpx.AsyncClient, network: Network
) -> None:
    both_arrived = asyncio.Event()
    arrived: set[str] = set()

    def meet(path: str, payload: Any) -> Any:
        async def handler(_request: httpx.Request) -> httpx.Response:
            arrived.add(path)
            if len(arrived) == 2:
                both_arrived.set()
            # a sequential client would never send the second read: this wait would time out
            await asyncio.wait_for(both_arrived.wait(), timeout=5)
            return httpx.Response(200, json=payload)

        return handler

    fake.on("GET", "buildings", meet("buildings", BUILDINGS))
    fake.on("GET", "horizontal-condominiums", meet("horizontal-condominiums", [PALMEIRAS]))
    await client_for(fake, http).refresh_condominiums()
    assert arrived == {"buildings", "horizontal-condominiums"}
