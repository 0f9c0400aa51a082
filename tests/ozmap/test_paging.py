"""The client reads every row however the server pages: OZmap does not say where ``nextUrl``
carries the position, so the sandbox pages by ``start`` (what the SDK follows), by ``page`` in
``nextUrl``, or with no ``nextUrl`` at all (``paging_style``, bot/ozmap/sandbox/lists.py)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.ozmap import OzmapClient
from bot.ozmap.sandbox import RunningSandbox
from bot.ozmap.sandbox.lists import PAGING_STYLES


@pytest.fixture
def sent() -> list[httpx.Request]:
    return []


@pytest.fixture
async def http(sent: list[httpx.Request]) -> AsyncIterator[httpx.AsyncClient]:
    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        yield client


@pytest.mark.parametrize("style", PAGING_STYLES)
async def test_every_row_once_one_page_at_a_time(
    sandbox: RunningSandbox, http: httpx.AsyncClient, sent: list[httpx.Request], style: str
) -> None:
    sandbox.sandbox.paging_style = style
    ozmap = OzmapClient(http, sandbox.url, sandbox.token, page_size=5, backoff=0.0)
    covered = sandbox.network.samples["covered"]
    boxes = await ozmap.boxes_near(covered["lat"], covered["lng"], 50_000)
    implanted = [b for b in sandbox.network.docs("boxes") if b.get("implanted", True)]
    assert len(boxes) == len({b.id for b in boxes}) >= len(implanted) > 10
    assert len(sent) == math.ceil(len(boxes) / 5)

    sent.clear()
    tags = await OzmapClient(http, sandbox.url, sandbox.token, page_size=1).tags()
    assert len(tags) == len(list(sandbox.network.docs("tags"))) > 2
    assert len(sent) == len(tags)


@pytest.mark.parametrize("style", PAGING_STYLES)
async def test_the_envelope_of_each_style(sandbox: RunningSandbox, style: str) -> None:
    sandbox.sandbox.paging_style = style
    async with httpx.AsyncClient(
        base_url=sandbox.api_url, headers={"Authorization": sandbox.token}
    ) as api:
        first = (await api.get("/tags", params={"limit": 1})).json()
    assert (first["total"], first["count"], first["start"], first["limit"]) == (
        first["total"], 1, 0, 1
    )  # fmt: skip
    if style == "total":
        assert "hasNextPage" not in first and "nextUrl" not in first
    else:
        assert first["hasNextPage"] is True
        assert ("page=2" if style == "page" else "start=1") in first["nextUrl"]
