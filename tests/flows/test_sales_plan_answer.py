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
