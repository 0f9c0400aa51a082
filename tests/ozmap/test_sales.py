"""The sales desk against the real sandbox over loopback: what a sale is offered at a point, the
reservation loop over the boxes, and prospects an ERP can find."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.errors import ConfigError, OzmapRejected, OzmapUnavailable, ReservationUnconfirmed
from bot.ozmap import OzmapClient
from bot.ozmap.models import NewReservation, Property
from bot.ozmap.sales import (
    RESERVATIONS_KEY,
    Booking,
    SalesDesk,
    booked_for,
    forget_reservation,
    lives_in,
    remember_reservation,
    reservations,
)
from bot.ozmap.sandbox import BOX_900, THREE_FREE_PORTS_BOX, RunningSandbox


@pytest.fixture
def paths() -> list[str]:
    return []


@pytest.fixture
async def ozmap(sandbox: RunningSandbox, paths: list[str]) -> AsyncIterator[OzmapClient]:
    async def record(request: httpx.Request) -> None:
        paths.append(request.url.path.removeprefix("/api/v2/"))

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        yield OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0)


def sample(sandbox: RunningSandbox, name: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.network.samples[name]
    return found


def booking(code: str, sandbox: RunningSandbox) -> Booking:
    covered = sample(sandbox, "covered")
    return Booking(
        code=code,
        name="Gabriel Marioto",
        lat=covered["lat"],
        lng=covered["lng"],
        address=covered["address"],
    )


def fill(sandbox: RunningSandbox, box: str) -> None:
    """Every port of every splitter in ``box`` taken, as other sales would leave it."""
    for splitter in sandbox.network.splitters_in(box):
        output = splitter["connectables"]["output"]
        output[:] = [fibre or f"fibre-{i}" for i, fibre in enumerate(output)]


async def test_coverage_nearest_box_first(sandbox: RunningSandbox, ozmap: OzmapClient) -> None:
    covered = sample(sandbox, "covered")
    coverage = await SalesDesk(ozmap).coverage(covered["lat"], covered["lng"])
    assert coverage.kind == "box" and coverage.boxes[0] == BOX_900
    assert coverage.to_context()["boxes"] == list(coverage.boxes)

    far = sample(sandbox, "not_covered")
    assert (await SalesDesk(ozmap).coverage(far["lat"], far["lng"])).kind == "none"


async def test_a_house_is_one_round_trip_of_lookups_sent_together(
    sandbox: RunningSandbox, ozmap: OzmapClient, paths: list[str]
) -> None:
    """The covered sample has a building 54 m away that is not the customer's: its ports are
    not read, so the three lookups of the first round trip are all."""
    covered = sample(sandbox, "covered")
    coverage = await SalesDesk(ozmap).coverage(
        covered["lat"], covered["lng"], street="Rua Delminda Silveira", number="900"
    )
    assert coverage.kind == "box"
    assert sorted(paths) == ["buildings", "ftth-viability/radius", "horizontal-condominiums"]


async def test_a_building_counts_when_the_customer_lives_in_it(
    sandbox: RunningSandbox, ozmap: OzmapClient, paths: list[str]
) -> None:
    building = sample(sandbox, "building")
    at = await SalesDesk(ozmap).coverage(building["lat"], building["lng"])
    assert at.kind == "condominium" and at.condominium is not None
    assert at.boxes == (building["building"],)
    assert at.to_context()["condominium"]["kind"] == "building"
    assert paths[3:] == ["splitters"]  # the building's ports: a second round trip
    # the same building, named by its address from a bit further away
    paths.clear()
    lat, lng = building["lat"] - 0.0004, building["lng"]  # ~44 m south
    by_address = await SalesDesk(ozmap).coverage(lat, lng, street="R. Rui Barbosa", number="1200")
    assert by_address.kind == "condominium"
    assert (
        await SalesDesk(ozmap).coverage(lat, lng, street="R. Rui Barbosa", number="1300")
    ).kind == "box"


async def test_inside_a_horizontal_condominium_only_its_boxes_serve(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    gated = sample(sandbox, "horizontal_condominium")
    at = await SalesDesk(ozmap).coverage(gated["lat"], gated["lng"])
    assert at.kind == "condominium" and at.condominium is not None
    assert at.condominium.id == gated["horizontalCondominium"]
    inner = sandbox.network.get("boxes", at.boxes[0])
    assert inner is not None and inner["name"].startswith("CTO-JDP")


@pytest.mark.parametrize(
    ("address", "street", "number", "mine"),
    [
        ("Rua Rui Barbosa, 1200 - Agronômica", "R. Rui Barbosa", "1200", True),
        ("R. RUI BARBOSA 1200", "Rua Rui Barbosa", "1200", True),
        ("Rua João Pio Duarte Silva, 50", "Rua Joao Pio Duarte Silva", "50", True),
        ("Rua Rui Barbosa, 1200", "Rua Rui Barbosa", "1210", False),
        ("Rua Bocaiúva, 1200", "Rua Rui Barbosa", "1200", False),
        ("Rua Rui Barbosa, 1200", None, "1200", False),
    ],
)
def test_a_building_is_the_customers_when_its_address_names_theirs(
    address: str, street: str | None, number: str, mine: bool
) -> None:
    # farther than a building standing at the point: only the address can tell
    assert lives_in("building", 80.0, address, street, number) is mine
    assert lives_in("building", 10.0, address, street, number) is True
    assert lives_in("horizontal", 500.0, None, None, None) is True


async def test_an_unknown_mode_is_a_config_error(ozmap: OzmapClient) -> None:
    with pytest.raises(ConfigError, match="OZMAP_FEASIBILITY_MODE='area'"):
        SalesDesk(ozmap, mode="area")


async def test_reservation_moves_on_to_the_next_box(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    fill(sandbox, BOX_900)
    desk = SalesDesk(ozmap)
    created = await desk.reserve(booking("vez-1", sandbox), [BOX_900, THREE_FREE_PORTS_BOX])
    assert created is not None and created.box == THREE_FREE_PORTS_BOX
    client = sandbox.network.client_by_code("vez-1")
    assert client is not None and client["implanted"] is False

    fill(sandbox, THREE_FREE_PORTS_BOX)
    assert await desk.reserve(booking("vez-2", sandbox), [BOX_900, THREE_FREE_PORTS_BOX]) is None
    assert sandbox.network.client_by_code("vez-2") is None


async def test_a_code_already_reserved_is_found_not_reserved_again(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    covered = sample(sandbox, "covered")
    earlier = await ozmap.create_property(
        NewReservation(
            box=BOX_900,
            lat=covered["lat"],
            lng=covered["lng"],
            address="x",
            client_code="perdida-1",
            client_name="Gabriel Marioto",
        )
    )
    again = await SalesDesk(ozmap).reserve(booking("perdida-1", sandbox), [BOX_900])
    assert again is not None and again.id == earlier.id
    assert [c["code"] for c in sandbox.network.docs("ftth-clients")].count("perdida-1") == 1


async def test_prospects_carry_a_code_and_external_id(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    far = sample(sandbox, "not_covered")
    desk = SalesDesk(ozmap, prospect_tags=("MASSIVA", "NO-SUCH-TAG"))
    place = {"address": far["address"], "lat": far["lat"], "lng": far["lng"]}
    given = await desk.record_prospect(
        name="Carla Dias", phone="+5548", code="OZB-ABCDEF", observation="plano 500", **place
    )
    made = await desk.record_prospect(name="Rui Dias", phone="+5548", **place)
    stored = [sandbox.network.get("prospects", p.id) for p in (given, made)]
    assert [(s or {}).get("observation") for s in stored] == ["plano 500", ""]
    assert [(s or {}).get("code") for s in stored] == ["OZB-ABCDEF", made.code]
    assert [(s or {}).get("external_id") for s in stored] == ["OZB-ABCDEF", made.code]
    assert made.code and made.code.startswith("OZB-") and made.code != "OZB-ABCDEF"
    [massiva] = await ozmap.tags(["MASSIVA"])
    assert all((s or {}).get("tags") == [massiva.id] for s in stored)


async def test_a_prospect_recorded_again_with_its_code_is_the_one_recorded(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    """A turn run again after its process lost the conversation (bot.storage.locks.LeaseLost)
    records its prospect again with the code saved a turn before: OZmap keeps one."""
    far = sample(sandbox, "not_covered")
    desk = SalesDesk(ozmap)
    place = {"address": far["address"], "lat": far["lat"], "lng": far["lng"]}
    first = await desk.record_prospect(name="Carla Dias", phone="+5548", code="OZB-R3PLAY", **place)
    again = await desk.record_prospect(name="Carla Dias", phone="+5548", code="OZB-R3PLAY", **place)
    assert again.id == first.id
    assert [p.get("code") for p in sandbox.network.docs("prospects")].count("OZB-R3PLAY") == 1
    other = await desk.record_prospect(name="Rui Dias", phone="+5548", code="OZB-OTHER1", **place)
    assert other.id != first.id


class LosingTransport(httpx.AsyncBaseTransport):
    """Loopback to the sandbox, except for the reservation's POST: ``applied``, OZmap makes it
    and the answer never comes (a read timeout, as the client meets it); ``unsent``, the same
    timeout without reaching OZmap; ``bad-gateway``, a 502 from a gateway that never passed it
    on; ``gateway-timeout``, a 504 from one that gave up waiting (nothing made by then)."""

    def __init__(self, fault: str) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fault = fault

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not (request.method == "POST" and request.url.path.endswith("/properties")):
            return await self.inner.handle_async_request(request)
        if self.fault == "bad-gateway":
            return httpx.Response(502, json={"message": "bad gateway"})
        if self.fault == "gateway-timeout":
            return httpx.Response(504, json={"message": "upstream timed out"})
        if self.fault == "applied":
            response = await self.inner.handle_async_request(request)
            await response.aread()
        raise httpx.ReadTimeout("no answer", request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("applied", "reserved"),  # OZmap made it: that is the answer, not "OZmap is down"
        ("unsent", "unconfirmed"),  # nothing there yet, but the request may still be running
        ("bad-gateway", "down"),  # OZmap answered (through a gateway) and holds nothing
        ("gateway-timeout", "unconfirmed"),  # the gateway gave up: OZmap may still be at it
    ],
)
async def test_a_reservation_without_an_answer_is_looked_up_by_its_code(
    sandbox: RunningSandbox, fault: str, outcome: str
) -> None:
    code = f"sem-resposta-{fault}"
    async with httpx.AsyncClient(transport=LosingTransport(fault)) as http:
        desk = SalesDesk(OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0))
        try:
            made = await desk.reserve(booking(code, sandbox), [BOX_900, THREE_FREE_PORTS_BOX])
        except ReservationUnconfirmed as exc:
            assert exc.code == code
            got = "unconfirmed"
        except OzmapUnavailable:
            got = "down"
        else:
            assert made is not None and made.box == BOX_900  # never on to the next box
            got = "reserved"
    assert got == outcome
    made_count = [c["code"] for c in sandbox.network.docs("ftth-clients")].count(code)
    assert made_count == (1 if fault == "applied" else 0)


async def test_unconfirmed_when_ozmap_cannot_be_asked_after_a_lost_answer(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    sandbox.sandbox.lose_answers.append("POST /properties")
    sandbox.sandbox.error_rate_after_loss = 1.0  # down right after making it
    with pytest.raises(ReservationUnconfirmed):
        await SalesDesk(ozmap).reserve(booking("talvez-1", sandbox), [BOX_900])
    sandbox.sandbox.error_rate = 0.0
    assert sandbox.network.client_by_code("talvez-1") is not None


def test_remember_reservation_keeps_one_entry_per_code_newest_last() -> None:
    first = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
    later = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    context: dict[str, Any] = {}
    remember_reservation(context, code="A", address="Rua 1", at=first)
    remember_reservation(context, code="B", address="Rua 2", at=first, property_id="p2")
    kept = reservations(context)
    assert kept[0] == {
        "code": "A", "property_id": None, "address": "Rua 1",
        "created_at": first.isoformat(), "unconfirmed": True,
    }  # fmt: skip
    remember_reservation(context, code="A", address="Rua 1", at=later, property_id="p1")
    kept = reservations(context)
    assert [r["code"] for r in kept] == ["B", "A"]
    assert kept[1] == {
        "code": "A",
        "property_id": "p1",
        "address": "Rua 1",
        "created_at": first.isoformat(),
    }
    forget_reservation(context, "B")
    assert [r["code"] for r in context[RESERVATIONS_KEY]] == ["A"]


def test_reservations_reads_only_entries_with_a_code() -> None:
    # a context written by hand or by an older version: what has no code is no reservation
    context = {RESERVATIONS_KEY: [{"code": "OZB-1"}, {"address": "no code"}, "junk", {"code": 7}]}
    assert reservations(context) == [{"code": "OZB-1"}]
    assert reservations({RESERVATIONS_KEY: "garbage"}) == []
    assert reservations({}) == []


class LandsAfterLookUp(httpx.AsyncBaseTransport):
    """Loopback to the sandbox; the first look-up by code answers "nothing" and then ``lands``
    runs (another request holding the code reaches OZmap right after it)."""

    def __init__(self, lands: Callable[[OzmapClient], Awaitable[object]], sandbox: RunningSandbox):
        self.inner = httpx.AsyncHTTPTransport()
        self.lands, self.sandbox = lands, sandbox
        self.looked_up = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/properties/client/" not in request.url.path or self.looked_up:
            return await self.inner.handle_async_request(request)
        self.looked_up = True
        async with httpx.AsyncClient() as other:
            await self.lands(OzmapClient(other, self.sandbox.url, self.sandbox.token))
        return httpx.Response(200, json=[])

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_code_in_use_by_a_late_earlier_request_is_that_reservation(
    sandbox: RunningSandbox,
) -> None:
    """An earlier request with this code (its answer lost) lands after the look-up that opens
    :meth:`SalesDesk.reserve`: OZmap refuses the new one (409, the code is in use), and the
    reservation is the earlier one, found by the code, not an error."""
    covered = sample(sandbox, "covered")

    async def earlier(ozmap: OzmapClient) -> object:
        return await ozmap.create_property(
            NewReservation(
                box=BOX_900, lat=covered["lat"], lng=covered["lng"], address="x",
                client_code="tarde-1", client_name="Gabriel Marioto",
            )
        )  # fmt: skip

    async with httpx.AsyncClient(transport=LandsAfterLookUp(earlier, sandbox)) as http:
        desk = SalesDesk(OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0))
        made = await desk.reserve(booking("tarde-1", sandbox), [BOX_900])
    assert made is not None and made.box == BOX_900
    assert [c["code"] for c in sandbox.network.docs("ftth-clients")].count("tarde-1") == 1


async def strangers_property(ozmap: OzmapClient, sandbox: RunningSandbox, code: str) -> str:
    """Another client's reservation holding ``code`` elsewhere (a code handed out twice)."""
    far = sample(sandbox, "not_covered")
    made = await ozmap.create_property(
        NewReservation(
            box=THREE_FREE_PORTS_BOX, lat=far["lat"], lng=far["lng"], address=far["address"],
            client_code=code, client_name="Outra Pessoa",
        )
    )  # fmt: skip
    return made.id


