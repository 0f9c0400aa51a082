"""Several ``ozbot serve`` processes on one database behave as one (issue 10, "several
processes, one system"): a web-chat visitor's cookie from one is good on the others."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.agents import create_agent
from bot.ozmap.sandbox import RunningSandbox
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from bot.web.state import AppState
from tests.fakes.payloads import tg_text
from tests.storage.conftest import postgres_schema, postgres_url
from tests.support.settings import NOWHERE
from tests.web.support import TG_SECRET, Echo, app_for, channel_settings, make_fakes, running

__all__ = ["postgres_schema", "postgres_url"]  # fixtures


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


# -- two processes on one PostgreSQL: LISTEN/NOTIFY ----------------------------------------------


@asynccontextmanager
async def _two_processes(
    postgres_url: str, schema: str, tmp_path: Path, sandbox: RunningSandbox | None, **options: Any
) -> AsyncIterator[tuple[list[str], list[AppState]]]:
    """Two ``ozbot serve`` apps (each its own store, pool, listener and event loop tasks) on
    one PostgreSQL schema, as two processes behind a load balancer would be."""
    settings = channel_settings(tmp_path, sandbox, public_base_url="http://127.0.0.1")
    stores = [PostgresStore(postgres_url, schema=schema, max_size=4) for _ in range(2)]
    for store in stores:
        await store.open()
    apps = [app_for(settings, store=s, sse_seconds=8, **options) for s in stores]
    try:
        async with running(apps[0]) as first, running(apps[1]) as second:
            yield [first, second], [app.state.ozbot for app in apps]
    finally:
        for store in stores:
            await store.close()


async def _sse(client: httpx.AsyncClient, path: str, event: str, ready: asyncio.Event) -> Any:
    """The data of the first ``event`` on the stream at ``path``."""
    async with client.stream("GET", path) as stream:
        assert stream.status_code == 200
        ready.set()
        name = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == event:
                return json.loads(line.removeprefix("data: "))
    raise AssertionError(f"the stream ended without a {event} event")


@pytest.mark.postgres
async def test_a_webchat_reply_reaches_the_page_open_on_another_process(
    postgres_url: str, postgres_schema: str, tmp_path: Path
) -> None:
    async with _two_processes(
        postgres_url, postgres_schema, tmp_path, None, **Echo().options(make_fakes())
    ) as (urls, states):
        async with httpx.AsyncClient(base_url=urls[0]) as on_first:
            cookie = (await on_first.get("/chat")).cookies["ozbot_chat"]
        cookies = {"ozbot_chat": cookie}
        async with (
            httpx.AsyncClient(base_url=urls[0], cookies=cookies) as poster,
            httpx.AsyncClient(base_url=urls[1], cookies=cookies, timeout=15) as page,
        ):
            listening = asyncio.Event()
            reply = asyncio.create_task(_sse(page, "/chat/api/events", "reply", listening))
            await listening.wait()
            await asyncio.sleep(0.2)  # the stream has subscribed
            posted = await poster.post("/chat/api/messages", json={"id": "m1", "text": "oi"})
            assert posted.status_code == 202
            assert (await reply)["text"] == "echo: oi"
        await states[0].dispatcher.join()
        # the process that ran the turn forgets the reply once the other page had it
        await asyncio.sleep(0.5)
        async with states[0].webchat.subscribe(states[0].sessions.loads(cookie)) as queue:
            assert queue.empty()


@pytest.mark.postgres
async def test_the_agents_queue_on_one_process_hears_a_handoff_on_another(
    postgres_url: str, postgres_schema: str, tmp_path: Path, sandbox: RunningSandbox
) -> None:
    fakes = make_fakes()
    async with _two_processes(
        postgres_url, postgres_schema, tmp_path, sandbox, http_mounts=fakes.mounts
    ) as (urls, states):
        await create_agent(states[1].runtime.store, "maria", "correct horse battery")
        async with httpx.AsyncClient(base_url=urls[1], timeout=15) as agent:
            form = await agent.get("/console/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token
            login = await agent.post(
                "/console/login",
                data={"csrf": token.group(1), "name": "maria", "password": "correct horse battery"},
                headers={"Origin": urls[1]},
            )
            assert login.status_code == 303
            listening = asyncio.Event()
            change = asyncio.create_task(_sse(agent, "/console/api/events", "change", listening))
            await listening.wait()
            await asyncio.sleep(0.2)
            async with httpx.AsyncClient(base_url=urls[0]) as telegram:
                said = await telegram.post(
                    "/webhooks/telegram",
                    json=tg_text(1, 5501, "quero falar com um atendente"),
                    headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                )
                assert said.status_code == 200
            heard = await change
        ticket = await states[1].runtime.store.open_handoff("telegram:5501")
        assert ticket is not None
        assert heard == {"kind": "queued", "ticket": ticket.id}


@pytest.mark.postgres
async def test_tabs_of_one_visitor_on_two_processes_both_get_the_reply(
    postgres_url: str, postgres_schema: str, tmp_path: Path
) -> None:
    async with _two_processes(
        postgres_url, postgres_schema, tmp_path, None, **Echo().options(make_fakes())
    ) as (urls, _):
        async with httpx.AsyncClient(base_url=urls[0]) as on_first:
            cookie = (await on_first.get("/chat")).cookies["ozbot_chat"]
        cookies = {"ozbot_chat": cookie}
        tabs = [httpx.AsyncClient(base_url=url, cookies=cookies, timeout=15) for url in urls]
        try:
            listening = [asyncio.Event(), asyncio.Event()]
            replies = [
                asyncio.create_task(_sse(tab, "/chat/api/events", "reply", ready))
                for tab, ready in zip(tabs, listening, strict=True)
            ]
            for ready in listening:
                await ready.wait()
            await asyncio.sleep(0.2)
            posted = await tabs[0].post("/chat/api/messages", json={"id": "t1", "text": "oi"})
            assert posted.status_code == 202
            assert [(await r)["text"] for r in replies] == ["echo: oi", "echo: oi"]
        finally:
            for tab in tabs:
                await tab.aclose()
