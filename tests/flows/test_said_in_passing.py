"""What customers say in passing is not what they ask for now: a plan change put off ("talvez eu
mude pro de 500 depois"), a problem denied on the way to a question ("minha internet nao ta
caindo nao, so quero saber o preco"), a "pode esquecer" that lets the offer go (never an erasure
of their data). On the engine as the channels use it, with the embedded understander, against
the sandbox over loopback.
"""

from __future__ import annotations

import re

from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat

CODE = re.compile(r"Código da reserva: (OZB-[A-Z2-9]{6})")


async def at_the_summary(chat: Chat, *, plan: str | None = None) -> None:
    await chat.says("quero contratar fibra na rua delminda silveira 900")
    await chat.says("sim")
    if plan is not None:
        await chat.says(plan)
    await chat.says("ana souza")
    assert "Posso reservar" in chat.last_reply.text


async def test_a_plan_change_put_off_reserves_now_with_the_plan_chosen(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    for number, (plan, said, kept) in enumerate(
        (
            (None, "sim pode reservar, talvez eu mude pro de 500 depois", None),
            ("o de 300", "pode reservar sim, dps eu troco pro de 1 giga", "300"),
            (None, "sim e talvez depois eu passe pro plano de 500", None),
        )
    ):
        chat = await make_chat(f"554899998100{number}")
        await at_the_summary(chat, plan=plan)
        await chat.says(said)
        found = CODE.search(chat.last_reply.text)
        assert found, said  # reserved now, not the summary again with another plan
        assert "Anotado" not in chat.last_reply.text
        client = sandbox.network.client_by_code(found.group(1))
        assert client is not None
        property_ = sandbox.network.properties_of_client(client["_id"])[0]
        observation = str(property_.get("observation", ""))  # the plan goes with the property
        assert (f"plano {kept}" in observation) if kept else ("plano" not in observation), (
            said,
            observation,
        )


async def test_a_plan_change_now_still_changes_the_plan(chat: Chat) -> None:
    await at_the_summary(chat, plan="o de 300")
    await chat.says("na vdd muda pro de 500")
    assert "Anotado: Fibra 500 Mega" in chat.text
    assert "Posso reservar" in chat.last_reply.text  # the summary again, its price is news
    assert not CODE.search(chat.text)


async def test_pode_esquecer_lets_go_and_never_asks_to_erase(make_chat: MakeChat) -> None:
    # at rest, after the menu's greeting and after "Posso ajudar em mais alguma coisa?"
    for number, (before, said) in enumerate(
        (
            (["oi"], "pode esquecer"),
            (["oi"], "esquece isso"),
            (["quanto custa a fibra?"], "ah pode esquecer, obrigado"),
        )
    ):
        chat = await make_chat(f"554899998200{number}")
        for text in before:
            await chat.says(text)
        await chat.says(said)
        saved = await chat.saved()
        assert saved.flow != "privacy", said
        assert "apagar" not in chat.text.casefold(), said
        assert re.search(r"Tudo bem|Por nada|Até logo", chat.last_reply.text), said


async def test_pode_esquecer_at_the_summary_reserves_nothing_and_erases_nothing(
    chat: Chat,
) -> None:
    await at_the_summary(chat)
    await chat.says("pode esquecer")
    saved = await chat.saved()
    assert saved.flow != "privacy"
    assert "reservations" not in saved.context
    assert "não reservei nada" in chat.text
    assert "apagar" not in chat.text.casefold()


async def test_forgetting_their_data_is_still_an_erasure_request(make_chat: MakeChat) -> None:
    for number, said in enumerate(("pode esquecer meu numero", "esquece meus dados pfv")):
        chat = await make_chat(f"554899998300{number}")
        await chat.says("oi")
        await chat.says(said)
        assert (await chat.saved()).flow == "privacy", said
        assert "Confirma?" in chat.last_reply.text  # asked first, as ever


async def test_a_problem_denied_on_the_way_to_a_question_gets_the_answer(
    make_chat: MakeChat,
) -> None:
    for number, said in enumerate(
        (
            "minha internet nao ta caindo nao, quero saber o preco",
            "a net nao caiu nao, queria saber quanto custa a fibra de vcs",
            "nao é problema de internet caindo, é so pra saber o preço",
            "minha internet ta funcionando sim, so queria saber o preço do plano de 500",
        )
    ):
        chat = await make_chat(f"554899998400{number}")
        await chat.says(said)
        assert "R$" in chat.text, said  # the price
        assert (await chat.saved()).flow != "outage", said  # no outage check begun
        assert "Onde você está?" not in chat.text, said


async def test_the_price_asked_at_the_summary_is_answered_and_the_summary_asked_again(
    chat: Chat,
) -> None:
    await at_the_summary(chat)  # the plans are listed there, none chosen yet
    await chat.says("minha internet nao ta caindo nao, so quero saber o preco")
    assert "R$ 89,90 por mês" in chat.text  # the prices, not "Não entendi"
    assert "Não entendi" not in chat.text
    assert "Posso reservar" in chat.last_reply.text
    saved = await chat.saved()
    assert (saved.flow, saved.state) == ("sales", "confirm")
    assert "reservations" not in saved.context


async def test_a_real_outage_beside_a_question_is_still_an_outage(chat: Chat) -> None:
    await chat.says("minha internet nao ta funcionando, quanto tempo demora pra voltar?")
    assert (await chat.saved()).flow == "outage"
