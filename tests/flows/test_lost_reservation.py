"""A reservation whose answer never came back (issue 10, item 3): OZmap made the property, the
bot did not hear so. The code was saved with the summary, before the request; the bot looks it up
by that code, tells the customer what really happened, and lets them cancel it.

The sandbox applies the request and then loses its answer (its ``lose_answers`` knob, a 504 as
from a gateway whose upstream was too slow), and may go down with it.
"""

from __future__ import annotations

from bot.ozmap.sandbox import RunningSandbox
from bot.ozmap.sandbox.operations import delete_property
from tests.engine.support import Chat
from tests.flows.test_sales import COVERED, reserved_code, until_address
from tests.support.outage import answer_lost


async def until_summary(chat: Chat) -> str:
    await until_address(chat)
    await chat.says(COVERED)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    code: str = (await chat.saved()).context["sales"]["code"]
    return code


def reservations(sandbox: RunningSandbox, code: str) -> int:
    return [c["code"] for c in sandbox.network.docs("ftth-clients")].count(code)


async def test_a_lost_answer_is_looked_up_and_the_reservation_told(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await until_summary(chat)
    with answer_lost(sandbox, "POST /properties"):
        await chat.says("sim, o de 300")
    # before: "fora do ar" while the port was reserved in OZmap
    assert "fora do ar" not in chat.text
    assert reserved_code(chat) == code and reservations(sandbox, code) == 1
    saved = await chat.saved()
    [kept] = saved.context["reservations"]
    assert kept["code"] == code and kept["property_id"]
    assert not kept.get("unconfirmed")


async def test_unconfirmed_then_cancelled_by_its_code(chat: Chat, sandbox: RunningSandbox) -> None:
    code = await until_summary(chat)
    with answer_lost(sandbox, "POST /properties", then_down=True):
        await chat.says("sim, o de 300")
    assert reservations(sandbox, code) == 1  # OZmap made it; nobody could tell the bot
    assert code in chat.text and "não consegui confirmar" in chat.text.lower()
    saved = await chat.saved()
    [kept] = saved.context["reservations"]
    assert kept["code"] == code and kept["unconfirmed"] is True

    # before: "cancelar" found nothing to cancel, and the port stayed reserved
    await chat.says("cancelar")
    assert code in [b.payload.removeprefix("code:") for b in chat.options]
    await chat.taps("code:" + code)
    await chat.says(str(chat.option("yes")))
    assert f"{code}" in chat.text and "cancelada" in chat.text
    assert reservations(sandbox, code) == 0
    assert (await chat.saved()).context.get("reservations") == []


async def test_unconfirmed_then_yes_checks_again_and_never_reserves_twice(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await until_summary(chat)
    with answer_lost(sandbox, "POST /properties", then_down=True):
        await chat.says("sim, o de 300")
    assert "não consegui confirmar" in chat.text.lower()
    await chat.says("sim")  # OZmap is back: the bot looks the code up
    assert reserved_code(chat) == code and reservations(sandbox, code) == 1
    [kept] = (await chat.saved()).context["reservations"]
    assert kept["property_id"] and not kept.get("unconfirmed")


async def test_an_unconfirmed_code_never_made_is_nothing_to_cancel(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    code = await until_summary(chat)
    with answer_lost(sandbox, "POST /properties", then_down=True):
        await chat.says("sim, o de 300")
    # OZmap's staff (or OZmap itself) undid it before the customer came back
    client = sandbox.network.client_by_code(code)
    assert client is not None
    [prop] = sandbox.network.properties_of_client(client["_id"])
    delete_property(sandbox.network, prop["_id"])
    await chat.says("cancelar")
    await chat.taps("code:" + code)
    assert code in chat.text and "não chegou a ser feita" in chat.text
    assert (await chat.saved()).context.get("reservations") == []
