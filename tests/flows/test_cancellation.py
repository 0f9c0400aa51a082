"""Cancelling a reservation, as transcripts (pt_BR) against the real sandbox over loopback.

The port a reservation holds must be free again in OZmap's feasibility afterwards; a code that
is not this contact's own (the seed's ``reservation_123``, another customer's, an installed
client's) is never deleted.
"""

from __future__ import annotations

from bot.conversation import Conversation
from bot.ozmap.client import OzmapClient
from bot.ozmap.models import NewReservation
from bot.ozmap.sandbox import BOX_900, THREE_FREE_PORTS_BOX, RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat
from tests.flows.test_sales import COVERED, reserved_code
from tests.support.outage import ozmap_down

SOMEONE_ELSES = "reservation_123"  # seeded, reserved by nobody in the bot


async def reserve(chat: Chat) -> str:
    await chat.says("oi")
    await chat.says("1")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    await chat.says(str(chat.option("yes")))
    return reserved_code(chat)


async def free_ports_at_box_900(ozmap: OzmapClient, sandbox: RunningSandbox) -> int:
    covered = sandbox.network.samples["covered"]
    answer = await ozmap.feasibility(covered["lat"], covered["lng"], 250)
    available = next(b.available for b in answer.boxes if b.id == BOX_900)
    assert available is not None, "the sandbox counts the free ports of its boxes"
    return available


