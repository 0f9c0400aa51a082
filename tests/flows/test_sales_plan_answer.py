"""A plan answered where the name is asked ("300", "o de 300"): the sale lists the plans with
the good news and asks the name; a customer answering the plans is noted, then asked the name
again, and the plan reaches the summary and OZmap (corpus: sales-classic-menu-path & co)."""

from __future__ import annotations

import pytest

from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.test_sales import COVERED, property_of, reserved_code


@pytest.mark.parametrize(("said", "plan"), [("300", "300"), ("o de 500", "500")])
async def test_a_plan_given_at_the_name_prompt_is_the_plan(
    chat: Chat, sandbox: RunningSandbox, said: str, plan: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    assert "nossos planos" in chat.text and "nome completo" in chat.last_reply.text
    await chat.says(said)
    assert "Anotado: Fibra" in chat.text and "Não entendi o nome" not in chat.text
    assert "nome completo" in chat.last_reply.text
    await chat.says("pedro augusto")
    assert f"• Plano: Fibra {plan} Mega" in chat.last_reply.text
    await chat.says("sim")
    assert f"plano {plan}" in property_of(sandbox, reserved_code(chat))["observation"]


async def test_the_plan_asked_on_the_way_said_again_at_the_name_prompt_is_noted(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    # "quanto ta o de 500?" at the address: answered, and 500 is the plan the sale then knows;
    # "vou de 500 entao" where the name is asked names it again: noted, not "no name"
    await chat.says("quero contratar")
    await chat.says("quanto ta o de 500?")
    assert "R$ 99,90" in chat.text
    await chat.says(COVERED)
    await chat.says("sim")
    assert "nome completo" in chat.last_reply.text
    await chat.says("vou de 500 entao")
    assert "Anotado: Fibra 500 Mega" in chat.text and "Não entendi o nome" not in chat.text
    await chat.says("larissa moura")
    assert "• Plano: Fibra 500 Mega" in chat.last_reply.text


@pytest.mark.parametrize("said", ["nao pera, quero o de 1 giga", "quero o de 1 giga"])
async def test_another_plan_named_at_the_summary_changes_it_and_sums_up_again(
    chat: Chat, sandbox: RunningSandbox, said: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("300")
    await chat.says("otavio ramos")
    assert "• Plano: Fibra 300 Mega" in chat.last_reply.text
    await chat.says(said)
    assert "Anotado: Fibra 1 Giga" in chat.text
    assert "• Plano: Fibra 1 Giga" in chat.last_reply.text  # the summary again, not reserved
    assert "Código da reserva" not in chat.text
    await chat.says("agora sim")
    assert "plano 1000" in property_of(sandbox, reserved_code(chat))["observation"]


@pytest.mark.parametrize(
    ("said", "name", "plan"),
    [
        ("o de 300, joao silva", "Joao Silva", "300 Mega"),
        ("joao silva, o de 500", "Joao Silva", "500 Mega"),
        ("meu nome é ana lima e quero o mais barato", "Ana Lima", "300 Mega"),
        ("sou a ana lima, quero o mais rapido", "Ana Lima", "1 Giga"),
    ],
)
async def test_the_name_and_the_plan_in_one_message(
    chat: Chat, said: str, name: str, plan: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says(said)
    summary = chat.last_reply.text
    assert f"• Nome: {name}" in summary and f"• Plano: Fibra {plan}" in summary


@pytest.mark.parametrize("said", ["esse entao", "esse mesmo", "isso, esse"])
async def test_pointing_at_the_plan_asked_about_is_no_name(
    chat: Chat, sandbox: RunningSandbox, said: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("quanto custa o de 500?")
    assert "R$ 99,90" in chat.text
    await chat.says(said)
    assert "Esse" not in chat.text and "Isso" not in chat.text  # no name made of it
    assert "nome completo" in chat.last_reply.text
    await chat.says("lucia gomes")
    summary = chat.last_reply.text
    assert "• Nome: Lucia Gomes" in summary and "• Plano: Fibra 500 Mega" in summary
