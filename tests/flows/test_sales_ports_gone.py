"""Every port of the boxes that serve the customer taken while they confirm: their interest is
recorded once, and said once (it used to be said twice, the second time as "the fibre will
reach you", which is wrong: it reaches them, the ports are full)."""

from __future__ import annotations

from bot.errors import NoFreePort
from bot.ozmap.client import OzmapClient
from bot.ozmap.models import NewReservation
from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat


async def take_every_port(ozmap: OzmapClient, box: str) -> None:
    for taken in range(100):
        try:
            await ozmap.create_property(
                NewReservation(
                    box=box, lat=-27.5782, lng=-48.5274, address="x",
                    client_code=f"other-{box}-{taken}", client_name="Outra Pessoa", force=False,
                )
            )  # fmt: skip
        except NoFreePort:
            return


async def test_every_port_taken_meanwhile_records_the_interest_once(
    chat: Chat, sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    await chat.says("quero contratar")
    await chat.says("R. Delminda Silveira, 900")
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    assert "Posso reservar" in chat.last_reply.text
    saved = await chat.saved()
    for box in saved.context["sales"]["feasibility"]["boxes"]:
        await take_every_port(ozmap, str(box))
    before = len(list(sandbox.network.docs("prospects")))

    await chat.says("sim, o de 300")
    said = [reply.text for reply in chat.turn_replies]
    assert len(said) == 1, said
    assert "acabaram de ser ocupadas" in said[0] and "Registrei o seu interesse" in said[0]
    assert "fibra chegar" not in chat.text
    prospects = list(sandbox.network.docs("prospects"))
    assert len(prospects) == before + 1
    assert prospects[-1]["name"] == "Gabriel Marioto"
