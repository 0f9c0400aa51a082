"""The sales flow as transcripts (pt_BR), against the real sandbox over loopback.

Each test is a conversation: what the customer says, what the bot must answer, and what must
then be true in OZmap (``sandbox.network``) and in the conversation's saved context.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.errors import NoFreePort
from bot.geo.gazetteer import Gazetteer, GazetteerGeocoder
from bot.ozmap.client import OzmapClient
from bot.ozmap.models import NewReservation
from bot.ozmap.sandbox import BOX_900, RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import FIXED_NOW, MakeChat
from tests.support.outage import ozmap_down

CODE = re.compile(r"Código da reserva: (OZB-[A-Z2-9]{6})")
COVERED = "R. Delminda Silveira, 900"
NOT_COVERED = "Av. Madre Benvenuta, 1500"
BUILDING = "R. Rui Barbosa, 1200"


def reserved_code(chat: Chat) -> str:
    found = CODE.search(chat.text)
    assert found, chat.text
    return found.group(1)


def property_of(sandbox: RunningSandbox, code: str) -> dict[str, Any]:
    client = sandbox.network.client_by_code(code)
    assert client is not None, f"no client {code} in OZmap"
    assert client["implanted"] is False and client["status"] == 0
    properties = sandbox.network.properties_of_client(client["_id"])
    assert len(properties) == 1, properties
    return properties[0]


async def until_address(chat: Chat) -> None:
    await chat.says("oi")
    await chat.says("1")  # "Contratar internet", typed: the test channel has no buttons
    assert "endereço" in chat.last_reply.text and "CEP" in chat.last_reply.text
    assert chat.last_reply.ask_location


async def test_typed_address_covered_to_reservation(chat: Chat, sandbox: RunningSandbox) -> None:
    await until_address(chat)
    await chat.says(COVERED)
    assert "Rua Delminda Silveira, 900 - Agronômica" in chat.last_reply.text
    assert "Está certo?" in chat.last_reply.text
    await chat.says("sim")
    assert "a nossa fibra chega aí" in chat.text
    assert "nome completo" in chat.last_reply.text
    await chat.says("Gabriel Marioto")
    assert "• Nome: Gabriel Marioto" in chat.last_reply.text
    assert "• Endereço: Rua Delminda Silveira, 900" in chat.last_reply.text
    await chat.says(str(chat.option("yes")))
    code = reserved_code(chat)
    assert "agendar a instalação" in chat.text

    reserved = property_of(sandbox, code)
    assert reserved["box"] == BOX_900  # the nearest box with a free port
    assert reserved["address"].startswith("Rua Delminda Silveira, 900")
    assert reserved["coords"] == pytest.approx([-48.527442812919624, -27.5782336721312])
    client = sandbox.network.client_by_code(code)
    assert client is not None and client["name"] == "Gabriel Marioto"

    saved = await chat.saved()
    [record] = saved.context["reservations"]
    assert record == {
        "code": code,
        "property_id": reserved["_id"],
        "address": reserved["address"],
        "created_at": FIXED_NOW.isoformat(),
    }

    await chat.says("obrigado")  # after the reservation: a polite ending, nothing reserved
    assert "Por nada" in chat.last_reply.text
    await chat.says("oi")  # and the next message gets the menu
    assert [b.payload for b in chat.options] == [
        "intent:sales",
        "intent:outage",
        "intent:cancel",
        "intent:handoff",
    ]


async def test_cep_then_number(chat: Chat, sandbox: RunningSandbox) -> None:
    await until_address(chat)
    await chat.says("meu cep é 88025-500")
    assert "Rua Delminda Silveira: qual é o número" in chat.last_reply.text
    await chat.says("sem ideia")
    assert "número do imóvel" in chat.last_reply.text  # asked again, with an example
    await chat.says("nº 900")
    assert "Rua Delminda Silveira, 900 - Agronômica" in chat.last_reply.text
    await chat.says("1")
    assert "nome completo" in chat.last_reply.text


async def test_cep_and_number_in_one_message(chat: Chat) -> None:
    await until_address(chat)
    await chat.says("88025-500, 900")
    assert "Rua Delminda Silveira, 900 - Agronômica" in chat.last_reply.text


async def test_unknown_cep_says_so(chat: Chat) -> None:
    await until_address(chat)
    await chat.says("01310-100")
    assert "Não encontrei o CEP 01310-100" in chat.last_reply.text
    await chat.says(COVERED)  # still waiting for an address
    assert "Está certo?" in chat.last_reply.text


async def test_street_without_number_asks_for_it(chat: Chat) -> None:
    await until_address(chat)
    await chat.says("Rua Delminda Silveira")
    assert "qual é o número" in chat.last_reply.text
    await chat.says("900")
    assert "Rua Delminda Silveira, 900" in chat.last_reply.text


async def test_location_pin(chat: Chat, sandbox: RunningSandbox) -> None:
    covered = sandbox.network.samples["covered"]
    await until_address(chat)
    await chat.pins(covered["lat"], covered["lng"])
    # reverse geocoded into something readable, then confirmed like a typed address
    assert "Encontrei este endereço: Rua Delminda Silveira, 900" in chat.last_reply.text
    await chat.taps("yes")
    assert "a nossa fibra chega aí" in chat.text


async def test_pin_far_from_every_known_street(chat: Chat) -> None:
    await until_address(chat)
    await chat.pins(-23.5505, -46.6333)  # São Paulo: outside the gazetteer
    assert "a localização enviada (-23.55050, -46.63330)" in chat.last_reply.text
    await chat.taps("yes")
    assert "ainda não temos fibra" in chat.text  # no network there: an honest answer


AMBIGUOUS = "Rua Lauro Linhares, 100"


async def test_ambiguous_address_offers_candidates(
    make_chat: MakeChat, twin_streets: Gazetteer
) -> None:
    chat = await make_chat(streets=twin_streets)
    await until_address(chat)
    await chat.says(AMBIGUOUS)
    assert "Qual deles é o seu?" in chat.last_reply.text
    labels = {b.payload: b.label for b in chat.options}
    assert labels["none"] == "Nenhum destes"
    trindade = next(p for p, label in labels.items() if "Trindade" in label)
    assert any("Ingleses" in label for label in labels.values())
    assert chat.last_reply.ask_location
    await chat.says(str(chat.option(trindade)))
    assert "a nossa fibra chega aí" in chat.text  # a box 23 m away in Trindade


async def test_none_of_the_candidates_then_retry(
    make_chat: MakeChat, twin_streets: Gazetteer
) -> None:
    chat = await make_chat(streets=twin_streets)
    await until_address(chat)
    await chat.says(AMBIGUOUS)
    await chat.says(str(chat.option("none")))
    assert "vamos corrigir" in chat.text
    assert "Me envie o endereço" in chat.last_reply.text
    await chat.says(COVERED)
    assert "Está certo?" in chat.last_reply.text


async def test_wrong_address_then_corrected(chat: Chat) -> None:
    await until_address(chat)
    await chat.says("Rua Lauro Linhares, 100")
    await chat.says("não")
    assert "Me envie o endereço" in chat.last_reply.text
    await chat.says(COVERED)
    assert "Rua Delminda Silveira, 900" in chat.last_reply.text
    await chat.says("Rua Felipe Schmidt, 100")  # a correction sent instead of yes/no
    assert "Rua Felipe Schmidt, 100" in chat.last_reply.text
    assert "Está certo?" in chat.last_reply.text


@pytest.mark.parametrize("said", ["", "?", "asdfgh qwerty", "Rua Augusta, 500, São Paulo"])
async def test_bad_input_gets_a_clear_next_step(chat: Chat, said: str) -> None:
    await until_address(chat)
    await chat.says(said)
    assert "localização" in chat.text or "CEP" in chat.text
    await chat.says(COVERED)  # and the conversation goes on
    assert "Está certo?" in chat.last_reply.text


async def test_building_asks_for_the_apartment(chat: Chat, sandbox: RunningSandbox) -> None:
    building = sandbox.network.samples["building"]
    await until_address(chat)
    await chat.says(BUILDING)
    await chat.says("sim")
    assert "Edifício Solar da Agronômica" in chat.last_reply.text
    assert "apartamento" in chat.last_reply.text
    await chat.says("Apto 302, Bloco B")
    await chat.says("Ana Souza")
    assert "• Unidade: Apto 302, Bloco B" in chat.last_reply.text
    await chat.says("1")
    reserved = property_of(sandbox, reserved_code(chat))
    assert reserved["box"] == building["building"]  # on the building's own network
    assert "(Apto 302, Bloco B)" in str(reserved["address"])


async def test_horizontal_condominium_asks_for_the_house(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    condo = sandbox.network.samples["horizontal_condominium"]
    [option] = await ozmap.condominium_feasibility(condo["lat"], condo["lng"])
    assert option.id == condo["horizontalCondominium"]
    await until_address(chat)
    # a pin: the seed's point inside the condominium's polygon
    await chat.pins(condo["lat"], condo["lng"])
    await chat.says("sim")
    assert "Jardim das Palmeiras" in chat.last_reply.text and "casa" in chat.last_reply.text
    await chat.says("")
    assert "poucas palavras" in chat.last_reply.text
    await chat.says("Casa 12")
    await chat.says("Bruno Lima")
    await chat.says("sim, o de 300")
    reserved = property_of(sandbox, reserved_code(chat))
    assert reserved["box"] == option.box_id  # a box of the condominium's own network
    assert "(Casa 12)" in str(reserved["address"])


async def test_typed_condominium_address_asks_for_the_house(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    typed = "rua frei caneca 300"  # the condominium's gate, typed the way a customer would
    [gate] = await GazetteerGeocoder.from_file().geocode(typed, limit=1)
    [option] = await ozmap.condominium_feasibility(gate.lat, gate.lng)
    assert option.name == sandbox.network.samples["horizontal_condominium"]["name"]
    await until_address(chat)
    await chat.says(typed)
    await chat.says("sim")
    assert "Jardim das Palmeiras" in chat.last_reply.text and "casa" in chat.last_reply.text
    await chat.says("Casa 7")
    await chat.says("Carla Dias")
    await chat.says("sim, o de 300")
    reserved = property_of(sandbox, reserved_code(chat))
    assert reserved["box"] == option.box_id  # the condominium's network, not the street's
    assert "(Casa 7)" in str(reserved["address"])


async def test_cpf_required_and_checked(make_chat: MakeChat, sandbox: RunningSandbox) -> None:
    chat = await make_chat(require_cpf=True)
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    assert "CPF" in chat.last_reply.text
    await chat.says("123.456.789-00")
    assert "não é válido" in chat.last_reply.text and "dígitos verificadores" in chat.text
    await chat.says("529.982.247-25")
    assert "• CPF: ***.***.*47-25" in chat.last_reply.text  # masked even in the summary
    await chat.says("sim, o de 300")
    client = sandbox.network.client_by_code(reserved_code(chat))
    # OZmap's free text is beyond the bot's erasure: the CPF stays out of it by default
    assert client is not None and "52998224725" not in json.dumps(client)
    saved = await chat.saved()
    assert saved.context["sales"]["cpf"] == "52998224725"  # the bot's, erased with the chat


async def test_cpf_in_observation_only_where_the_provider_opted_in(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    chat = await make_chat(require_cpf=True, cpf_in_observation=True)
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    await chat.says("529.982.247-25")
    await chat.says("sim, o de 300")
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None and client["observation"] == "CPF 52998224725"


async def test_name_must_look_like_a_name(chat: Chat) -> None:
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("12345")
    assert "nome completo" in chat.last_reply.text and "letras" in chat.last_reply.text


async def test_port_taken_meanwhile_goes_to_the_next_box(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    assert "Posso reservar" in chat.last_reply.text
    # meanwhile, other sales take every free port of the nearest box
    taken = 0
    while True:
        try:
            await ozmap.create_property(
                NewReservation(
                    box=BOX_900, lat=-27.5782, lng=-48.5274, address="x",
                    client_code=f"other-{taken}", client_name="Outra Pessoa", force=False,
                )
            )  # fmt: skip
        except NoFreePort:
            break
        taken += 1
    assert taken >= 1
    await chat.says("sim, o de 300")
    reserved = property_of(sandbox, reserved_code(chat))
    assert reserved["box"] != BOX_900
    next_box = sandbox.network.get("boxes", str(reserved["box"]))
    assert next_box is not None and next_box["name"] == "CTO-AGR-09"  # the next nearest


async def test_not_covered_records_a_prospect(make_chat: MakeChat, sandbox: RunningSandbox) -> None:
    lead: dict[str, Any] = {
        "_id": "0123456789abcdef01234567",
        "name": "LEAD-CHATBOT",
        "allowedTypes": [],
    }
    sandbox.network.collections["tags"][lead["_id"]] = lead
    massiva = "c6ace4cda93c663834d8201e"  # configured by id rather than by name
    chat = await make_chat(
        phone="+55 48 99999-0001", prospect_tags=("LEAD-CHATBOT", massiva, "UNKNOWN-TAG")
    )
    before = {p["_id"] for p in sandbox.network.docs("prospects")}
    await until_address(chat)
    await chat.says(NOT_COVERED)
    await chat.says("sim")
    assert "ainda não temos fibra disponível" in chat.text
    assert "Qual é o seu nome?" in chat.last_reply.text
    await chat.says("Carla Dias")
    assert "Registramos seu interesse" in chat.last_reply.text
    new = [p for p in sandbox.network.docs("prospects") if p["_id"] not in before]
    assert len(new) == 1
    [prospect] = new
    assert prospect["name"] == "Carla Dias"
    assert prospect["phone"] == "+55 48 99999-0001"
    assert prospect["address"].startswith("Avenida Madre Benvenuta, 1500")
    assert prospect["coords"] == pytest.approx([-48.506, -27.5842], abs=1e-3)
    assert sorted(prospect["tags"]) == sorted([massiva, lead["_id"]])


async def test_not_covered_and_declined(chat: Chat, sandbox: RunningSandbox) -> None:
    before = len(list(sandbox.network.docs("prospects")))
    await until_address(chat)
    await chat.says(NOT_COVERED)
    await chat.says("sim")
    await chat.says(str(chat.option("no")))
    assert "Se mudar de ideia" in chat.text
    assert len(list(sandbox.network.docs("prospects"))) == before


async def test_declining_at_the_summary_reserves_nothing(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    clients = len(list(sandbox.network.docs("ftth-clients")))
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    await chat.says(str(chat.option("no")))
    assert "não reservei nada" in chat.text
    assert len(list(sandbox.network.docs("ftth-clients"))) == clients


async def test_ozmap_down_keeps_the_data_and_offers_a_person(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await until_address(chat)
    await chat.says(COVERED)
    with ozmap_down(sandbox):
        await chat.says("sim")
    assert "fora do ar" in chat.text and "Seus dados estão guardados" in chat.text
    assert "intent:handoff" in [b.payload for b in chat.options]
    await chat.says("sim")  # OZmap is back: the same answer goes through
    assert "a nossa fibra chega aí" in chat.text


async def test_repeated_yes_reserves_once(chat: Chat, sandbox: RunningSandbox) -> None:
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    yes = chat.inbound(text="sim, o de 300")
    await chat.send(yes)
    code = reserved_code(chat)
    await chat.send(yes)  # the messenger re-delivers the same message
    await chat.says("sim")  # and the customer says it again
    assert sandbox.network.client_by_code(code) is not None
    assert [c["code"] for c in sandbox.network.docs("ftth-clients")].count(code) == 1


async def test_a_reservation_whose_answer_was_lost_is_not_made_twice(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    """The code is saved with the summary; if OZmap created the property but the bot never
    heard back (the turn failed after the request), the retried "sim" finds it by code."""
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    saved = await chat.saved()
    code = saved.context["sales"]["code"]
    earlier = await ozmap.create_property(
        NewReservation(
            box=BOX_900, lat=-27.5782, lng=-48.5274, address="Rua Delminda Silveira, 900",
            client_code=code, client_name="Gabriel Marioto", force=False,
        )
    )  # fmt: skip
    await chat.says("sim, o de 300")
    assert reserved_code(chat) == code
    assert [c["code"] for c in sandbox.network.docs("ftth-clients")].count(code) == 1
    saved = await chat.saved()
    assert saved.context["reservations"][0]["property_id"] == earlier.id
