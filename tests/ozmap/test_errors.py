"""OZmap's error answers in every plausible shape: OZmap documents the status codes but not the
body (docs/ozmap-api.md section 1), so a refusal must be understood, "no free port" above all
(the reservation then tries the next box), however the body is laid out. The sandbox answers in
each shape (``error_shape``, bot/ozmap/sandbox/errors.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.errors import NoFreePort, OzmapNotFound, OzmapRejected
from bot.ozmap import NewReservation, OzmapClient
from bot.ozmap.sales import Booking, SalesDesk
from bot.ozmap.sandbox import BOX_900, THREE_FREE_PORTS_BOX, RunningSandbox
from bot.ozmap.sandbox.errors import ERROR_SHAPES
from tests.ozmap.fake_ozmap import FakeOzmap, client_for
from tests.ozmap.test_sales import fill

MESSAGE = "CTO-07 has no free client port: check feasibility again"
RESERVATION = NewReservation(
    box=BOX_900, lat=-27.5782, lng=-48.5274, address="x", client_code="c", client_name="n"
)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(422, json={"message": MESSAGE, "error": "NO_FREE_PORT", "status": 422}),
        httpx.Response(422, json={"error": "NO_FREE_PORT"}),
        httpx.Response(400, json={"error": MESSAGE}),
        httpx.Response(400, json={"errors": [{"message": MESSAGE, "code": "NO_FREE_PORT"}]}),
        httpx.Response(400, json={"error": {"code": "NO_FREE_PORT", "message": "sem vaga"}}),
        httpx.Response(400, json={"statusCode": 400, "message": [MESSAGE], "error": "Bad Request"}),
        httpx.Response(400, json={"msg": "Não há porta disponível nesta caixa"}),
        httpx.Response(400, text=MESSAGE),
    ],
)
async def test_no_free_port_in_any_shape(
    fake: FakeOzmap, http: httpx.AsyncClient, answer: httpx.Response
) -> None:
    fake.on("POST", "properties", answer)
    with pytest.raises(NoFreePort):
        await client_for(fake, http).create_property(RESERVATION)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(409, json={"error": "client code already in use"}), "already in use"),
        (httpx.Response(409, json={"error": {"message": "código duplicado"}}), "duplicado"),
        (httpx.Response(409, json={"error": "DUPLICATE_CODE"}), "HTTP 409"),
        (httpx.Response(400, text="<html><body>Bad Request</body></html>"), "HTTP 400"),
        (httpx.Response(400, json=["first problem", "second"]), "first problem"),
    ],
)
async def test_other_refusals_keep_their_message(
    fake: FakeOzmap, http: httpx.AsyncClient, answer: httpx.Response, message: str
) -> None:
    fake.on("POST", "properties", answer)
    with pytest.raises(OzmapRejected, match=message) as caught:
        await client_for(fake, http).create_property(RESERVATION)
    assert type(caught.value) is OzmapRejected


@pytest.fixture
async def ozmap(sandbox: RunningSandbox) -> AsyncIterator[OzmapClient]:
    async with httpx.AsyncClient() as http:
        yield OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0)


def booking(sandbox: RunningSandbox, code: str) -> Booking:
    covered: dict[str, Any] = sandbox.network.samples["covered"]
    return Booking(code, "Gabriel Marioto", covered["lat"], covered["lng"], covered["address"])


@pytest.mark.parametrize("shape", ERROR_SHAPES)
async def test_the_sandbox_in_every_error_shape(
    sandbox: RunningSandbox, ozmap: OzmapClient, shape: str
) -> None:
    sandbox.sandbox.error_shape = shape
    fill(sandbox, BOX_900)
    # a full box is read as "no free port" whatever the shape: on to the next box
    made = await SalesDesk(ozmap).reserve(
        booking(sandbox, f"shape-{shape}"), [BOX_900, THREE_FREE_PORTS_BOX]
    )
    assert made is not None and made.box == THREE_FREE_PORTS_BOX
    with pytest.raises(OzmapNotFound, match=r"no boxes element|not found"):
        await ozmap.create_property(
            RESERVATION.model_copy(update={"box": "0" * 24, "client_code": f"x-{shape}"})
        )
    with pytest.raises(OzmapRejected, match="code") as caught:
        await ozmap.create_property(
            RESERVATION.model_copy(
                update={"box": THREE_FREE_PORTS_BOX, "client_code": f"shape-{shape}"}
            )
        )
    assert caught.value.status == 409 and type(caught.value) is OzmapRejected
