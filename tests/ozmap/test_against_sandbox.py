"""The client against the real OZmap sandbox over loopback: OZmap's tutorials end to end,
reservations racing for the last ports, a bad key, condominium feasibility on the seed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.errors import NoFreePort, OzmapAuthError, OzmapError, OzmapNotFound, OzmapRejected
from bot.ozmap import ClientStatus, NewReservation, OzmapClient, Property
from bot.ozmap.sandbox import BOX_900, SPLITTER_900, THREE_FREE_PORTS_BOX, RunningSandbox


class Counting:
    """Counts the requests that go out (an httpx event hook, not a fake)."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path.removeprefix("/api/v2/"))


@pytest.fixture
def counting() -> Counting:
    return Counting()


@pytest.fixture
async def ozmap(sandbox: RunningSandbox, counting: Counting) -> AsyncIterator[OzmapClient]:
    async with httpx.AsyncClient(event_hooks={"request": [counting]}) as http:
        yield OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0)


def sample(sandbox: RunningSandbox, name: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.network.samples[name]
    return found


def reservation(code: str, box: str = BOX_900, **over: Any) -> NewReservation:
    return NewReservation(
        box=box,
        lat=-27.5782336721312,
        lng=-48.527442812919624,
        address="R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500",
        observation="Reserva de Porta",
        client_code=code,
        client_name="Gabriel Marioto",
        client_observation="Reserva do Novo Cliente",
        **over,
    )


def port_fibre(sandbox: RunningSandbox, splitter: str, port: int) -> Any:
    doc = sandbox.network.get("splitters", splitter)
    assert doc is not None
    return doc["connectables"]["output"][port - 1]


async def test_the_tutorials_reserve_find_activate_status_cancel(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    covered = sample(sandbox, "covered")
    feasible = await ozmap.feasibility(covered["lat"], covered["lng"], 250)
    assert feasible.viable
    box = next(b for b in feasible.boxes if b.id == BOX_900)
    assert (SPLITTER_900, 4) in box.free_ports
    assert port_fibre(sandbox, SPLITTER_900, 4) is None

    # 002: reserve
    created = await ozmap.create_property(reservation("123|123"))
    assert created.id and created.client_id and created.box == BOX_900
    assert port_fibre(sandbox, SPLITTER_900, 4) is not None  # the first free port is taken

    # 000/004: find by code (the code travels as one encoded path segment)
    [found] = await ozmap.properties_by_client_code("123|123")
    assert (found.id, found.client_id) == (created.id, created.client_id)
    assert [(c.id, c.port) for c in found.connections] == [(SPLITTER_900, 4)]
    client = found.client_obj
    assert client is not None and client.implanted is False and client.code == "123|123"

    # 000: activate
    await ozmap.update_client(client.id, implanted=True)
    # 001: status to ERROR
    await ozmap.update_client(client.id, status=ClientStatus.ERROR)
    [after] = await ozmap.properties_by_client_code("123|123")
    assert after.client_obj is not None
    assert (after.client_obj.implanted, after.client_obj.status) == (True, ClientStatus.ERROR)
    assert (await ozmap.client_by_code("123|123")).status is ClientStatus.ERROR

    # 004: cancel, and the port is free again
    await ozmap.delete_property(created.id)
    assert await ozmap.properties_by_client_code("123|123") == []
    assert port_fibre(sandbox, SPLITTER_900, 4) is None
    again = await ozmap.feasibility(covered["lat"], covered["lng"], 250)
    assert (SPLITTER_900, 4) in next(b for b in again.boxes if b.id == BOX_900).free_ports
    with pytest.raises(OzmapNotFound):
        await ozmap.delete_property(created.id)


async def test_fifty_concurrent_reservations_on_three_free_ports(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    async def attempt(code: str) -> tuple[str, Property | OzmapError]:
        try:
            return code, await ozmap.create_property(reservation(code, box=THREE_FREE_PORTS_BOX))
        except OzmapError as exc:
            return code, exc

    results = await asyncio.gather(*(attempt(f"race-{i}") for i in range(50)))
    assert Counter(type(r).__name__ for _, r in results) == Counter(
        {"Property": 3, "NoFreePort": 47}
    )
    # the three winners hold three different ports; the losers left nothing behind
    held: set[tuple[str, int | None]] = set()
    for code, result in results:
        found = await ozmap.properties_by_client_code(code)
        if isinstance(result, Property):
            [prop] = found
            held.update((c.id, c.port) for c in prop.connections)
        else:
            assert found == []
    assert len(held) == 3
    box = await ozmap.box(THREE_FREE_PORTS_BOX)
    assert box.lat is not None and box.lng is not None
    feasible = await ozmap.feasibility(box.lat, box.lng, 50)
    assert THREE_FREE_PORTS_BOX not in [b.id for b in feasible.boxes if b.available]
    assert THREE_FREE_PORTS_BOX in [b.id for b in feasible.not_viable]


async def test_batch_status_update(sandbox: RunningSandbox, ozmap: OzmapClient) -> None:
    ids = [(await ozmap.client_by_code(code)).id for code in ("cliente-lote-1", "cliente-lote-2")]
    await ozmap.batch_update_clients(ids, status=ClientStatus.ERROR)
    for client_id in ids:
        doc = sandbox.network.get("ftth-clients", client_id)
        assert doc is not None and doc["status"] == 1
    untouched = await ozmap.client_by_code("reserva_123")
    assert untouched.status is ClientStatus.OK


async def test_a_bad_key_is_refused(sandbox: RunningSandbox) -> None:
    async with httpx.AsyncClient() as http:
        ozmap = OzmapClient(http, sandbox.url, "not-the-key")
        assert await ozmap.authenticated() is False
        with pytest.raises(OzmapAuthError, match="check OZMAP_TOKEN"):
            await ozmap.feasibility(-27.578, -48.527)
        with pytest.raises(OzmapAuthError):
            await ozmap.create_property(reservation("nope"))
    assert sandbox.network.client_by_code("nope") is None


async def test_refusals_carry_ozmaps_message(sandbox: RunningSandbox, ozmap: OzmapClient) -> None:
    with pytest.raises(OzmapRejected, match="already exists") as duplicate:
        await ozmap.create_property(reservation("reserva_123"))
    assert duplicate.value.status == 409 and not isinstance(duplicate.value, NoFreePort)
    with pytest.raises(OzmapNotFound):
        await ozmap.create_property(reservation("x", box="000000000000000000000000"))
    with pytest.raises(OzmapNotFound):
        await ozmap.box("000000000000000000000000")


async def test_condominium_feasibility_finds_the_seeded_condominiums(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    building = sample(sandbox, "building")
    [option, *_] = await ozmap.condominium_feasibility(building["lat"], building["lng"])
    assert (option.kind, option.id, option.box_id) == (
        "building",
        building["building"],
        building["building"],
    )
    assert option.free_ports > 0 and option.distance < 1

    gated = sample(sandbox, "horizontal_condominium")
    options = await ozmap.condominium_feasibility(gated["lat"], gated["lng"])
    horizontal = [o for o in options if o.kind == "horizontal"]
    assert [o.id for o in horizontal] == [gated["horizontalCondominium"]]
    inner = sandbox.network.get("boxes", horizontal[0].box_id)
    assert inner is not None and horizontal[0].free_ports > 0

    not_covered = sample(sandbox, "not_covered")
    assert await ozmap.condominium_feasibility(not_covered["lat"], not_covered["lng"]) == []


async def test_condominium_ports_are_live(
    sandbox: RunningSandbox, ozmap: OzmapClient, counting: Counting
) -> None:
    building = sample(sandbox, "building")
    point = (building["lat"], building["lng"])
    [before, *_] = await ozmap.condominium_feasibility(*point)
    # two lookups together (buildings near, condominiums around), then the splitters
    assert sorted(counting.paths[:2]) == ["buildings", "horizontal-condominiums"]
    assert counting.paths[2:] == ["splitters"]

    # a port is sold: the next answer knows it
    await ozmap.create_property(reservation("predio-1", box=before.box_id))
    [after, *_] = await ozmap.condominium_feasibility(*point)
    assert after.free_ports == before.free_ports - 1


async def test_prospects_tags_regions_and_elements(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    not_covered = sample(sandbox, "not_covered")
    [massiva] = await ozmap.tags(["MASSIVA"])
    assert massiva.name == "MASSIVA" and (await ozmap.tag(massiva.id)).id == massiva.id

    prospect = await ozmap.create_prospect(
        "Ana Souza",
        "+5548999990000",
        not_covered["address"],
        not_covered["lat"],
        not_covered["lng"],
        "sem viabilidade",
        tags=[massiva.id],
    )
    stored = sandbox.network.get("prospects", prospect.id)
    assert stored is not None
    assert stored["coords"] == [not_covered["lng"], not_covered["lat"]]
    assert stored["viable"] is False and stored["tags"] == [massiva.id]

    outage = sample(sandbox, "outage_region")
    [region] = await ozmap.regions_at(outage["lat"], outage["lng"])
    assert region.id == outage["region"] and massiva.id in region.tags
    assert await ozmap.regions_at(not_covered["lat"], not_covered["lng"]) == []

    box = await ozmap.box(BOX_900)
    splitter = await ozmap.splitter(SPLITTER_900)
    assert box.id == BOX_900 and box.lat is not None
    assert splitter.parent == BOX_900 and 4 in splitter.free_ports()
