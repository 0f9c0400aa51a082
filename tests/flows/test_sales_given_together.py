"""What customers give together, or ask of the options, in the sales flow (corpus:
sales-opcoes-*, sales-plan-and-name-bare, sales-unit-and-name).

"quais as opcoes?" asks what is offered where the customer is: the plans in a sale (then the
pending question again), the plans and the menu's own options at rest; never "I can't answer
that". A bare speed beside a name at the name prompt ("300 joao silva") is the plan and the
name; a name beside the unit ("apto 12, maria souza") is kept, so the name is not asked.
"""

from __future__ import annotations

import pytest

from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.test_sales import BUILDING, COVERED, property_of, reserved_code

NO_ANSWER = "não sei responder"
PLANS = "nossos planos"


@pytest.mark.parametrize("asked", ["quais as opcoes?", "quais são as opções", "e as opções?"])
async def test_the_options_asked_at_the_name_prompt_are_the_plans(chat: Chat, asked: str) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says(asked)
    assert NO_ANSWER not in chat.text
    assert PLANS in chat.text and "Fibra 500 Mega" in chat.text
    assert "nome completo" in chat.last_reply.text  # the pending question again
    assert ((await chat.saved()).flow, (await chat.saved()).state) == ("sales", "ask_name")


async def test_the_options_asked_at_the_address_confirmation_keep_its_buttons(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("quais as opcoes?")
    assert NO_ANSWER not in chat.text and PLANS in chat.text
    assert "Está certo?" in chat.last_reply.text
    assert [b.payload for b in chat.last_reply.buttons] == ["yes", "no"]


async def test_the_options_asked_at_the_menu_are_the_plans_and_the_menu(chat: Chat) -> None:
    await chat.says("oi")
    await chat.says("quais as opcoes?")
    assert NO_ANSWER not in chat.text and PLANS in chat.text
    assert "intent:sales" in [b.payload for b in chat.last_reply.buttons]


async def test_a_question_read_as_the_menu_that_names_no_options_is_still_not_answered(
    chat: Chat,
) -> None:
    # "e qnd volta?" (read as "voltar", the menu): nothing here answers it, said honestly
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("e qnd volta?")
    assert NO_ANSWER in chat.text and PLANS not in chat.text


@pytest.mark.parametrize(
    ("said", "name", "plan"),
    [
        ("300 joao silva", "Joao Silva", "300"),
        ("maria souza, 500", "Maria Souza", "500"),
        ("ana lima 1000", "Ana Lima", "1000"),
        ("500 mega otavio mesquita", "Otavio Mesquita", "500"),
    ],
)
async def test_a_bare_speed_beside_the_name_is_the_plan_and_the_name(
    chat: Chat, sandbox: RunningSandbox, said: str, name: str, plan: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says(said)
    assert "nome completo" not in chat.text
    assert f"• Nome: {name}" in chat.last_reply.text
    assert "• Plano: Fibra" in chat.last_reply.text
    await chat.says("sim")
    reserved = property_of(sandbox, reserved_code(chat))
    assert f"plano {plan}" in str(reserved["observation"])


async def test_a_number_correcting_the_address_at_the_name_prompt_is_no_plan(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("na verdade é 1500")
    assert "Anotado: Fibra" not in chat.text


@pytest.mark.parametrize(
    ("said", "unit", "name"),
    [
        ("apto 12, maria souza", "Apto 12", "Maria Souza"),
        ("ap 302 bloco b - joão da silva", "Apto 302 Bloco B", "João da Silva"),
    ],
)
async def test_a_name_given_with_the_unit_is_not_asked_again(
    chat: Chat, sandbox: RunningSandbox, said: str, unit: str, name: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(BUILDING)
    await chat.says("sim")
    assert "apartamento" in chat.last_reply.text
    await chat.says(said)
    assert "nome completo" not in chat.text
    summary = chat.last_reply.text
    assert f"• Nome: {name}" in summary and f"• Unidade: {unit}" in summary
    await chat.says("o de 500")
    code = reserved_code(chat)
    assert f"({unit})" in str(property_of(sandbox, code)["address"])
    client = sandbox.network.client_by_code(code)
    assert client is not None and client["name"] == name


async def test_the_rest_of_a_unit_is_no_name(chat: Chat) -> None:
    # "torre sul" beside "bloco b" is the unit's, not a person called Torre Sul
    await chat.says("quero contratar")
    await chat.says(BUILDING)
    await chat.says("sim")
    await chat.says("bloco b torre sul")
    assert "Torre Sul" not in chat.text
    assert "nome completo" in chat.last_reply.text


async def test_the_cheapest_named_with_the_address_is_the_plan_not_the_street_number(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("quero o mais barato, rua felipe schmidt 500")
    await chat.says("sim")
    assert PLANS not in chat.text  # chosen already: not listed again
    await chat.says("sonia braga")
    assert "• Plano: Fibra 300 Mega" in chat.last_reply.text
    await chat.says("confirmo")
    assert "plano 300" in str(property_of(sandbox, reserved_code(chat))["observation"])


@pytest.mark.parametrize(
    "said", ["jorge amado, tem taxa de instalacao?", "tem taxa de instalacao? jorge amado"]
)
async def test_a_name_said_with_a_question_is_answered_and_kept(chat: Chat, said: str) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says(said)
    assert "grátis" in chat.text  # the question answered
    assert "• Nome: Jorge Amado" in chat.last_reply.text  # and the name taken: the summary
