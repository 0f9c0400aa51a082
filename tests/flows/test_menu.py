"""The menu as transcripts: the greeting, its options, and free text that names an intent."""

from __future__ import annotations

from tests.engine.support import Chat
from tests.flows.conftest import MakeChat


async def test_greeting_offers_the_choices(make_chat: MakeChat) -> None:
    chat = await make_chat(name="Ana")
    await chat.says("oi")
    assert chat.last_reply.text.startswith("Olá, Ana!")
    assert [(b.payload, b.label) for b in chat.options] == [
        ("intent:sales", "Contratar internet"),
        ("intent:outage", "Estou sem internet"),
        ("intent:cancel", "Cancelar reserva"),
        ("intent:handoff", "Falar com atendente"),
    ]


async def test_choosing_by_number_or_by_tap(chat: Chat) -> None:
    await chat.says("oi")
    await chat.says("1")
    assert "Me envie o endereço" in chat.last_reply.text
    await chat.says("menu")
    await chat.taps("intent:handoff")
    assert "Uma pessoa da nossa equipe" in chat.last_reply.text
    assert (await chat.saved()).flow == "handoff"


async def test_free_text_naming_an_intent_goes_straight_there(chat: Chat) -> None:
    await chat.says("Boa tarde! Quero contratar internet na minha casa")
    assert "Vamos ver se a nossa fibra chega" in chat.text
    assert "Me envie o endereço" in chat.last_reply.text


async def test_anything_else_gets_the_choices_again(chat: Chat) -> None:
    await chat.says("oi")
    await chat.says("qual o preço do plano?")  # a question: answered, then the choices again
    assert "nossos planos" in chat.text
    assert [b.payload for b in chat.options] == [
        "intent:sales",
        "intent:outage",
        "intent:cancel",
        "intent:handoff",
    ]
    await chat.says("blablabla")
    assert chat.last_reply.text.startswith("Não entendi")
    assert [b.payload for b in chat.options] == [
        "intent:sales",
        "intent:outage",
        "intent:cancel",
        "intent:handoff",
    ]
    await chat.says("7")  # a number beyond the options is not a choice
    assert chat.last_reply.text.startswith("Não entendi")


async def test_menu_from_the_middle_of_a_sale(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("R. Delminda Silveira, 900")
    await chat.says("MENU")
    assert [b.payload for b in chat.options] == [
        "intent:sales",
        "intent:outage",
        "intent:cancel",
        "intent:handoff",
    ]
    assert (await chat.saved()).flow == "menu"


async def test_other_languages(make_chat: MakeChat) -> None:
    english = await make_chat("5548999990002", language="en")
    await english.says("hi")
    assert english.last_reply.text.startswith("Hello!")
    assert [b.label for b in english.options] == [
        "Get fibre internet",
        "My internet is down",
        "Cancel reservation",
        "Talk to a person",
    ]
    await english.says("1")
    assert "installation address" in english.last_reply.text
    spanish = await make_chat("5548999990003", language="es-AR")
    await spanish.says("hola")
    assert spanish.last_reply.text.startswith("¡Hola!")
