"""More misreads of real customers (issue 9; the blind set blind5 and its review): a yes with a
reassurance, a question about the yes, surnames that are also words, the address given with why
the customer switches, a request named to decline it, a plan beside the name. On the engine as
the channels use it, with the embedded understander, against the sandbox over loopback.
"""

from __future__ import annotations

import re

from bot.engine.events import HandoffEvent
from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat

CODE = re.compile(r"Código da reserva: (OZB-[A-Z2-9]{6})")


async def at_the_summary(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("ana lima")
    assert "Posso reservar" in chat.last_reply.text


async def test_a_yes_with_a_reassurance_reserves(make_chat: MakeChat) -> None:
    for number, said in enumerate(
        ("sim, nao tenho duvida", "claro, nao tem problema", "pode ser, nao ligo pro plano")
    ):
        chat = await make_chat(f"554899999400{number}")
        await at_the_summary(chat)
        await chat.says(said)
        assert CODE.search(chat.last_reply.text), said  # reserved, not "Quer parar?"


async def test_a_question_about_the_yes_reserves_nothing(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    for number, said in enumerate(
        ("se eu falar sim ja reserva?", "sim o que? nao entendi o que é a reserva")
    ):
        chat = await make_chat(f"554899999500{number}")
        await at_the_summary(chat)
        await chat.says(said)
        saved = await chat.saved()
        assert "reservations" not in saved.context, said
        assert (saved.flow, saved.state) == ("sales", "confirm")
        assert "Ainda não reservei nada" in chat.text
        assert "Posso reservar" in chat.last_reply.text  # the summary again
        await chat.says("sim")
        assert CODE.search(chat.last_reply.text)


async def test_a_surname_that_is_also_a_word_is_the_name(
    make_chat: MakeChat, handoff_events: list[HandoffEvent]
) -> None:
    for number, name in enumerate(("benedito cancela", "fernando pessoa")):
        chat = await make_chat(f"554899999600{number}")
        await chat.says("quero contratar")
        await chat.says("rua delminda silveira 900")
        await chat.says("sim")
        await chat.says(name)
        assert f"• Nome: {name.title()}" in chat.last_reply.text, name
    assert not [e for e in handoff_events if e.kind == "queued"]


async def test_the_name_before_a_question_is_taken(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("marcia regina duarte. e qnd vcs vem instalar?")
    assert "instalação" in chat.text.casefold()
    assert "• Nome: Marcia Regina Duarte" in chat.last_reply.text


async def test_a_plan_beside_the_name_whatever_the_dash(make_chat: MakeChat) -> None:
    for number, said in enumerate(("1000 – Ana Lima", "1000 / Ana Lima", "1000-Ana Lima")):
        chat = await make_chat(f"554899999700{number}")
        await chat.says("quero contratar")
        await chat.says("rua delminda silveira 900")
        await chat.says("sim")
        await chat.says(said)
        assert "• Nome: Ana Lima" in chat.last_reply.text, said
        assert "• Plano: Fibra 1 Giga" in chat.last_reply.text, said


async def test_the_address_given_with_why_the_customer_switches_is_confirmed(chat: Chat) -> None:
    await chat.says("quero trocar de internet")
    await chat.says("rua delminda silveira 900, a internet q eu tenho hj ta horrivel cai toda hora")
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "confirm_address")
    assert "Encontrei este endereço: Rua Delminda Silveira, 900" in chat.last_reply.text


async def test_the_switch_answered_with_a_verb_negated_after_it(make_chat: MakeChat) -> None:
    for number, (said, flow) in enumerate(
        (("para nao, depois vejo isso", "sales"), ("continua nao, ve a internet dela", "outage"))
    ):
        chat = await make_chat(f"554899999800{number}")
        await chat.says("quero contratar")
        await chat.says("rua delminda silveira 900")
        await chat.says("sim")
        await chat.says("a internet da minha mae caiu")
        await chat.says(said)
        assert (await chat.saved()).flow == flow, said


async def test_keeping_things_after_a_reservation_cancels_nothing(chat: Chat) -> None:
    await at_the_summary(chat)
    await chat.says("sim")
    await chat.says("se eu cancelar a reserva depois tem alguma multa?")
    await chat.says("ah ok entao deixa assim, obrigado")
    assert (await chat.saved()).flow != "outage"
    assert chat.last_reply.text.startswith("Por nada!")
    assert "Qual reserva" not in chat.text


async def test_a_request_declined_then_a_question_answers_the_question(chat: Chat) -> None:
    await chat.says("nao precisa me passar pra atendente nao, so me fala o horario de vcs")
    assert (await chat.saved()).flow != "handoff"
    assert re.search(r"\d{1,2} ?h", chat.text)  # the opening hours
    await chat.says("minha internet nao ta caindo nao, so quero saber o preco da fibra de vcs")
    assert "R$" in chat.text
    assert (await chat.saved()).flow != "outage"


async def test_a_number_changed_at_the_address_confirmation_is_no_plan(
    make_chat: MakeChat,
) -> None:
    for number, (said, wanted) in enumerate(
        (("nao, muda pro 1400", "1400"), ("nao, troca pro 500, errei o numero", "500"))
    ):
        chat = await make_chat(f"554899999900{number}")
        await chat.says("quero contratar")
        await chat.says("rua delminda silveira 900")
        await chat.says(said)
        assert f"Rua Delminda Silveira, {wanted}" in chat.last_reply.text, said
        assert (await chat.saved()).state == "confirm_address"


async def test_nothing_wrong_at_the_summary_reserves(make_chat: MakeChat) -> None:
    for number, said in enumerate(
        ("endereco nao ta errado, pode seguir", "nao tem nada errado nao, reserva")
    ):
        chat = await make_chat(f"554899999910{number}")
        await at_the_summary(chat)
        await chat.says(said)
        assert CODE.search(chat.last_reply.text), said


async def test_the_prospects_code_is_saved_before_the_turn_that_records_it(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    # a replay of the recording turn (its lease lost) must find the prospect by this code
    await chat.says("quero contratar")
    await chat.says("avenida madre benvenuta 1500")
    await chat.says("sim")
    assert "ainda não temos fibra disponível" in chat.text
    code = (await chat.saved()).context["sales"].get("code")
    assert code
    await chat.says("Carla Dias")
    [prospect] = [p for p in sandbox.network.docs("prospects") if p["name"] == "Carla Dias"]
    assert prospect["code"] == code


async def test_a_plan_named_with_a_no_at_the_address_confirmation_is_the_plan(
    chat: Chat,
) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("nao, muda pro plano de 500")
    assert "Rua Delminda Silveira, 900" in chat.last_reply.text  # confirmed again, same number
    assert (await chat.saved()).state == "confirm_address"
    await chat.says("sim")
    await chat.says("ana lima")
    assert "• Plano: Fibra 500 Mega" in chat.last_reply.text


async def test_a_yes_doubted_reserves_nothing_and_a_no_with_a_doubt_is_a_no(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat("5548999999201")
    await at_the_summary(chat)
    await chat.says("pode ser, mas nao tenho certeza ainda")
    assert not CODE.search(chat.text)
    assert (await chat.saved()).state == "confirm"
    await chat.says("ta, pensei aqui, pode reservar")
    assert CODE.search(chat.last_reply.text)
    chat = await make_chat("5548999999202")
    await at_the_summary(chat)
    await chat.says("agora nao, vou pensar. obg")
    assert (await chat.saved()).flow == "menu"
    assert "não reservei nada" in chat.text


async def test_a_remark_after_a_finished_flow_is_offered_more_not_the_introduction(
    chat: Chat,
) -> None:
    await chat.says("quero contratar")
    await chat.says("avenida madre benvenuta 1500")
    await chat.says("sim")
    await chat.says("Carla Dias")
    assert "Registramos seu interesse" in chat.last_reply.text
    await chat.says("poxa 😕 me avisa quando chegar entao")
    assert "Sou o assistente virtual" not in chat.last_reply.text
    assert "Posso ajudar em mais alguma coisa?" in chat.last_reply.text
    assert chat.last_reply.buttons  # the options, still


async def test_partiu_at_the_summary_reserves(chat: Chat) -> None:
    await at_the_summary(chat)
    await chat.says("partiu")
    assert CODE.search(chat.last_reply.text)