async def test_a_code_another_client_holds_is_refused_not_taken_as_this_reservation(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    """A ``{seq}`` counter started again on a new database hands out a code OZmap already holds
    for somebody else: that property is never this customer's (to be told of, or cancelled)."""
    theirs = await strangers_property(ozmap, sandbox, "ERP000042")
    with pytest.raises(OzmapRejected) as refused:
        await SalesDesk(ozmap).reserve(booking("ERP000042", sandbox), [BOX_900])
    assert refused.value.status == 409 and "ERP000042" not in str(refused.value)
    [held] = await ozmap.properties_by_client_code("ERP000042")
    assert held.id == theirs and held.box == THREE_FREE_PORTS_BOX


async def test_a_409_on_a_code_another_client_holds_is_refused(sandbox: RunningSandbox) -> None:
    """The code is free at the opening look-up, and somebody else's when the POST lands."""

    async def stranger(ozmap: OzmapClient) -> object:
        return await strangers_property(ozmap, sandbox, "ERP000043")

    async with httpx.AsyncClient(transport=LandsAfterLookUp(stranger, sandbox)) as http:
        desk = SalesDesk(OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0))
        with pytest.raises(OzmapRejected) as refused:
            await desk.reserve(booking("ERP000043", sandbox), [BOX_900])
    assert refused.value.status == 409
    assert [c["code"] for c in sandbox.network.docs("ftth-clients")].count("ERP000043") == 1


