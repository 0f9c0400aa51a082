"""Misreads of real customers (issue 9, "understand real customers"), each as the customer
wrote it, on the engine as the channels use it: the embedded understander, the real catalogs,
the sandbox over loopback, a real SQLite store.
"""

from __future__ import annotations

import re

from bot.engine.events import HandoffEvent
from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat

CODE = re.compile(r"Código da reserva: (OZB-[A-Z2-9]{6})")


def reserved_code(chat: Chat) -> str:
    found = CODE.search(chat.text)
    assert found, chat.text
    return found.group(1)


async def at_the_summary(chat: Chat, plan: str = "o de 500") -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("sim")
    await chat.says(plan)
    await chat.says("ana lima")
    assert "Posso reservar" in chat.last_reply.text


# -- a negated request for a person is none -------------------------------------------------------


async def test_no_person_needed_and_a_go_ahead_at_the_summary_reserves(
    chat: Chat, sandbox: RunningSandbox, handoff_events: list[HandoffEvent]
) -> None:
    await at_the_summary(chat)
    await chat.says("nao precisa falar com atendente, pode reservar")
    assert not [e for e in handoff_events if e.kind == "queued"]  # nobody called
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None and client["name"] == "Ana Lima"


async def test_no_person_needed_alone_at_the_summary_is_no_no(chat: Chat) -> None:
    await at_the_summary(chat)
    await chat.says("nao precisa de atendente")
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "confirm")  # the sale is not dropped
    assert "reservations" not in saved.context


async def test_asking_for_a_person_after_a_no_still_calls_one(
    chat: Chat, handoff_events: list[HandoffEvent]
) -> None:
    await at_the_summary(chat)
    await chat.says("nao, quero falar com um atendente")
    assert (await chat.saved()).flow == "handoff"
    assert [e for e in handoff_events if e.kind == "queued"]


# -- an acknowledgement at rest --------------------------------------------------------------------


async def test_ok_after_anything_else_closes_politely(chat: Chat) -> None:
    await chat.says("tem fidelidade?")
    assert "Posso ajudar em mais alguma coisa?" in chat.last_reply.text
    for said in ("ok", "blz"):
        await chat.says(said)
        assert "Não entendi" not in chat.text
        assert "é só chamar" in chat.last_reply.text
        assert not chat.last_reply.buttons
        await chat.says("tem fidelidade?")


async def test_ok_thanks_after_anything_else_is_welcomed(chat: Chat) -> None:
    await chat.says("quanto custa?")
    await chat.says("ok obg")
    assert chat.last_reply.text.startswith("Por nada!")
    assert "Não entendi" not in chat.text


async def test_yes_to_anything_else_shows_the_options(chat: Chat) -> None:
    await chat.says("quanto custa?")
    await chat.says("sim")
    assert "Não entendi" not in chat.text
    assert "Olá" not in chat.last_reply.text  # not the introduction again
    assert chat.last_reply.buttons[0].payload == "intent:sales"


# -- the answer to "Quer parar a contratação?" -----------------------------------------------------


async def interrupted(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("a internet da minha mae caiu")
    assert "Quer parar a contratação?" in chat.last_reply.text


async def test_going_on_in_the_buttons_words_keeps_the_sale(make_chat: MakeChat) -> None:
    for number, said in enumerate(("continua", "pode continuar", "segue", "nao para")):
        chat = await make_chat(f"554899999100{number}")
        await interrupted(chat)
        await chat.says(said)
        saved = await chat.saved()
        assert (saved.flow, saved.state) == ("sales", "ask_name"), said
        assert "nome completo" in chat.last_reply.text


async def test_stopping_in_the_buttons_words_goes_to_the_other_request(
    make_chat: MakeChat,
) -> None:
    for number, said in enumerate(("pode parar", "para sim", "nao quero continuar")):
        chat = await make_chat(f"554899999200{number}")
        await interrupted(chat)
        await chat.says(said)
        assert (await chat.saved()).flow == "outage", said


# -- a change of plan at the summary ------------------------------------------------------------


async def test_a_change_back_to_a_plan_changes_it_and_shows_the_summary(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await at_the_summary(chat)
    for said in ("quero voltar pro 300", "posso trocar pro de 1 giga?", "volta pro de 300"):
        await chat.says(said)
        saved = await chat.saved()
        assert (saved.flow, saved.state) == ("sales", "confirm"), said
        assert "Posso reservar" in chat.last_reply.text
        assert "reservations" not in saved.context
    assert "• Plano: Fibra 300 Mega" in chat.last_reply.text
    await chat.says("sim")
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None
    [house] = sandbox.network.properties_of_client(client["_id"])
    assert "plano 300" in house["observation"]


async def test_a_change_of_plan_in_spanish_is_no_house_number(chat: Chat) -> None:
    await chat.says("hola, quiero contratar fibra en rua delminda silveira 900")
    await chat.says("si")
    await chat.says("el de 500")
    await chat.says("Lucia Fernandez")
    await chat.says("vuelve al de 300")
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "confirm")  # no address asked again
    assert "Plan: Fibra 300 Megas" in chat.last_reply.text


async def test_a_plan_changed_before_the_address_is_confirmed_is_kept(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("troca pro de 500")
    assert "Está certo?" in chat.last_reply.text  # the confirmation again, not a new address
    await chat.says("sim")
    await chat.says("ana lima")
    assert "• Plano: Fibra 500 Mega" in chat.last_reply.text


# -- what the customer says is wrong at the summary ----------------------------------------------


async def test_the_name_said_wrong_is_asked_again(chat: Chat, sandbox: RunningSandbox) -> None:
    await at_the_summary(chat)
    await chat.says("nao, o nome ta errado")
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "ask_name")
    assert "nome completo" in chat.last_reply.text
    await chat.says("ana souza")
    assert "• Nome: Ana Souza" in chat.last_reply.text
    await chat.says("sim")
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None and client["name"] == "Ana Souza"


async def test_the_address_said_wrong_is_asked_again_the_name_kept(chat: Chat) -> None:
    await at_the_summary(chat)
    await chat.says("o endereço está errado")
    assert (await chat.saved()).state == "ask_address"
    await chat.says("rua delminda silveira 1500")
    await chat.says("sim")
    assert "• Nome: Ana Lima" in chat.last_reply.text  # not asked again
    assert "• Endereço: Rua Delminda Silveira, 1500" in chat.last_reply.text


async def test_the_plan_said_wrong_lists_the_plans_again(chat: Chat) -> None:
    await at_the_summary(chat)
    await chat.says("o plano ta errado")
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "confirm")
    assert "• Planos: Fibra 300 Mega" in chat.last_reply.text
    assert "plan" not in saved.context["sales"]


async def test_the_name_said_wrong_in_english_and_spanish(make_chat: MakeChat) -> None:
    for number, (start, wrong) in enumerate(
        (
            ("hi, I want fibre at rua delminda silveira 900", "no, the name is wrong"),
            ("hola, quiero fibra en rua delminda silveira 900", "no, el nombre está mal"),
        )
    ):
        chat = await make_chat(f"554899999300{number}")
        await chat.says(start)
        await chat.says("yes" if number == 0 else "si")
        await chat.says("Tom Baker" if number == 0 else "Lucia Fernandez")
        await chat.says(wrong)
        assert (await chat.saved()).state == "ask_name", wrong
