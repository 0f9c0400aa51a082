"""The outage question, as transcripts (pt_BR) against the sandbox's seeded network: its box and
region tagged MASSIVA, its ERROR client, its installed clients; plus tags put on a client, a
property and one splitter port for the occasion. No answer repeats a name or an address."""

from __future__ import annotations

import httpx
import pytest

from bot.ozmap.client import OzmapClient
from bot.ozmap.models import NewReservation
from bot.ozmap.outage import OutageReader
from bot.ozmap.sandbox import THREE_FREE_PORTS_BOX, RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat
from tests.flows.test_cancellation import reserve
from tests.support.outage import ozmap_down

KNOWN_OUTAGE = "Identificamos uma falha em massa na sua região"


def tag_id(sandbox: RunningSandbox, name: str) -> str:
    return next(str(t["_id"]) for t in sandbox.network.docs("tags") if t["name"] == name)


def personal_data(sandbox: RunningSandbox, code: str) -> list[str]:
    client = sandbox.network.client_by_code(code)
    assert client is not None
    [prop] = sandbox.network.properties_of_client(client["_id"])
    return [client["name"], *([prop["address"]] if prop.get("address") else [])]


async def ask(chat: Chat, code: str) -> None:
    await chat.says("Boa noite, estou sem internet desde cedo")
    assert "Se tiver o código de cliente, pode enviar ele também" in chat.last_reply.text
    await chat.says(f"o código é {code}")


@pytest.mark.parametrize(
    "code",
    [
        "cliente-massiva-caixa",  # its box is tagged MASSIVA
        "cliente-massiva-regiao",  # inside a region tagged MASSIVA (and ERROR: the outage wins)
    ],
)
async def test_a_known_mass_outage(chat: Chat, sandbox: RunningSandbox, code: str) -> None:
    await ask(chat, code)
    assert KNOWN_OUTAGE in chat.text
    assert "equipe técnica já está trabalhando" in chat.text
    assert "intent:handoff" not in [b.payload for b in chat.options]  # no person by default
    for secret in personal_data(sandbox, code):
        assert secret not in chat.text
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("outage", "outage")


NEUTRAL = "Não há falha em massa conhecida para o código"


def installed(sandbox: RunningSandbox, code: str, *, status: int = 0) -> None:
    """What the provider does after the visit: the reservation becomes an installation."""
    client = sandbox.network.client_by_code(code)
    assert client is not None
    client["implanted"] = True
    client["status"] = status


