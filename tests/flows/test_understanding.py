"""The sale as customers really write it: several facts in one message, slang for yes, a CPF
with the name, the unit with the number, corrections, questions on the way, other requests in
the middle, and giving up. Against the real sandbox over loopback, with the embedded
understander, on the engine as the channels use it.
"""

from __future__ import annotations

import re

from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat

CODE = re.compile(r"Código da reserva: (OZB-[A-Z2-9]{6})")


def reserved_code(chat: Chat) -> str:
    found = CODE.search(chat.text)
    assert found, chat.text
    return found.group(1)


async def test_the_first_message_with_the_address_goes_straight_to_its_confirmation(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("oi boa tarde, queria saber se tem fibra na rua delminda silveira 900")
    assert "Encontrei este endereço: Rua Delminda Silveira, 900" in chat.last_reply.text
    assert "Me envie o endereço" not in chat.text  # not asked for what was said
    await chat.says("isso")
    assert "nome completo" in chat.last_reply.text
    await chat.says("maria souza")
    assert "• Nome: Maria Souza" in chat.last_reply.text  # proper case
    await chat.says("o de 500")  # the plan chosen is the yes
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None and client["name"] == "Maria Souza"
    [house] = sandbox.network.properties_of_client(client["_id"])
    assert "plano 500" in house["observation"]


async def test_a_cpf_sent_with_the_name_is_kept(make_chat: MakeChat) -> None:
    chat = await make_chat(require_cpf=True)
    await chat.says("quero contratar internet, moro na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("Maria Souza 529.982.247-25")
    assert "• Nome: Maria Souza" in chat.last_reply.text
    assert "• CPF: ***.***.*47-25" in chat.last_reply.text  # not asked for again
    assert "529.982.247-25" not in chat.text.replace("Maria Souza 529.982.247-25", "")


async def test_the_unit_given_with_the_number_is_kept(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("meu cep é 88025-500")
    assert "qual é o número" in chat.last_reply.text
    await chat.says("n° 900 apto 302 bloco b")
    assert "Rua Delminda Silveira, 900" in chat.last_reply.text
    await chat.says("sim")
    await chat.says("Ana Souza")
    assert "• Unidade: Apto 302 Bloco B" in chat.last_reply.text


async def test_a_question_at_the_name_prompt_is_not_a_name(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("Rua Delminda Silveira, 900")
    await chat.says("sim")
    await chat.says("mas quanto custa a mensalidade?")
    assert "nome completo" in chat.last_reply.text  # the question again
    saved = await chat.saved()
    assert "name" not in saved.context["sales"]
    assert (saved.flow, saved.state) == ("sales", "ask_name")


async def test_yes_as_people_write_it(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("tem fibra na rua delminda silveira 900?")
    await chat.says("👍")
    await chat.says("Gabriel Marioto")
    await chat.says("pode reservar pfv")  # no plan named: reserved, the team settles it
    assert sandbox.network.client_by_code(reserved_code(chat)) is not None


async def test_a_corrected_number_is_found_and_confirmed_again(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    assert "Rua Delminda Silveira, 900" in chat.last_reply.text
    await chat.says("nao, na verdade é 1500")
    assert "Encontrei este endereço: Rua Delminda Silveira, 1500" in chat.last_reply.text
    await chat.says("sim")
    assert "nome completo" in chat.last_reply.text


async def test_a_unit_corrected_at_the_summary_shows_it_again(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("Ana Souza")
    assert "Posso reservar" in chat.last_reply.text
    await chat.says("errei, é apto 302")
    assert "Anotado: Apto 302" in chat.text
    assert "• Unidade: Apto 302" in chat.last_reply.text
    assert "Posso reservar" in chat.last_reply.text


async def test_an_address_corrected_at_the_summary_keeps_the_name(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("Ana Souza")
    await chat.says("na verdade o numero é 1500")
    assert "Rua Delminda Silveira, 1500" in chat.last_reply.text
    await chat.says("sim")
    # the name is not asked again: the summary, with the new address
    assert "• Nome: Ana Souza" in chat.last_reply.text
    assert "• Endereço: Rua Delminda Silveira, 1500" in chat.last_reply.text


async def test_yes_with_a_question_at_the_summary_does_not_cancel(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("Ana Souza")
    await chat.says("sim, mas posso cancelar depois?")
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "confirm")  # still the sale
    assert "Posso reservar" in chat.last_reply.text  # asked again
    assert "reservations" not in saved.context
    await chat.says("fechado, o de 300")
    assert sandbox.network.client_by_code(reserved_code(chat)) is not None


async def test_another_request_mid_sale_asks_first(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("minha internet caiu")
    assert "Quer parar a contratação?" in chat.last_reply.text
    await chat.says("nao")
    assert "nome completo" in chat.last_reply.text  # where we were
    await chat.says("minha internet caiu")
    await chat.says("sim")
    assert (await chat.saved()).flow == "outage"


async def test_asking_for_a_person_never_waits(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("preciso falar com o suporte")
    assert "Uma pessoa da nossa equipe" in chat.last_reply.text
    assert (await chat.saved()).flow == "handoff"


async def test_sair_ends_politely_and_is_no_address(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("sair")
    assert "parei por aqui" in chat.last_reply.text
    assert "endereço" not in chat.last_reply.text
    saved = await chat.saved()
    assert saved.flow == "menu"


async def test_unclear_answers_lead_to_a_person_not_a_loop(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("123")
    assert "nome completo" in chat.last_reply.text and "Por exemplo" in chat.last_reply.text
    assert "intent:handoff" not in [b.payload for b in chat.options]
    await chat.says("4567")
    assert "intent:handoff" in [b.payload for b in chat.options]


async def test_a_question_on_the_way_is_answered_and_the_question_asked_again(
    chat: Chat,
) -> None:
    await chat.says("quero contratar")
    await chat.says("qual o horario de atendimento de vcs?")
    assert "Me envie o endereço" in chat.last_reply.text  # the pending question again
    assert (await chat.saved()).state == "ask_address"


async def test_small_talk_mid_flow_gets_a_reply_and_the_question(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("tudo bem?")
    assert "nome completo" in chat.last_reply.text
    assert (await chat.saved()).state == "ask_name"


async def test_the_language_comes_from_the_text_when_the_channel_gives_none(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat("5548999990011", language=None)
    await chat.says("hi, is there fiber at rua delminda silveira 900?")
    assert "I found this address" in chat.last_reply.text
    assert (await chat.saved()).language == "en"
    await chat.says("yes")  # short: the conversation keeps its language
    assert "full name" in chat.last_reply.text
    spanish = await make_chat("5548999990012", language=None)
    await spanish.says("hola, quiero contratar internet por favor")
    assert "dirección" in spanish.last_reply.text


async def test_covered_customers_see_the_plans_and_a_named_one_is_kept(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("quero o plano de 500 mega, moro na rua delminda silveira 900")
    await chat.says("sim")
    assert "Fibra 300 Mega" not in chat.text  # a plan named: not listed again
    await chat.says("Ana Souza")
    assert "• Plano: Fibra 500 Mega" in chat.last_reply.text
    assert [b.payload for b in chat.options] == ["yes", "retry", "no"]
    await chat.says("sim")
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None
    [house] = sandbox.network.properties_of_client(client["_id"])
    assert "plano 500" in house["observation"]


async def test_a_plan_named_at_the_summary_is_the_yes(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("Ana Souza")
    assert "• Planos: Fibra 300 Mega" in chat.last_reply.text
    await chat.says("quero o de 300")
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None
    [house] = sandbox.network.properties_of_client(client["_id"])
    assert "plano 300" in house["observation"]


async def test_the_plans_are_listed_and_chosen_in_the_summary(chat: Chat) -> None:
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    assert "Fibra 300 Mega" in chat.text and "Fibra 1 Giga" in chat.text
    await chat.says("o de 300")  # a plan, not a name
    assert "nome completo" in chat.last_reply.text
    await chat.says("Ana Souza")
    assert "• Plano: Fibra 300 Mega" in chat.last_reply.text


async def test_a_prospect_keeps_the_plan_named(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("queria o plano de 500 mega na av. madre benvenuta 1500")
    await chat.says("sim")
    assert "ainda não temos fibra" in chat.text
    await chat.says("Carla Dias")
    [prospect] = [p for p in sandbox.network.docs("prospects") if p["name"] == "Carla Dias"]
    assert prospect["observation"] == "plano 500"


async def test_a_pin_at_the_menu_goes_to_the_address_check(chat: Chat) -> None:
    await chat.says("oi")
    await chat.send(chat.inbound(location=_pin()))
    assert "Está certo?" in chat.last_reply.text
    assert (await chat.saved()).state == "confirm_address"


def _pin() -> object:
    from bot.messages import Location

    return Location(-27.5782336721312, -48.527442812919624)


async def test_a_question_carrying_an_address_starts_the_sale(chat: Chat) -> None:
    await chat.says("ola, vcs atendem na rui barbosa 1200?")  # the street without its "rua"
    assert "Rua Rui Barbosa, 1200" in chat.last_reply.text and "?" in chat.last_reply.text


async def test_small_talk_where_a_number_is_asked_counts_as_unclear(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("meu cep é 88025-500")
    for said in ("sei la", "nao sei mesmo", "hmm"):
        await chat.says(said)
    assert "intent:handoff" in [b.payload for b in chat.options]


async def test_a_yes_to_recording_the_interest_asks_the_name(chat: Chat) -> None:
    await chat.says("quero contratar na av. madre benvenuta 1500")
    await chat.says("sim")
    await chat.says("pode sim, me avisa")
    assert "nome" in chat.last_reply.text and "Não entendi" not in chat.last_reply.text


async def test_the_cheapest_where_the_plans_were_just_listed_chooses_it(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("tem cobertura no cep 88025-500 numero 700?")
    await chat.says("s")
    assert "Fibra 300 Mega" in chat.last_reply.text or "Fibra 300 Mega" in chat.text
    await chat.says("o mais barato")
    assert "Anotado: Fibra 300 Mega" in chat.text  # a choice, not a price list
    await chat.says("carla menezes")
    await chat.says("confirmo")
    client = sandbox.network.client_by_code(reserved_code(chat))
    assert client is not None
    [house] = sandbox.network.properties_of_client(client["_id"])
    assert "plano 300" in house["observation"]


async def test_an_unclear_answer_to_the_address_asks_it_again(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("hã?")
    assert "Encontrei este endereço: Rua Delminda Silveira, 900" in chat.last_reply.text
    assert "Não consegui ler um endereço" not in chat.text


async def test_a_yes_with_a_question_at_the_address_answers_it_and_goes_on(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("sim, mas posso cancelar se nao gostar?")
    assert "Não há fidelidade" in chat.text  # the question answered
    assert "a nossa fibra chega aí" in chat.text  # and the yes taken: the sale goes on
    assert "nome completo" in chat.last_reply.text
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "ask_name")


async def test_a_question_nobody_answers_at_the_prospect_name_is_not_a_name(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    seeded = len(list(sandbox.network.docs("prospects")))
    await chat.says("quero contratar na av. madre benvenuta 1500")
    await chat.says("sim")
    await chat.says("e qd vai chegar ai?")
    assert "Não entendi" not in chat.text
    assert "não sei responder por aqui" in chat.text
    assert "Qual é o seu nome?" in chat.last_reply.text  # asked again
    assert len(list(sandbox.network.docs("prospects"))) == seeded  # nothing recorded as a name
    await chat.says("otavio lins")
    [prospect] = list(sandbox.network.docs("prospects"))[seeded:]
    assert prospect["name"] == "Otavio Lins"


async def test_an_address_never_found_leads_to_a_person(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("nao sei o endereco direito")
    assert "intent:handoff" not in [b.payload for b in chat.options]
    await chat.says("eh perto do mercado")  # the same question again, nothing learnt: twice
    assert "intent:handoff" in [b.payload for b in chat.options]


async def test_sei_la_where_the_address_is_asked_gets_no_how_are_you(chat: Chat) -> None:
    await chat.says("quero contratar")
    replies = await chat.says("sei la mano")
    # no "how are you" answered to what nobody asked: the question (with its example) alone
    assert [r.text for r in replies] == [chat.last_reply.text]
    assert "Me envie o endereço" in chat.last_reply.text


async def test_an_answer_at_rest_offers_more_without_the_whole_introduction(chat: Chat) -> None:
    replies = await chat.says("tem fidelidade?")
    assert "Não há fidelidade" in replies[0].text
    assert replies[-1].text == "Posso ajudar em mais alguma coisa?"
    assert "intent:sales" in [b.payload for b in chat.options]
    assert "assistente virtual" not in chat.text
    await chat.says("oi")  # a greeting still gets the introduction
    assert "assistente virtual" in chat.last_reply.text


async def test_small_talk_at_the_start_gets_the_introduction_once(chat: Chat) -> None:
    replies = await chat.says("hmm")
    assert len(replies) == 1
    assert "assistente virtual" in replies[0].text  # the greeting, not "anything else?"
    assert "intent:sales" in [b.payload for b in chat.options]


async def test_a_name_said_last_after_a_remark_is_the_name_alone(chat: Chat) -> None:
    await chat.says("quero net na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("ta bom, é marina castro")
    assert "• Nome: Marina Castro" in chat.last_reply.text  # not "Ta Bom É Marina Castro"


async def test_a_name_after_talk_of_an_agent_is_the_name_not_a_handoff(chat: Chat) -> None:
    await chat.says("quero internet")
    await chat.says("delminda silveira 700")
    await chat.says("sim")
    await chat.says("o atendente da loja falou q era so mandar o nome, e fernanda lima")
    assert "• Nome: Fernanda Lima" in chat.last_reply.text


async def test_a_remark_ending_in_e_and_no_name_is_not_a_name(chat: Chat) -> None:
    await chat.says("quero net na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("ok, e o de 300")  # a plan, not a person called "O de"
    assert "• Nome:" not in chat.text
    await chat.says("sim, é isso")
    assert "• Nome:" not in chat.text


async def test_an_address_told_with_why_is_no_outage_question(chat: Chat) -> None:
    await chat.says("quero contratar fibra")
    await chat.says(
        "rua bocaiuva 1000, a internet da outra empresa caiu de novo por isso quero trocar"
    )
    assert "Encontrei este endereço: Rua Bocaiúva, 1000" in chat.last_reply.text
    assert "falha" not in chat.text


async def test_not_knowing_yet_at_the_summary_is_no_no(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("quero fibra na delminda silveira 900")
    await chat.says("sim")
    await chat.says("lia matos")
    assert "Posso reservar" in chat.last_reply.text
    await chat.says("hmm n sei ainda")  # "não sei ainda": unsure, not a no
    assert "não reservei" not in chat.text
    await chat.says("ta, pode reservar")
    assert sandbox.network.client_by_code(reserved_code(chat)) is not None


async def test_a_name_with_thanks_is_the_name(chat: Chat) -> None:
    await chat.says("quero fibra na delminda silveira 900")
    await chat.says("sim")
    await chat.says("renata farias, obrigada")  # not "Por nada!" and the name again
    assert "• Nome: Renata Farias" in chat.last_reply.text


async def test_when_is_it_back_after_an_outage_is_a_question_not_the_menu(chat: Chat) -> None:
    await chat.says("sem sinal na lauro linhares 700")
    assert "falha em massa" in chat.last_reply.text
    await chat.says("e qnd volta?")  # "volta" is also "voltar ao menu"
    assert "Sou o assistente virtual" not in chat.text  # not the greeting again
    assert "não sei responder por aqui" in chat.text  # honest, and a person a word away
