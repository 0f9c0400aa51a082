"""Customers complete the sales flow through the real webhook routes: the real engine, flows,
SQLite store and catalogs behind ``ozbot serve``'s app on loopback, the OZmap sandbox, the
offline geocoder, and the messenger fakes where Telegram and Twilio would be.

The customers act on what they are shown: a Telegram customer taps the inline buttons the fake
received (sending back their callback data), a WhatsApp customer types the number printed next
to an option, or taps a quick reply's button when Content SIDs are configured.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.i18n import Catalogs
from bot.ozmap.sandbox import RunningSandbox
from bot.web.state import AppState
from tests.fakes.payloads import (
    tg_callback,
    tg_location,
    tg_text,
    twilio_button,
    twilio_location,
    twilio_text,
)
from tests.fakes.twilio_api import SentMessage, signed_post
from tests.web.support import (
    PUBLIC,
    TG_SECRET,
    TW_TOKEN,
    Fakes,
    app_for,
    channel_settings,
    make_fakes,
    running,
)

CODE = re.compile(r"(OZB-[A-Z2-9]{6})")
COVERED = "R. Delminda Silveira, 900"
QUICK = ("HX" + "1" * 32, "HX" + "2" * 32, "HX" + "3" * 32)
t = Catalogs.load(strict=True).translator("pt_BR")


@asynccontextmanager
async def serve(
    tmp_path: Path, sandbox: RunningSandbox, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Fakes, AppState]]:
    fakes = make_fakes(content_sids=QUICK)
    settings = channel_settings(tmp_path, sandbox, **overrides)
    app = app_for(settings, http_mounts=fakes.mounts)
    async with running(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client, fakes, app.state.ozbot


class TelegramCustomer:
    def __init__(
        self, client: httpx.AsyncClient, fakes: Fakes, state: AppState, chat_id: int
    ) -> None:
        self.client, self.fakes, self.state, self.chat_id = client, fakes, state, chat_id
        self._ids = itertools.count(chat_id % 10_000 * 1000)
        self._read = 0
        self.replies: list[dict[str, Any]] = []

    async def _deliver(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self.client.post(
            "/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
        )
        assert response.status_code == 200
        await self.fakes.telegram.webhook_answer(response)  # as Telegram does with it
        await self.state.dispatcher.join()
        sent = self.fakes.telegram.sent(self.chat_id)
        self.replies = [c.params for c in sent[self._read :]]
        self._read = len(sent)
        assert self.replies, "the bot did not answer"
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.replies)

    def buttons(self) -> list[str]:
        """The callback data of the inline keyboards in the last answer."""
        return [
            button["callback_data"]
            for reply in self.replies
            for row in (reply.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]

    async def says(self, text: str) -> None:
        await self._deliver(tg_text(next(self._ids), self.chat_id, text))

    async def pins(self, lat: float, lng: float) -> None:
        await self._deliver(tg_location(next(self._ids), self.chat_id, lat, lng))

    async def taps(self, payload: str) -> None:
        assert payload in self.buttons(), f"{payload!r} not on screen: {self.buttons()}"
        await self._deliver(tg_callback(next(self._ids), self.chat_id, payload))


class WhatsappCustomer:
    def __init__(
        self, client: httpx.AsyncClient, fakes: Fakes, state: AppState, number: str
    ) -> None:
        self.client, self.fakes, self.state, self.number = client, fakes, state, number
        self._read = 0
        self.replies: list[SentMessage] = []

    async def _deliver(self, form: dict[str, str]) -> None:
        response = await self.client.post(
            "/webhooks/twilio", **signed_post(PUBLIC + "/webhooks/twilio", form, TW_TOKEN)
        )
        assert response.status_code == 200
        await self.state.dispatcher.join()
        sent = self.fakes.twilio.to(self.number)
        self.replies = sent[self._read :]
        self._read = len(sent)
        assert self.replies, "the bot did not answer"

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.replies)

    async def says(self, text: str) -> None:
        await self._deliver(twilio_text(self.number, text))

    async def pins(self, lat: float, lng: float) -> None:
        await self._deliver(twilio_location(self.number, lat, lng))

    async def chooses(self, label: str) -> None:
        """Type the number printed next to ``label`` (options as numbered text)."""
        found = re.search(rf"^(\d+)\. {re.escape(label)}$", self.text, re.MULTILINE)
        assert found, f"{label!r} not offered in: {self.text}"
        await self.says(found.group(1))

    async def taps(self, label: str) -> None:
        """Tap the quick-reply button titled ``label``."""
        quick = [m for m in self.replies if "ContentSid" in m.fields]
        assert quick, f"no quick reply in: {self.text}"
        variables = quick[-1].content_variables
        titles = {
            variables[k]: variables[str(int(k) + 1)]
            for k in variables
            if k != "1" and int(k) % 2 == 0
        }
        assert label in titles, f"{label!r} not on screen: {list(titles)}"
        await self._deliver(twilio_button(self.number, titles[label], label))


def reservation(sandbox: RunningSandbox, text: str) -> dict[str, Any]:
    found = CODE.search(text)
    assert found, text
    client = sandbox.network.client_by_code(found.group(1))
    assert client is not None and client["implanted"] is False
    (prop,) = sandbox.network.properties_of_client(client["_id"])
    return dict(prop)


async def test_telegram_customer_reserves_with_taps_and_a_location_pin(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    covered = sandbox.network.samples["covered"]
    async with serve(tmp_path, sandbox) as (client, fakes, state):
        ana = TelegramCustomer(client, fakes, state, chat_id=552233)
        await ana.says("/start")
        assert "intent:sales" in ana.buttons()
        await ana.taps("intent:sales")
        assert ana.replies[-1]["reply_markup"]["keyboard"][0][0]["request_location"] is True
        await ana.pins(covered["lat"], covered["lng"])
        assert "Rua Delminda Silveira, 900" in ana.text
        await ana.taps("yes")
        assert "a nossa fibra chega aí" in ana.text
        await ana.says("Ana Souza")
        assert "• Nome: Ana Souza" in ana.text
        await ana.taps("yes")
        prop = reservation(sandbox, ana.text)
        assert str(prop["address"]).startswith("Rua Delminda Silveira, 900")
        answered = [c for c in fakes.telegram.calls if c.method == "answerCallbackQuery"]
        assert len(answered) == 3  # every tap's spinner was stopped


async def test_whatsapp_customer_reserves_by_typing_option_numbers(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    async with serve(tmp_path, sandbox) as (client, fakes, state):
        bruno = WhatsappCustomer(client, fakes, state, "5548991234567")
        await bruno.says("oi")
        await bruno.chooses(t("menu.option.sales"))
        assert "📎" in bruno.text  # the location hint WhatsApp gets instead of a button
        await bruno.says(COVERED)
        await bruno.chooses(t("sales.button.right_address"))
        assert "a nossa fibra chega aí" in bruno.text
        await bruno.says("Bruno Lima")
        await bruno.chooses(t("sales.button.reserve"))
        prop = reservation(sandbox, bruno.text)
        assert str(prop["address"]).startswith("Rua Delminda Silveira, 900")
        assert state.whatsapp is not None
        assert await state.whatsapp.window_open("5548991234567")


async def test_whatsapp_customer_with_quick_replies_and_a_pin(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    covered = sandbox.network.samples["covered"]
    async with serve(tmp_path, sandbox, twilio_quick_reply_sids=QUICK) as (client, fakes, state):
        carla = WhatsappCustomer(client, fakes, state, "5548998887777")
        await carla.says("quero contratar")
        await carla.pins(covered["lat"], covered["lng"])
        await carla.taps(t("sales.button.right_address"))
        await carla.says("Carla Dias")
        await carla.taps(t("sales.button.reserve"))
        reservation(sandbox, carla.text)


async def test_a_redelivered_webhook_does_not_reserve_twice(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    async with serve(tmp_path, sandbox) as (client, fakes, state):
        dora = WhatsappCustomer(client, fakes, state, "5548997776666")
        await dora.says("oi")
        await dora.chooses(t("menu.option.sales"))
        await dora.says(COVERED)
        await dora.chooses(t("sales.button.right_address"))
        await dora.says("Dora Reis")
        number = re.search(rf"^(\d+)\. {re.escape(t('sales.button.reserve'))}$", dora.text, re.M)
        assert number
        form = twilio_text(dora.number, number.group(1))
        for _ in range(2):  # Twilio retried: the same MessageSid twice
            request = signed_post(PUBLIC + "/webhooks/twilio", form, TW_TOKEN)
            assert (await client.post("/webhooks/twilio", **request)).status_code == 200
        await state.dispatcher.join()
        codes = {c for m in fakes.twilio.to(dora.number) for c in CODE.findall(m.text)}
        assert len(codes) == 1
        reservation(sandbox, " ".join(codes))
