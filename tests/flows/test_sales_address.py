"""The sales address prompt: a message that plainly holds no address gets the example of how to
write one, an address the geocoder does not know is told as not found (corpus:
sales-address-nao-sei-direito, sales-address-perto-do-mercado)."""

from __future__ import annotations

import pytest

from tests.engine.support import Chat

UNCLEAR = "Não consegui ler um endereço"
NOT_FOUND = "Não encontrei esse endereço"


@pytest.mark.parametrize("said", ["nao sei o endereco direito", "eh perto do mercado", "no idea"])
async def test_no_address_gets_the_example(chat: Chat, said: str) -> None:
    await chat.says("quero contratar")
    await chat.says(said)
    assert UNCLEAR in chat.text and NOT_FOUND not in chat.text
    assert chat.last_reply.ask_location
    await chat.says("rua delminda silveira 900")
    assert "Está certo?" in chat.last_reply.text


@pytest.mark.parametrize("said", ["joao pio duarte silva", "rua das orquideas 45"])
async def test_an_unknown_street_is_not_found(chat: Chat, said: str) -> None:
    await chat.says("quero contratar")
    await chat.says(said)
    assert NOT_FOUND in chat.text and UNCLEAR not in chat.text


async def test_no_street_at_the_confirmation_asks_it_again(chat: Chat) -> None:
    await chat.says("quero contratar")
    await chat.says("rua delminda silveira 900")
    await chat.says("ahn kkk")  # no street, no yes: the question again, no lookup
    assert NOT_FOUND not in chat.text
    assert "Delminda Silveira, 900" in chat.last_reply.text and "Está certo?" in chat.text