async def test_after_a_lost_answer_another_clients_code_is_refused(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    """The POST's answer is lost and the code turns out to be somebody else's: refused, not
    "reserved" with their property."""
    await strangers_property(ozmap, sandbox, "ERP000044")
    desk = SalesDesk(ozmap)
    lost = OzmapUnavailable("no answer")
    with pytest.raises(OzmapRejected):
        await desk._after_lost_answer(booking("ERP000044", sandbox), lost)


async def test_an_unconfirmed_reservation_names_no_code_in_its_message(
    sandbox: RunningSandbox,
) -> None:
    """A code may carry the CPF's digits (``{cpf}-{seq}``): exception messages get logged."""
    code = "52998224725-7"
    async with httpx.AsyncClient(transport=LosingTransport("unsent")) as http:
        desk = SalesDesk(OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0))
        with pytest.raises(ReservationUnconfirmed) as unconfirmed:
            await desk.reserve(booking(code, sandbox), [BOX_900])
    assert unconfirmed.value.code == code and "52998224725" not in str(unconfirmed.value)


def test_a_property_is_a_reservations_by_its_point_address_or_client_name() -> None:
    def mine(found: list[Property]) -> Property | None:
        return booked_for(found, address="Rua A, 10", lat=-27.6, lng=-48.5, name="Ana Lima")

    at_point = Property(id="1", coords=(-48.50001, -27.60001), address="outra")
    by_address = Property(id="2", coords=(-48.0, -27.0), address="rua a 10")
    by_name = Property(id="3", client={"id": "k", "name": "ANA LIMA", "code": "c"})
    elsewhere = Property(id="4", coords=(-48.0, -27.0), address="Rua B, 5")
    assert [mine([p]) for p in (at_point, by_address, by_name)] == [
        at_point,
        by_address,
        by_name,
    ]
    assert mine([elsewhere]) is None
    assert mine([elsewhere, by_address]) is by_address
    assert booked_for([at_point], address="Rua A, 10") is None  # an address alone: it must match
