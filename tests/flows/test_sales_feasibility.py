"""The sales flow against the sandbox in each feasibility mode and each shape of OZmap's answer:
a covered customer is never turned away for a shape the client did not expect, and a customer
OZmap does not cover becomes a prospect an ERP can find by its code."""

from __future__ import annotations

import re

import pytest

from bot.ozmap.feasibility import MODES
from bot.ozmap.sandbox import BOX_900, SHAPES, RunningSandbox
from tests.flows.conftest import MakeChat

CODE = re.compile(r"Código da reserva: (OZB-[A-Z2-9]{6})")
# poles mode never reads the radius answer: in every shape it must decide the same
CASES = [(mode, shape) for mode in MODES for shape in SHAPES]


@pytest.mark.parametrize(("mode", "shape"), CASES)
async def test_covered_customer_reserves_on_the_nearest_box(
    make_chat: MakeChat, sandbox: RunningSandbox, mode: str, shape: str
) -> None:
    sandbox.sandbox.feasibility_shape = shape
    chat = await make_chat(feasibility_mode=mode)
    await chat.says("oi")
    await chat.says("1")
    await chat.says("R. Delminda Silveira, 900")
    await chat.says("sim")
    assert "a nossa fibra chega aí" in chat.text
    await chat.says("Gabriel Marioto")
    await chat.says(str(chat.option("yes")))
    found = CODE.search(chat.text)
    assert found, chat.text
    client = sandbox.network.client_by_code(found.group(1))
    assert client is not None and client["implanted"] is False
    [reserved] = sandbox.network.properties_of_client(client["_id"])
    assert reserved["box"] == BOX_900
    assert [c["port"] for c in reserved["connections"]] == [4]  # the box's first free port


@pytest.mark.parametrize(("mode", "shape"), CASES)
async def test_not_covered_customer_becomes_a_prospect_with_a_code(
    make_chat: MakeChat, sandbox: RunningSandbox, mode: str, shape: str
) -> None:
    sandbox.sandbox.feasibility_shape = shape
    chat = await make_chat(feasibility_mode=mode)
    before = {p["_id"] for p in sandbox.network.docs("prospects")}
    await chat.says("oi")
    await chat.says("1")
    await chat.says("Av. Madre Benvenuta, 1500")
    await chat.says("sim")
    assert "ainda não temos fibra disponível" in chat.text
    await chat.says("Carla Dias")
    [prospect] = [p for p in sandbox.network.docs("prospects") if p["_id"] not in before]
    assert prospect["name"] == "Carla Dias"
    assert re.fullmatch(r"OZB-[A-Z2-9]{6}", prospect["code"] or "")
    assert prospect["external_id"] == prospect["code"]
