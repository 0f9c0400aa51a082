"""Several ``ozbot serve`` processes on one database behave as one (issue 10, "several
processes, one system"): a web-chat visitor's cookie from one is good on the others."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from bot.storage.sqlite import SqliteStore
from tests.support.settings import NOWHERE
from tests.web.support import Echo, app_for, channel_settings, make_fakes, running


async def test_a_webchat_session_from_one_process_is_good_on_another(tmp_path: Path) -> None:
    """Without OZBOT_SESSION_SECRET each process signed cookies with its own random key, so a
    load balancer sending a visitor's next request elsewhere lost their session (401)."""
    settings = channel_settings(tmp_path, public_base_url="http://127.0.0.1", session_secret="")
    stores = [SqliteStore(str(tmp_path / "shared.db")) for _ in range(2)]
    for store in stores:
        await store.open()
    apps = [app_for(settings, store=store, **Echo().options(make_fakes())) for store in stores]
    try:
        async with running(apps[0]) as first, running(apps[1]) as second:
            async with httpx.AsyncClient(base_url=first) as visitor:
                page = await visitor.get("/chat")
                cookie = page.cookies["ozbot_chat"]
            async with httpx.AsyncClient(base_url=second, cookies={"ozbot_chat": cookie}) as other:
                posted = await other.post("/chat/api/messages", json={"text": "oi"})
            assert posted.status_code == 202
    finally:
        for store in stores:
            await store.close()


async def test_readyz_does_not_call_ozmap_on_every_probe(tmp_path: Path) -> None:
    """A load balancer probes each process every few seconds: each probe was a request to
    OZmap's API. The answer is kept for a while (one request for a burst of probes, probes
    arriving together share it)."""
    calls: list[str] = []

    def ozmap(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"authenticated": True})

    fakes = make_fakes()
    options = Echo().options(fakes)
    options["http_mounts"] = {**fakes.mounts, NOWHERE: httpx.MockTransport(ozmap)}
    app = app_for(channel_settings(tmp_path), **options)
    async with running(app) as url, httpx.AsyncClient(base_url=url) as probe:
        together = await asyncio.gather(*(probe.get("/readyz") for _ in range(10)))
        one_by_one = [await probe.get("/readyz") for _ in range(10)]
    assert all(r.status_code == 200 for r in together + one_by_one)
    assert len(calls) == 1, calls
