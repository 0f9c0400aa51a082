"""A street written loosely at the start or at the address prompt: by the distinctive part of
its name with a landmark around ("moro perto do mercado na delminda, numero 900"), by its
popular alias without the hyphen ("beira mar norte 2300"). The address is read back to confirm,
not asked again. The real engine, sandbox, gazetteer and model."""

from __future__ import annotations

from tests.engine.support import Chat
from tests.flows.conftest import MakeChat


async def test_a_street_by_its_distinctive_word_with_a_landmark(chat: Chat) -> None:
    await chat.says("oi boa tarde quero colocar internet em casa")
    await chat.says("moro perto do mercado na delminda, numero 900")
    assert "Encontrei este endereço: Rua Delminda Silveira, 900" in chat.last_reply.text
    await chat.says("issoo")
    assert "a nossa fibra chega aí" in chat.text


async def test_a_street_by_its_popular_alias_in_the_first_message(chat: Chat) -> None:
    await chat.says("boa tarde! tem cobertura na beira mar norte 2300?")
    reply = chat.last_reply.text
    assert "Encontrei este endereço: Avenida Governador Irineu Bornhausen, 2300" in reply
    assert "Me envie o endereço" not in chat.text  # not asked for what was said


async def test_loose_streets_in_english_and_spanish(make_chat: MakeChat) -> None:
    beira_mar = "Avenida Governador Irineu Bornhausen, 2300"
    for number, (said, found) in enumerate(
        (
            ("do you cover beiramar norte 2300?", beira_mar),
            ("hay fibra en la benvenuta 1500?", "Avenida Madre Benvenuta, 1500"),
            ("quero internet la na bornhausen n 2300", beira_mar),
        )
    ):
        chat = await make_chat(f"554899999430{number}")
        await chat.says(said)
        assert found in chat.last_reply.text, said