async def test_an_error_status_on_the_contacts_own_code_offers_a_person(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await reserve(chat)
    installed(sandbox, code, status=1)
    await chat.taps("intent:outage")
    await chat.says("1")
    assert "detectamos um problema na sua conexão" in chat.text
    assert KNOWN_OUTAGE not in chat.text
    assert [b.payload for b in chat.options] == ["intent:handoff", "intent:menu"]
    await chat.says("1")
    assert "Uma pessoa da nossa equipe" in chat.text
    assert (await chat.saved()).flow == "handoff"


async def test_nothing_wrong_on_the_own_code_gives_troubleshooting_then_a_person(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await reserve(chat)
    installed(sandbox, code)
    await chat.taps("intent:outage")
    await chat.says(f"meu codigo é {code.lower()}")  # typed in another case: still theirs
    assert "Não há falha conhecida na sua região" in chat.text
    assert "ONU" in chat.text and "30 segundos" in chat.text
    assert [b.payload for b in chat.options] == ["intent:handoff", "intent:menu"]


async def test_a_typed_code_tells_nothing_about_whose_it_is(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    """Issue 10 item 8: somebody else's reservation, a client in error, an installed client and
    a code that does not exist get the very same words (only the code typed is repeated)."""
    owner = await make_chat("5548999990020")
    pending = await reserve(owner)
    replies = {}
    for i, code in enumerate([pending, "cliente-erro", "reserva_123", "XYZ-000"]):
        stranger = await make_chat(f"55489999900{30 + i}")
        await ask(stranger, code)
        reply = stranger.last_reply.text.replace(code, "<code>")
        replies[code] = reply
        assert "reserva" not in reply and "instalad" not in reply and "detectamos" not in reply
        assert NEUTRAL in reply
        assert "intent:handoff" in [b.payload for b in stranger.options]
    assert len(set(replies.values())) == 1, replies


async def test_a_wrong_code_may_be_typed_again(chat: Chat) -> None:
    await ask(chat, "XYZ-000")
    assert f"{NEUTRAL} XYZ-000" in chat.text
    await chat.says("sem sinal")  # an outage phrase restarts the question: fine
    await chat.says("cliente-massiva-caixa")
    assert KNOWN_OUTAGE in chat.text


async def test_a_message_without_a_code_or_a_place_asks_again(chat: Chat) -> None:
    await chat.says("sem internet")
    await chat.says("??")
    assert "Não entendi onde você está" in chat.text
    assert (await chat.saved()).state == "ask_where"


async def test_tags_on_the_client_the_property_or_the_splitter_port(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    network = sandbox.network
    manutencao = tag_id(sandbox, "MANUTENCAO")
    client = network.client_by_code("test-status")
    assert client is not None
    [prop] = network.properties_of_client(client["_id"])
    connection = prop["connections"][0]
    splitter = network.get("splitters", connection["id"])
    assert splitter is not None

    async def outage_reported(contact: str) -> bool:
        chat = await make_chat(contact)
        await ask(chat, "test-status")
        return KNOWN_OUTAGE in chat.text

    assert not await outage_reported("5548999990010")
    port = splitter["ports"][connection["port"] - 1]
    port["tags"] = [manutencao]
    assert await outage_reported("5548999990011")
    port["tags"] = []
    client["tags"] = [manutencao]
    assert await outage_reported("5548999990012")
    client["tags"] = []
    prop["tags"] = [tag_id(sandbox, "ROMPIMENTO")]
    assert await outage_reported("5548999990013")


async def test_the_contacts_own_code_is_offered(chat: Chat) -> None:
    code = await reserve(chat)

    await chat.taps("intent:outage")
    assert "Escolha o seu código de cliente, ou envie o endereço" in chat.last_reply.text
    assert [b.payload for b in chat.options] == [f"code:{code}"]
    assert chat.last_reply.ask_location
    await chat.says("1")
    assert f"O código {code} é de uma reserva que ainda não foi instalada" in chat.text


async def test_the_provider_may_queue_outage_customers_for_a_person(
    make_chat: MakeChat, handoff_events: list[object]
) -> None:
    chat = await make_chat(outage_handoff=True)
    await ask(chat, "cliente-massiva-caixa")
    assert KNOWN_OUTAGE in chat.text
    assert "Uma pessoa da nossa equipe" in chat.text
    assert chat.store is not None
    ticket = await chat.store.open_handoff(chat.key)
    assert ticket is not None and (ticket.status, ticket.reason) == ("waiting", "outage")


async def test_ozmap_down_is_said_and_a_person_offered(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("sem internet")
    with ozmap_down(sandbox):
        await chat.says("cliente-erro")
    assert "fora do ar" in chat.text
    assert "intent:handoff" in [b.payload for b in chat.options]


async def test_tag_ids_are_read_once_per_ttl_matching_without_case_or_accents(
    sandbox: RunningSandbox,
) -> None:
    tag_lists: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/tags"):
            tag_lists.append(request.url.path)

    now = [0.0]
    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        ozmap = OzmapClient(http, sandbox.url, sandbox.token, backoff=0.01)
        reader = OutageReader(ozmap, ["massiva", "Manutenção"], ttl=600, clock=lambda: now[0])
        first = await reader.status("cliente-massiva-caixa")
        await reader.status("cliente-erro")
        assert len(tag_lists) == 1
        now[0] = 601
        await reader.status("cliente-erro")
        assert len(tag_lists) == 2
    assert first is not None and first.outage_on == ("box",)
    assert await reader.outage_tag_ids() == {
        tag_id(sandbox, "MASSIVA"),
        tag_id(sandbox, "MANUTENCAO"),
    }


async def test_a_code_handed_out_again_tells_nothing_of_the_other_client(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    """This contact's reservation went and its code now names another client's installed
    connection in ERROR (a counter started again): that client's state is not told."""
    code = await reserve(chat)
    [ours] = await ozmap.properties_by_client_code(code)
    await ozmap.delete_property(ours.id)
    far = sandbox.network.samples["not_covered"]
    await ozmap.create_property(
        NewReservation(
            box=THREE_FREE_PORTS_BOX, lat=far["lat"], lng=far["lng"], address=far["address"],
            client_code=code, client_name="Outra Pessoa",
        )
    )  # fmt: skip
    installed(sandbox, code, status=1)
    await chat.taps("intent:outage")
    await chat.says("1")
    assert f"Não encontrei o código {code}" in chat.text
    assert "detectamos um problema" not in chat.text


async def test_a_code_in_the_first_message_is_not_asked_for(chat: Chat) -> None:
    await chat.says("oi meu codigo é cliente-massiva-caixa, to sem net")
    assert "Onde você está?" not in chat.text
    assert KNOWN_OUTAGE in chat.last_reply.text


async def test_not_knowing_the_code_is_fine_the_address_will_do(chat: Chat) -> None:
    await chat.says("minha internet ta sem funcionar")
    await chat.says("n sei meu codigo")
    assert "o código não é preciso" in chat.last_reply.text
    assert "Não encontrei esse endereço" not in chat.text
    await chat.says("rua lauro linhares 500")
    assert KNOWN_OUTAGE in chat.last_reply.text


async def test_a_street_without_a_number_asks_the_number_before_looking(chat: Chat) -> None:
    await chat.says("net lentaaa 😩😩")
    await chat.says("lauro linhares")  # the outage is on a part of the street only
    assert "Verifiquei" not in chat.text  # not the street's midpoint, told "no outage"
    assert "número" in chat.last_reply.text
    await chat.says("450")
    assert "falha em massa" in chat.last_reply.text
