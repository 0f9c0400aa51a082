"""A no that reads like a yes once its "no" is left out ("no esta bien" is near "esta bien"):
at the summary it must never reserve (found by nlu-es)."""

from __future__ import annotations

import pytest

from bot.ozmap.sales import reservations
from bot.ozmap.sandbox import RunningSandbox
from tests.flows.conftest import MakeChat


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("es", "no esta bien"),
        ("es", "no, esta bien"),
        ("pt-BR", "nao ta certo"),
        ("pt-BR", "pode ser nao, melhor nao"),
    ],
)
async def test_a_no_at_the_summary_reserves_nothing(
    make_chat: MakeChat, sandbox: RunningSandbox, language: str, said: str
) -> None:
    chat = await make_chat(language=language)
    await chat.says("quero contratar na rua delminda silveira 900")
    await chat.says("sim")
    await chat.says("Carla Dias")
    await chat.says(said)
    assert "OZB-" not in chat.text  # no reservation code
    assert reservations((await chat.saved()).context) == []
