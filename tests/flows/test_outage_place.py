"""The outage question without a code, as customers ask it: "tem queda de internet aqui na minha
rua?", then an address, a CEP and the number, or a location pin. OZmap is asked about the point
(the regions around it, the boxes that can serve it, their tags) against the sandbox's seeded
network: a region tagged MASSIVA over Rua Lauro Linhares, the box CTO-AGR-09 tagged MASSIVA."""

from __future__ import annotations

from typing import cast

import httpx
import pytest

from bot.engine import Services, Turn
from bot.geo.gazetteer import Gazetteer
from bot.messages import Inbound
from bot.nlu.base import Expect, Understanding
from bot.nlu.embedded import EmbeddedUnderstander
from bot.ozmap.client import OzmapClient
from bot.ozmap.outage import OutageReader
from bot.ozmap.sandbox import RunningSandbox
from flows.outage import FLOW
from flows.outage_place import code_in
from tests.engine.support import Chat
from tests.flows.conftest import OUTAGE_TAGS, MakeChat
from tests.flows.test_outage import KNOWN_OUTAGE, tag_id
from tests.flows.test_sales import COVERED, NOT_COVERED

IN_THE_REGION = "rua lauro linhares 500"
NO_OUTAGE_NEAR = "R. Frei Caneca, 300"  # a gated community with its own untagged boxes
CHECKED = "Verifiquei a nossa rede perto de"
NEARBY = "numa caixa de fibra perto de você"


def box_point(sandbox: RunningSandbox, name: str) -> tuple[float, float]:
    box = next(b for b in sandbox.network.docs("boxes") if b["name"] == name)
    lng, lat = box["coords"]
    return lat, lng


async def test_an_outage_over_the_customers_street(chat: Chat) -> None:
    await chat.says("tem queda de internet aqui na minha rua?")
    assert "Onde você está?" in chat.last_reply.text
    assert chat.last_reply.ask_location
    await chat.says(IN_THE_REGION)
    assert CHECKED in chat.text and "Lauro Linhares, 500" in chat.text
    assert KNOWN_OUTAGE in chat.text
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("outage", "outage")


