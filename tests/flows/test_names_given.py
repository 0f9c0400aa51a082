"""The name as customers give it at the name prompt and correct it at the summary: whole with
its particles ("Maria das Graças de Sá e Souza"), someone else's said so ("coloca no nome dela:
..."), and corrected where the reservation is asked ("no espera, me equivoque, es ..."): the
name changes and the summary comes again, the sale kept. The real engine, sandbox and model."""

from __future__ import annotations

import re

from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import MakeChat

CODE = re.compile(r"(?:Código da reserva|Reservation code|Código de la reserva): (OZB-[A-Z2-9]{6})")


def reserved_name(chat: Chat, sandbox: RunningSandbox) -> str:
    found = CODE.search(chat.text)
    assert found, chat.text
    client = sandbox.network.client_by_code(found.group(1))
    assert client is not None
    return str(client["name"])


async def at_the_name_prompt(
    chat: Chat, start: str = "quero contratar na rua esteves junior 950", yes: str = "sim"
) -> None:
    await chat.says(start)  # with the address: its confirmation follows
    await chat.says(yes)
    assert re.search(r"nome completo|full name|nombre completo", chat.last_reply.text)


async def test_a_name_with_particles_is_kept_whole(chat: Chat, sandbox: RunningSandbox) -> None:
    await at_the_name_prompt(chat)
    await chat.says("meu nome completo é Maria das Graças de Sá e Souza")
    assert "• Nome: Maria das Graças de Sá e Souza" in chat.last_reply.text
    await chat.says("isso, pode reservar")
    assert reserved_name(chat, sandbox) == "Maria das Graças de Sá e Souza"


async def test_a_lower_case_name_with_particles_in_proper_case(chat: Chat) -> None:
    await at_the_name_prompt(chat)
    await chat.says("jose dos anjos de sa e silva")
    assert "• Nome: Jose dos Anjos de Sa e Silva" in chat.last_reply.text


async def test_the_name_it_goes_in_is_taken(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("oi quero contratar internet pra casa da minha mae, av trompowsky 120")
    await chat.says("isso")
    await chat.says("precisa ser no nome dela ou pode ser no meu?")
    await chat.says("coloca no nome dela: Rosângela Aparecida Lima")
    assert "• Nome: Rosângela Aparecida Lima" in chat.last_reply.text
    await chat.says("pode")
    assert reserved_name(chat, sandbox) == "Rosângela Aparecida Lima"


async def test_the_name_it_goes_in_in_english_and_spanish(make_chat: MakeChat) -> None:
    for number, (start, yes, said, shown) in enumerate(
        (
            (
                "hi, I want fibre at rua delminda silveira 900",
                "yes",
                "put it under my wife's name: Susan Clarke",
                "• Name: Susan Clarke",
            ),
            (
                "hola, quiero fibra en rua delminda silveira 900",
                "si",
                "ponelo a nombre de mi madre: Rosa Pérez",
                "• Nombre: Rosa Pérez",
            ),
            (
                "quero contratar na rua delminda silveira 900",
                "sim",
                "faz no nome da minha mãe rosangela lima",
                "• Nome: Rosangela Lima",
            ),
        )
    ):
        chat = await make_chat(f"554899999410{number}")
        await at_the_name_prompt(chat, start, yes)
        await chat.says(said)
        assert shown in chat.last_reply.text, said


async def test_a_name_corrected_at_the_summary_shows_it_again(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    for number, (start, yes, name, correction, shown, go) in enumerate(
        (
            (
                "quiero fibra en av trompowsky 100",
                "si",
                "Jorge Luis Borges",
                "no espera, me equivoque, es Jorge Luis Bórquez",
                "• Nombre: Jorge Luis Bórquez",
                "si, ahora si",
            ),
            (
                "quero contratar na rua delminda silveira 900",
                "sim",
                "jorge luis borges",
                "nao, na verdade é jorge luis borquez",
                "• Nome: Jorge Luis Borquez",
                "agora sim, pode",
            ),
            (
                "hi, I want fibre at rua delminda silveira 900",
                "yes",
                "Jorge Borges",
                "sorry, my name is actually Jorge Borquez",
                "• Name: Jorge Borquez",
                "yes go ahead",
            ),
        )
    ):
        chat = await make_chat(f"554899999420{number}")
        await at_the_name_prompt(chat, start, yes)
        await chat.says(name)
        await chat.says(correction)
        assert shown in chat.last_reply.text, correction  # the summary again
        saved = await chat.saved()
        assert (saved.flow, saved.state) == ("sales", "confirm"), correction
        await chat.says(go)
        assert reserved_name(chat, sandbox) == shown.split(": ", 1)[1]