async def test_cancelling_own_reservation_frees_the_port(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    before = await free_ports_at_box_900(ozmap, sandbox)
    code = await reserve(chat)
    assert await free_ports_at_box_900(ozmap, sandbox) == before - 1

    await chat.says("quero cancelar minha reserva")
    assert "Qual reserva você quer cancelar?" in chat.last_reply.text
    assert chat.options[0].label.startswith(f"{code} · Rua Delminda Silveira, 900")
    await chat.says(str(chat.option(f"code:{code}")))  # typed, as without buttons
    assert f"Confirma o cancelamento da reserva {code}" in chat.last_reply.text
    assert "porta reservada será liberada" in chat.last_reply.text
    await chat.says("sim")

    assert f"a reserva {code} foi cancelada" in chat.text
    assert sandbox.network.client_by_code(code) is None
    assert await free_ports_at_box_900(ozmap, sandbox) == before
    saved = await chat.saved()
    assert saved.context["reservations"] == []
    assert (saved.flow, saved.state) == ("cancellation", "cancelled")

    await chat.says("oi")  # finished: the next message gets the menu ("obrigado" closes)
    assert "intent:sales" in [b.payload for b in chat.options]


async def test_a_yes_to_a_list_of_one_cancels_it(chat: Chat, sandbox: RunningSandbox) -> None:
    """Before, the "sim" was lost: the list was shown again (corpus: cancel-own-reservation)."""
    code = await reserve(chat)
    await chat.says("desisti, quero cancelar minha reserva")
    assert [b.payload for b in chat.options] == [f"code:{code}", "intent:menu"]
    await chat.says("pode sim pfv")  # no understander here: the yes words of bot.nlu.answers
    assert f"a reserva {code} foi cancelada" in chat.text
    assert sandbox.network.client_by_code(code) is None
    await chat.says("cancelar")
    assert "Não encontrei reservas feitas por este contato" in chat.text
    second = await reserve(chat)
    await chat.says("cancelar")
    await chat.says("nao, deixa")
    assert f"a reserva {second} continua ativa" in chat.text
    assert sandbox.network.client_by_code(second) is not None


async def test_several_reservations_are_chosen_then_confirmed(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    first = await reserve(chat)
    second = await reserve(chat)
    await chat.says("quero cancelar minha reserva")
    assert "Qual reserva você quer cancelar?" in chat.last_reply.text
    assert chat.options[0].label.startswith(f"{first} · Rua Delminda Silveira, 900")
    await chat.says(str(chat.option(f"code:{second}")))  # typed, as without buttons
    assert f"Confirma o cancelamento da reserva {second}" in chat.last_reply.text
    await chat.says("sim")
    assert f"a reserva {second} foi cancelada" in chat.text
    assert sandbox.network.client_by_code(second) is None
    assert sandbox.network.client_by_code(first) is not None
    assert [r["code"] for r in (await chat.saved()).context["reservations"]] == [first]


async def test_typed_own_code_works_in_any_case(chat: Chat, sandbox: RunningSandbox) -> None:
    code = await reserve(chat)
    await chat.taps("intent:cancel")
    await chat.says(f"é a {code.lower()}")
    assert f"reserva {code}" in chat.last_reply.text
    await chat.says("não")
    assert f"a reserva {code} continua ativa" in chat.text
    assert sandbox.network.client_by_code(code) is not None
    assert [r["code"] for r in (await chat.saved()).context["reservations"]] == [code]


async def test_someone_elses_code_is_never_deleted(chat: Chat, sandbox: RunningSandbox) -> None:
    await reserve(chat)
    await chat.says("cancelar")
    await chat.says(SOMEONE_ELSES)
    assert "não está entre as reservas feitas por este contato" in chat.text
    assert "intent:handoff" in [b.payload for b in chat.options]
    assert sandbox.network.client_by_code(SOMEONE_ELSES) is not None
    # a forged button payload (Telegram's callback data comes from the client) is no better
    await chat.says("cancelar")
    await chat.taps(f"code:{SOMEONE_ELSES}")
    assert "não está entre as reservas" in chat.text
    assert sandbox.network.client_by_code(SOMEONE_ELSES) is not None


async def test_a_code_copied_from_another_contact_is_refused(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    ana = await make_chat("5548999990001")
    code = await reserve(ana)
    bia = await make_chat("5548999990002")
    await bia.says("cancelar reserva")
    assert "Não encontrei reservas feitas por este contato" in bia.text
    assert [b.payload for b in bia.options] == ["intent:handoff", "intent:menu"]
    await bia.says(code)
    assert "não está entre as reservas feitas por este contato" in bia.text
    assert sandbox.network.client_by_code(code) is not None
    await bia.says(str(bia.option("intent:handoff")))
    assert "Uma pessoa da nossa equipe" in bia.text


async def test_an_installed_client_is_an_active_customer_not_a_reservation(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    """The contact's reservation was installed since (its client is implanted now): cancelling
    a service is a person's job."""
    assert chat.store is not None
    known = Conversation.new(chat.channel.name, chat.contact)
    client = sandbox.network.client_by_code("reserva_123")
    assert client is not None
    [prop] = sandbox.network.properties_of_client(client["_id"])
    made = {"code": "reserva_123", "address": "R. X, 1", "property_id": str(prop["_id"])}
    known.context = {"reservations": [made]}
    await chat.store.commit_turn(known, [])

    await chat.says("cancelar")
    await chat.says("1")
    assert "já é de uma instalação ativa" in chat.text
    assert "intent:handoff" in [b.payload for b in chat.options]
    assert sandbox.network.client_by_code("reserva_123") is not None


async def test_a_reservation_already_gone_counts_as_cancelled(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    code = await reserve(chat)
    second = await reserve(chat)
    await chat.says("cancelar")
    await chat.says("1")
    [prop] = await ozmap.properties_by_client_code(code)
    await ozmap.delete_property(prop.id)  # the provider's staff, between the bot's two questions
    await chat.says("sim")
    assert f"a reserva {code} foi cancelada" in chat.text
    assert [r["code"] for r in (await chat.saved()).context["reservations"]] == [second]

    [prop] = await ozmap.properties_by_client_code(second)
    await ozmap.delete_property(prop.id)
    await chat.says("cancelar")
    await chat.says("sim")
    assert f"A reserva {second} já estava cancelada" in chat.text
    assert (await chat.saved()).context["reservations"] == []


async def test_ozmap_down_deletes_nothing_and_offers_a_person(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await reserve(chat)
    await chat.says("cancelar")
    with ozmap_down(sandbox):
        await chat.says("sim")
    assert "fora do ar" in chat.text
    assert "intent:handoff" in [b.payload for b in chat.options]
    assert sandbox.network.client_by_code(code) is not None
    await chat.says("sim")  # OZmap is back: the same answer goes through
    assert sandbox.network.client_by_code(code) is None


async def test_a_code_handed_out_again_never_cancels_another_clients_property(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    """The reservation went (the provider's staff), and the code was handed out again to
    another client (a counter started again on a new database): cancelling must not delete
    that client's property."""
    code = await reserve(chat)
    [ours] = await ozmap.properties_by_client_code(code)
    await ozmap.delete_property(ours.id)
    far = sandbox.network.samples["not_covered"]
    theirs = await ozmap.create_property(
        NewReservation(
            box=THREE_FREE_PORTS_BOX, lat=far["lat"], lng=far["lng"], address=far["address"],
            client_code=code, client_name="Outra Pessoa",
        )
    )  # fmt: skip
    await chat.says("cancelar")
    await chat.says("sim")
    assert f"A reserva {code} já estava cancelada" in chat.text
    assert sandbox.network.get("properties", theirs.id) is not None
    assert (await chat.saved()).context["reservations"] == []


async def test_desisti_right_after_the_reservation_offers_to_cancel_it(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await reserve(chat)
    await chat.says("desisti")
    assert "Qual reserva você quer cancelar?" in chat.last_reply.text
    assert sandbox.network.client_by_code(code) is not None  # nothing cancelled unconfirmed
    await chat.says("isso")
    assert f"a reserva {code} foi cancelada" in chat.text
    assert sandbox.network.client_by_code(code) is None


async def test_desisti_with_nothing_reserved_ends_politely(chat: Chat) -> None:
    await chat.says("oi")
    await chat.says("desisti")
    assert "parei por aqui" in chat.last_reply.text
    assert (await chat.saved()).flow == "menu"