async def test_a_pin_at_a_box_under_an_outage(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("minha internet caiu")  # routed by today's phrases: "internet caiu"
    lat, lng = box_point(sandbox, "CTO-AGR-09")
    await chat.pins(lat + 0.00005, lng)  # across the street from the box
    assert KNOWN_OUTAGE in chat.text


async def test_an_outage_at_a_box_in_reach_may_be_theirs(chat: Chat) -> None:
    # the nearest box (CTO-AGR-01) is fine; CTO-AGR-09, 70 m away, is tagged
    await chat.says("sem internet aqui em casa")
    await chat.says(COVERED)
    assert NEARBY in chat.text and KNOWN_OUTAGE not in chat.text
    assert [b.payload for b in chat.options] == ["intent:handoff", "intent:menu"]
    assert (await chat.saved()).state == "maybe_outage"


async def test_nothing_known_near_the_place_gives_troubleshooting(chat: Chat) -> None:
    await chat.says("sem internet")
    await chat.says(NO_OUTAGE_NEAR)
    assert CHECKED in chat.text and "Não há falha conhecida na sua região" in chat.text
    assert "30 segundos" in chat.text
    assert [b.payload for b in chat.options] == ["intent:handoff", "intent:menu"]


async def test_a_cep_then_the_number(chat: Chat) -> None:
    await chat.says("sem sinal")
    await chat.says("cep 88036-001")
    assert "Rua Lauro Linhares: qual é o número" in chat.last_reply.text
    await chat.says("500")
    assert KNOWN_OUTAGE in chat.text


async def test_no_network_near_the_address_asks_again(chat: Chat) -> None:
    await chat.says("sem internet")
    await chat.says(NOT_COVERED)
    assert "Não encontrei a nossa rede perto de" in chat.text
    assert "intent:handoff" in [b.payload for b in chat.options]
    assert "Onde você está?" not in chat.text  # not asked twice
    assert (await chat.saved()).state == "no_network"
    await chat.says(IN_THE_REGION)  # the right address, straight away
    assert KNOWN_OUTAGE in chat.text


async def test_an_address_not_found_or_not_understood(chat: Chat) -> None:
    await chat.says("sem internet")
    await chat.says("rua que nao existe de jeito nenhum 12")
    assert "Não encontrei esse endereço" in chat.text
    await chat.says("??")
    assert "Não entendi onde você está" in chat.text
    assert (await chat.saved()).state == "ask_where"


async def test_an_ambiguous_street_is_chosen(make_chat: MakeChat, twin_streets: Gazetteer) -> None:
    chat = await make_chat(streets=twin_streets)
    await chat.says("sem internet")
    await chat.says("Rua Lauro Linhares, 500")
    assert "intent:handoff" not in [b.payload for b in chat.options]
    payloads = [b.payload for b in chat.options]
    assert payloads[-1] == "none" and len(payloads) == 3
    trindade = next(b for b in chat.options if "Trindade" in b.label)
    await chat.taps(trindade.payload)
    assert KNOWN_OUTAGE in chat.text


async def test_none_of_the_candidates_asks_where_again(
    make_chat: MakeChat, twin_streets: Gazetteer
) -> None:
    chat = await make_chat(streets=twin_streets)
    await chat.says("sem internet")
    await chat.says("Rua Lauro Linhares, 500")
    await chat.says(str(chat.option("none")))
    assert "Onde você está?" in chat.last_reply.text


async def test_a_house_number_in_an_address_is_not_a_code(chat: Chat) -> None:
    await chat.says("sem internet")
    await chat.says("moro na R. Lauro Linhares, 500 - Trindade")
    assert "código" not in chat.text
    assert KNOWN_OUTAGE in chat.text


async def test_the_area_reader(sandbox: RunningSandbox) -> None:
    requests: list[str] = []

    async def count(request: httpx.Request) -> None:
        requests.append(request.url.path.rsplit("/", 1)[-1])

    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        reader = OutageReader(OzmapClient(http, sandbox.url, sandbox.token), OUTAGE_TAGS)
        region = sandbox.network.samples["outage_region"]
        covered = sandbox.network.samples["covered"]
        far = sandbox.network.samples["not_covered"]
        at_region = await reader.area(region["lat"], region["lng"], 250)
        assert sorted(requests) == [
            "boxes",
            "buildings",
            "horizontal-condominiums",
            "regions",
            "tags",
        ]
        at_box = await reader.area(*box_point(sandbox, "CTO-AGR-09"), 250)
        near_box = await reader.area(covered["lat"], covered["lng"], 250)
        nowhere = await reader.area(far["lat"], far["lng"], 250)
    assert at_region.outage_on == ("region",) and at_region.boxes >= 1
    assert at_box.outage_on == ("box",)
    assert near_box.outage_on == () and near_box.tagged_nearby == 1 and near_box.boxes >= 3
    assert not nowhere.outage and nowhere.boxes == 0


@pytest.mark.parametrize("language", ["en", "es"])
async def test_in_english_and_spanish(make_chat: MakeChat, language: str) -> None:
    chat = await make_chat(f"55489999901{len(language)}", language=language)
    await chat.says("no internet" if language == "en" else "sin internet")
    await chat.says(IN_THE_REGION)
    known = {"en": "I checked our network near", "es": "Revisé nuestra red cerca de"}
    assert known[language] in chat.text


async def test_an_erasure_finds_what_the_flow_asked_the_geocoder(chat: Chat) -> None:
    await chat.says("sem internet")
    await chat.says("88036-001")
    await chat.says("500")
    assert FLOW.lookups is not None
    lookups = FLOW.lookups((await chat.saved()).context)
    assert "Rua Lauro Linhares, 500, Florianópolis" in lookups.texts
    assert len(lookups.points) == 1


def reading(text: str, understanding: Understanding | None = None) -> Turn:
    return Turn(
        flow="outage",
        state=FLOW.initial,
        context={},
        message=Inbound(channel="test", contact="5548999990001", text=text),
        services=cast(Services, None),  # never reached: reading a code is pure
        t=lambda key, /, **params: key,
        language="pt_BR",
        understanding=understanding,
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("OZB-7KQ2MX", "OZB-7KQ2MX"),
        ("o codigo é cliente_42", "cliente_42"),
        ("meu código: 123|123", "123|123"),
        ("123456", "123456"),  # an ERP's numeric code, alone
        ("88036-001", None),  # a CEP
        ("cep 88036001 numero 500", None),
        ("rua lauro linhares 500", None),  # a house number
        ("n° 900 apto 302", None),
        ("Rua Lauro Linhares, 900-A", None),
        ("codigo 4512-77", "4512-77"),
        ("500", None),
        ("-27.5885, -48.5212", None),  # coordinates
        ("minha internet caiu", None),
    ],
)
def test_what_is_a_code_and_what_is_a_place(text: str, code: str | None) -> None:
    assert code_in(reading(text)) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Rua Lauro Linhares, 900-A", None),  # the understander reads "900-A" as a code
        ("meu codigo é OZB-7KQ2MX", "OZB-7KQ2MX"),
        ("o codigo é cliente-erro", "cliente-erro"),
    ],
)
def test_with_the_understanders_reading(text: str, code: str | None) -> None:
    understood = EmbeddedUnderstander().read(text, expects=Expect.ADDRESS)
    assert code_in(reading(text, understood)) == code


@pytest.mark.parametrize(
    ("sample", "kind"),
    [("building", "buildings"), ("horizontal_condominium", "horizontal-condominiums")],
)
async def test_a_tagged_building_or_gated_community_at_the_point(
    chat: Chat, sandbox: RunningSandbox, sample: str, kind: str
) -> None:
    place = sandbox.network.samples[sample]
    condo = sandbox.network.get(
        kind, place["building" if kind == "buildings" else "horizontalCondominium"]
    )
    assert condo is not None and not condo.get("tags")
    condo["tags"] = [tag_id(sandbox, "MANUTENCAO")]
    try:
        await chat.says("sem internet no predio")
        await chat.pins(place["lat"], place["lng"])
    finally:
        condo["tags"] = []
    assert KNOWN_OUTAGE in chat.text


async def test_the_provider_may_queue_customers_of_an_outage_area_for_a_person(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat(outage_handoff=True)
    await chat.says("tem queda de internet aqui na minha rua?")
    await chat.says(IN_THE_REGION)
    assert KNOWN_OUTAGE in chat.text and "Uma pessoa da nossa equipe" in chat.text
    assert chat.store is not None
    ticket = await chat.store.open_handoff(chat.key)
    assert ticket is not None and ticket.reason == "outage"


async def test_inside_a_gated_community_only_its_own_boxes_count(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    """A tagged box 99 m away, outside the condominium's wall, is not the one serving a house
    inside it (the condominium's own boxes are)."""
    outside = next(b for b in sandbox.network.docs("boxes") if b["name"] == "CTO-AGR-11")
    outside["tags"] = [tag_id(sandbox, "MASSIVA")]
    try:
        await chat.says("sem internet")
        await chat.says(NO_OUTAGE_NEAR)
    finally:
        outside["tags"] = []
    assert NEARBY not in chat.text and "Não há falha conhecida na sua região" in chat.text
