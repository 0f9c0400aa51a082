"""The console under test: ``ozbot serve``'s real app (real engine, flows, SQLite store) on
loopback against the OZmap sandbox and the messenger fakes; customers that speak through the
real webhook routes; agents that log in over HTTP as a browser would (login form token, Origin,
CSRF header)."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.agents import create_agent
from bot.i18n import Catalogs
from bot.ozmap.sandbox import RunningSandbox
from bot.web.state import AppState
from tests.fakes.payloads import tg_text, twilio_text
from tests.fakes.twilio_api import signed_post
from tests.web.support import (
    TG_SECRET,
    TW_TOKEN,
    Fakes,
    app_for,
    channel_settings,
    make_fakes,
    running,
)

PASSWORD = "correct horse battery"
COVERED = "R. Delminda Silveira, 900"
_update_ids = itertools.count(7000)


@dataclass
class Served:
    url: str
    state: AppState
    fakes: Fakes
    sandbox: RunningSandbox

    async def add_agent(self, name: str, password: str = PASSWORD) -> None:
        await create_agent(self.state.runtime.store, name, password)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, follow_redirects=False)


@asynccontextmanager
async def serve_console(
    tmp_path: Path, sandbox: RunningSandbox, **overrides: Any
) -> AsyncIterator[Served]:
    fakes = make_fakes()
    settings = channel_settings(tmp_path, sandbox, **overrides)
    app = app_for(settings, http_mounts=fakes.mounts, sse_seconds=5)
    async with running(app) as url:
        yield Served(url, app.state.ozbot, fakes, sandbox)


class TelegramCustomer:
    """A Telegram user writing to the bot through the real webhook."""

    def __init__(self, served: Served, chat_id: int) -> None:
        self.served, self.chat_id = served, chat_id

    async def says(self, text: str) -> None:
        async with httpx.AsyncClient(base_url=self.served.url) as http:
            response = await http.post(
                "/webhooks/telegram",
                json=tg_text(next(_update_ids), self.chat_id, text),
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
            )
        assert response.status_code == 200
        await self.served.state.dispatcher.join()

    @property
    def received(self) -> list[str]:
        return self.served.fakes.telegram.texts(self.chat_id)

    def buttons(self) -> list[str]:
        return [
            button["callback_data"]
            for call in self.served.fakes.telegram.sent(self.chat_id)[-1:]
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]


class WhatsappCustomer:
    """A WhatsApp user writing to the bot through the real (signed) Twilio webhook."""

    def __init__(self, served: Served, number: str) -> None:
        self.served, self.number = served, number
        # Twilio signs the URL it was given: the public one
        self.public = served.state.settings.public_base_url.rstrip("/")

    async def says(self, text: str) -> None:
        form = twilio_text(self.number, text)
        async with httpx.AsyncClient(base_url=self.served.url) as http:
            response = await http.post(
                "/webhooks/twilio", **signed_post(self.public + "/webhooks/twilio", form, TW_TOKEN)
            )
        assert response.status_code == 200
        await self.served.state.dispatcher.join()

    @property
    def received(self) -> list[str]:
        return [m.text for m in self.served.fakes.twilio.to(self.number)]


class AgentClient:
    """An agent's browser session over HTTP: login through the form, then the JSON API with
    the page's CSRF token and the site's Origin."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.http = served.client()
        self.csrf = ""

    @property
    def origin(self) -> dict[str, str]:
        return {"Origin": self.served.url}

    async def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        form = await self.http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        response = await self.http.post(
            "/console/login",
            data={"csrf": token.group(1), "name": name, "password": password},
            headers=self.origin,
        )
        if response.status_code == 303:
            page = await self.http.get("/console/")
            found = re.search(r'data-csrf="([^"]+)"', page.text)
            assert found, page.text
            self.csrf = found.group(1)
        return response

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def post(self, path: str, body: Any = None, **headers: str) -> httpx.Response:
        sent = {**self.origin, "X-CSRF-Token": self.csrf, **headers}
        return await self.http.post(path, json=body or {}, headers=sent)

    async def queue(self) -> list[dict[str, Any]]:
        response = await self.get("/console/api/queue")
        assert response.status_code == 200, response.text
        tickets: list[dict[str, Any]] = response.json()["tickets"]
        return tickets

    async def aclose(self) -> None:
        await self.http.aclose()


async def reserve_then_ask_for_a_person(served: Served, number: str) -> str:
    """A WhatsApp customer reserves a port (options typed as numbers), then asks for a person;
    returns the reservation's client code."""
    t = Catalogs.load(strict=True).translator("pt_BR")
    customer = WhatsappCustomer(served, number)

    def choose(label: str) -> str:
        found = re.search(rf"^(\d+)\. {re.escape(label)}$", customer.received[-1], re.M)
        assert found, customer.received[-1]
        return found.group(1)

    await customer.says("quero contratar")
    await customer.says(COVERED)
    await customer.says(choose(t("sales.button.right_address")))
    await customer.says("Bruno Lima")
    await customer.says(choose(t("sales.button.reserve")))
    code = re.search(r"OZB-[A-Z2-9]{6}", customer.received[-1])
    assert code, customer.received[-1]
    await customer.says("atendente")
    return code.group(0)
