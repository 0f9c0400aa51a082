"""Input no honest client sends, through the real routes on loopback: it gets a 4xx (or, where
the message is still a customer's message, an answer), never a 500; and nothing of it reaches
the logs. Each case here was a 500 or a 503 on every delivery before its fix (issue 10, items
4 and 5). The fuzz corpus over every route is in ``test_fuzz.py``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from bot.web.state import AppState
from tests.fakes.payloads import tg_text, twilio_text
from tests.fakes.twilio_api import signed_post
from tests.storage.conftest import postgres_schema, postgres_url
from tests.web.support import (
    PUBLIC,
    TG_SECRET,
    TW_TOKEN,
    Echo,
    Fakes,
    app_for,
    channel_settings,
    make_fakes,
    running,
)

__all__ = ["postgres_schema", "postgres_url"]  # the fixtures, used through `store_kind`

CHAT = 987654321
CUSTOMER = "5511987654321"
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
NESTED = "[" * 50_000 + "]" * 50_000  # 100 kB: past json's recursion limit
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000  # 17 kB


@dataclass
class Served:
    client: httpx.AsyncClient
    fakes: Fakes
    echo: Echo
    state: AppState
    chat_open: bool = False

    async def telegram(self, body: str | dict[str, Any]) -> httpx.Response:
        content = body if isinstance(body, str) else json.dumps(body)
        return await self.client.post(
            "/webhooks/telegram",
            content=content,
            headers={**TG_HEADERS, "Content-Type": "application/json"},
        )

    async def chat(self, body: str) -> httpx.Response:
        if not self.chat_open:
            self.chat_open = True
            # the cookie is Secure (PUBLIC is https) and this is plain http: hand it over
            page = await self.client.get("/chat")
            self.client.cookies.set("ozbot_chat", page.cookies["ozbot_chat"], path="/chat")
        return await self.client.post(
            "/chat/api/messages", content=body, headers={"Content-Type": "application/json"}
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    fakes, echo = make_fakes(), Echo()
    options = echo.options(fakes)
    store: Store | None = None
    if request.param == "postgres":
        store = PostgresStore(
            request.getfixturevalue("postgres_url"),
            schema=request.getfixturevalue("postgres_schema"),
            max_size=4,
        )
        await store.open()
        options["store"] = store
    app = app_for(channel_settings(tmp_path), sse_seconds=2, **options)
    try:
        async with running(app) as url, httpx.AsyncClient(base_url=url) as client:
            yield Served(client, fakes, echo, app.state.ozbot)
    finally:
        if store is not None:
            await store.close()


async def test_deeply_nested_json_is_400_on_the_webchat_and_telegram(served: Served) -> None:
    for body in (NESTED[:8000], DEEP_OBJECT[:4000] + "}"):
        assert (await served.chat(body)).status_code in (400, 413)
    for body in (NESTED[:60000], DEEP_OBJECT):
        assert (await served.telegram(body)).status_code == 400
    await served.state.dispatcher.join()
    assert served.echo.seen == []


async def test_a_lone_surrogate_in_webchat_text_is_400(served: Served) -> None:
    response = await served.chat('{"text": "oi \\ud800 tudo bem"}')
    assert response.status_code == 400
    await served.state.dispatcher.join()
    assert served.echo.seen == []


async def test_a_lone_surrogate_on_telegram_is_answered_not_redelivered(served: Served) -> None:
    update = json.dumps(tg_text(40, CHAT, "oi SURROGATE tudo bem")).replace("SURROGATE", "\\udc00")
    assert (await served.telegram(update)).status_code == 200
    await served.fakes.telegram.wait_sent(1, CHAT)
    assert served.fakes.telegram.texts(CHAT) == ["echo: oi \ufffd tudo bem"]


async def test_a_nul_in_a_text_or_a_name_is_answered_and_kept_out_of_the_logs(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    update = tg_text(41, CHAT, "meu cpf\u0000 secreto", first_name="Jo\u0000ana")
    assert (await served.telegram(update)).status_code == 200
    await served.fakes.telegram.wait_sent(1, CHAT)
    assert served.fakes.telegram.texts(CHAT) == ["echo: meu cpf secreto"]
    form = twilio_text(CUSTOMER, "oi\u0000 de novo")
    form["ProfileName"] = "Ma\u0000ria"
    answer = await served.client.post(
        "/webhooks/twilio", **signed_post(PUBLIC + "/webhooks/twilio", form, TW_TOKEN)
    )
    assert answer.status_code == 200
    await served.fakes.twilio.wait_sent(1, CUSTOMER)
    await served.state.dispatcher.join()
    conversation = await served.state.runtime.store.load(f"telegram:{CHAT}")
    assert conversation is not None and "\x00" not in json.dumps(conversation.context)
    for leaked in ("secreto", "de novo", CUSTOMER, str(CHAT), "\x00", "CONTEXT"):
        assert leaked not in caplog.text
