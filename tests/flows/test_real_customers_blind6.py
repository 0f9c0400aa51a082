"""Misreads of the sixth blind set (blind6), fixed in general: a request said beside a question,
a plan named by its unit, the answer given with a "no" to stopping, a question that opens a
story, leave-taking at a prompt, thanks after an answer, a question read as the menu, a
cancellation let go in words. On the engine as the channels use it, with the embedded
understander, against the sandbox over loopback.
"""

from __future__ import annotations

import re

from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat
from tests.flows.test_cancellation import reserve
from tests.flows.test_outage import KNOWN_OUTAGE

ADDRESS_ASKED = "Me envie o endereço da instalação"
NAME_ASKED = "qual é o seu nome completo?"


async def at_the_name(chat: Chat, street: str = "rua delminda silveira 900") -> None:
    await chat.says(f"quero contratar na {street}")
    await chat.says("sim")
    assert NAME_ASKED in chat.last_reply.text


async def test_a_request_in_a_clause_beside_a_question_is_answered_then_begun(
    make_chat: MakeChat,
) -> None:
    for number, said in enumerate(
        (
            "oi quero contratar mas antes me diz se tem multa se eu cancelar depois",
            "tem fidelidade? se nao tiver quero contratar",
        )
    ):
        chat = await make_chat(f"554899997100{number}")
        await chat.says(said)
        assert "sem multa" in chat.text, said  # the answer
        assert ADDRESS_ASKED in chat.last_reply.text, said  # then the sale asked for
        assert (await chat.saved()).flow == "sales"


async def test_a_request_declined_or_said_on_a_condition_is_not_begun(chat: Chat) -> None:
    await chat.says("tem multa se eu cancelar? nao quero contratar agora")
    assert "sem multa" in chat.text
    assert ADDRESS_ASKED not in chat.text
    assert (await chat.saved()).flow != "sales"


async def test_the_giga_named_by_its_unit_is_the_1_giga_plan(chat: Chat) -> None:
    await at_the_name(chat)
    await chat.says("quanto fica o de 1 giga?")
    await chat.says("fechado, quero o giga")
    assert "Anotado: Fibra 1 Giga" in chat.text
    assert NAME_ASKED in chat.last_reply.text
    assert "Não entendi" not in chat.text


async def test_the_name_given_with_the_no_to_stopping_goes_on_to_the_summary(chat: Chat) -> None:
    await at_the_name(chat)
    await chat.says("pera, a internet da minha mae ta sem sinal desde cedo, vcs conseguem ver?")
    assert "Quer parar a contratação?" in chat.last_reply.text
    await chat.says("nao, primeiro termina o meu cadastro. meu nome é Vanessa Cristina Moraes")
    assert "Combinado, vamos continuar." in chat.text
    assert "Nome: Vanessa Cristina Moraes" in chat.last_reply.text  # the summary, not the name
    assert "Posso reservar" in chat.last_reply.text


async def test_a_question_that_opens_a_story_mid_sale_is_answered(chat: Chat) -> None:
    await at_the_name(chat)
    await chat.says(
        "qual é melhor pra jogar online? a minha atual fica cancelando a conexao toda hora"
    )
    assert "Quer parar" not in chat.text  # no cancellation nor outage read into the story
    assert "Fibra 1 Giga" in chat.text  # the plans
    assert NAME_ASKED in chat.last_reply.text
    assert (await chat.saved()).flow == "sales"


async def test_two_questions_with_a_plan_at_the_name_prompt_are_both_answered(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat(language="es")
    await chat.says("hola, tienen fibra en la rua delminda silveira 900?")
    await chat.says("si")
    await chat.says("cuanto sale el de 500? y la instalacion se paga?")
    assert "R$ 99,90" in chat.text  # the 500's price
    assert re.search(r"gratis|sin costo", chat.text)  # and the installation's
    assert "¿cuál es tu nombre completo?" in chat.last_reply.text


async def test_leaving_for_now_at_a_prompt_ends_politely(make_chat: MakeChat) -> None:
    chat = await make_chat("5548999972001")
    await chat.says("quero contratar")
    await chat.says("blz vou ver com meu marido e te falo, valeu")
    assert (await chat.saved()).flow == "menu"
    assert re.search(r"Por nada|Até logo|Tudo bem", chat.last_reply.text)
    assert "endereço" not in chat.text
    # where there is no fibre, the name asked to record the interest
    other = await make_chat("5548999972002")
    await other.says("quero contratar na av madre benvenuta 1500")
    await other.says("sim")
    assert "ainda não temos fibra disponível" in other.text
    await other.says("poxa q pena 😕 valeu mesmo assim")
    assert "Não entendi" not in other.text
    assert (await other.saved()).flow == "menu"


async def test_a_thanks_with_nothing_else_at_the_name_prompt_does_not_end_the_sale(
    chat: Chat,
) -> None:
    await at_the_name(chat)
    await chat.says("aaa que bom, obrigado!")
    assert (await chat.saved()).flow == "sales"


async def test_thanks_after_the_outage_answer_is_thanks(chat: Chat) -> None:
    await chat.says("a net ta mto lenta e caindo toda hora, moro na rua lauro linhares 500")
    assert KNOWN_OUTAGE in chat.text
    await chat.says("ah entendi, obrigado")
    assert chat.last_reply.text.startswith("Por nada!")


async def test_a_follow_up_question_after_the_outage_answer_gets_an_honest_answer(
    chat: Chat,
) -> None:
    await chat.says("ta sem internet aqui na minha rua?")
    await chat.says("rua lauro linhares 500")
    assert KNOWN_OUTAGE in chat.text
    await chat.says("e tem previsao pra voltar?")
    assert "Como posso ajudar?" not in chat.text  # not the greeting again
    assert "não sei responder" in chat.text


async def test_a_cancellation_let_go_in_words_keeps_the_reservation(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await reserve(chat)
    await chat.says("quero cancelar")
    assert "Qual reserva você quer cancelar?" in chat.last_reply.text
    await chat.says("pera, se eu cancelar agora pago multa?")
    await chat.says("ah entao nao, deixa quieto, vou manter a reserva")
    assert f"a reserva {code} continua ativa" in chat.text
    assert "Qual reserva" not in chat.text
    assert sandbox.network.client_by_code(code) is not None
