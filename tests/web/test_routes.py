"""The real routes over loopback HTTP (uvicorn, lifespan and all), with recorded payload shapes
in, the messenger fakes at the shared client's transport, and the composed bot running an echo
flow instead of the product's (the end-to-end tests in test_end_to_end.py run those)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.errors import StorageError
from bot.ozmap.sandbox import RunningSandbox
from bot.web.state import AppState
from tests.fakes.payloads import (
    tg_callback,
    tg_contact,
    tg_location,
    tg_text,
    twilio_button,
    twilio_location,
    twilio_status,
    twilio_text,
)
from tests.fakes.twilio_api import signed_post
from tests.support.outage import ozmap_down
from tests.web.support import (
    PUBLIC,
    TG_SECRET,
    TG_TOKEN,
    TW_TOKEN,
    Echo,
    Fakes,
    app_for,
    channel_settings,
    make_fakes,
    running,
)

CHAT = 987654321
CUSTOMER = "5511987654321"
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


@dataclass
class Served:
    client: httpx.AsyncClient
    fakes: Fakes
    echo: Echo
    state: AppState

    async def settle(self) -> None:
        """Wait until every accepted message has been processed."""
        await self.state.dispatcher.join()

    async def telegram(
        self, update: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.post(
            "/webhooks/telegram", json=update, headers=TG_HEADERS if headers is None else headers
        )

    async def twilio(
        self, form: dict[str, str], path: str = "/webhooks/twilio", signed_as: str | None = None
    ) -> httpx.Response:
        request = signed_post(signed_as or PUBLIC + path, form, TW_TOKEN)
        return await self.client.post(path, **request)


@pytest.fixture
async def served(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Served]:
    fakes, echo = make_fakes(), Echo()
    # OZmap asked on every /readyz (0 s), so a test sees it go down at once
    app = app_for(
        channel_settings(tmp_path, sandbox), sse_seconds=3, ozmap_probe_ttl=0, **echo.options(fakes)
    )
    async with running(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield Served(client, fakes, echo, app.state.ozbot)


# --- Telegram --------------------------------------------------------------------------------


async def test_telegram_text_is_answered_through_the_bot_api(served: Served) -> None:
    response = await served.telegram(tg_text(1, CHAT, "oi"))
    assert response.status_code == 200
    (call,) = await served.fakes.telegram.wait_sent(1, CHAT)
    assert call.params["text"] == "echo: oi"
    assert served.echo.seen[0].provider_id == "tg:1"


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
async def test_telegram_without_the_secret_is_refused_and_not_processed(
    served: Served, headers: dict[str, str]
) -> None:
    response = await served.telegram(tg_text(2, CHAT, "oi"), headers=headers)
    assert response.status_code == 403
    await served.settle()
    assert served.echo.seen == []
    assert served.fakes.telegram.calls == []


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[1, 2]", 400), (b'{"update_id": "x"}', 400), (b"\xff\xfe", 400)],
)
async def test_telegram_malformed_bodies_are_400_not_500(
    served: Served, body: bytes, status: int
) -> None:
    response = await served.client.post("/webhooks/telegram", content=body, headers=TG_HEADERS)
    assert response.status_code == status
    await served.settle()
    assert served.echo.seen == []


async def test_telegram_updates_we_do_not_serve_are_acknowledged_and_dropped(
    served: Served,
) -> None:
    group = tg_text(3, -100555, "oi")
    group["message"]["chat"] = {"id": -100555, "type": "supergroup", "title": "Rua 7"}
    assert (await served.telegram(group)).status_code == 200
    await served.settle()
    assert served.echo.seen == []


async def test_telegram_button_tap_is_acknowledged_in_the_answer_and_answered(
    served: Served,
) -> None:
    response = await served.telegram(tg_callback(4, CHAT, "intent:sales", query_id="cbq-1"))
    assert response.status_code == 200
    assert response.json() == {"method": "answerCallbackQuery", "callback_query_id": "cbq-1"}
    (call,) = await served.fakes.telegram.wait_sent(1, CHAT)
    await served.settle()
    assert call.params["text"] == "echo: intent:sales"
    # the bot made no call of its own: Telegram makes the one in the answer
    assert [c.method for c in served.fakes.telegram.calls] == ["sendMessage"]
    assert await served.fakes.telegram.webhook_answer(response) == {"ok": True, "result": True}
    answered = [c for c in served.fakes.telegram.calls if c.method == "answerCallbackQuery"]
    assert [c.params["callback_query_id"] for c in answered] == ["cbq-1"]


async def test_a_redelivered_tap_is_acknowledged_again_and_answered_once(served: Served) -> None:
    tap = tg_callback(7, CHAT, "intent:sales", query_id="cbq-2")
    first = await served.telegram(tap)
    await served.fakes.telegram.wait_sent(1, CHAT)
    again = await served.telegram(tap)  # Telegram did not get the first answer
    await served.settle()
    call = {"method": "answerCallbackQuery", "callback_query_id": "cbq-2"}
    assert first.json() == again.json() == call
    assert served.fakes.telegram.texts(CHAT) == ["echo: intent:sales"]


async def test_a_text_message_is_answered_with_an_empty_200(served: Served) -> None:
    response = await served.telegram(tg_text(8, CHAT, "oi"))
    assert response.status_code == 200
    assert response.content == b""


async def test_telegram_location_and_contact(served: Served) -> None:
    await served.telegram(tg_location(5, CHAT, -23.5505, -46.6333))
    await served.telegram(tg_contact(6, CHAT, "+5511912345678"))
    calls = await served.fakes.telegram.wait_sent(2, CHAT)
    assert [c.params["text"] for c in calls] == ["echo: -23.5505,-46.6333", "echo: phone 78"]


async def test_telegram_buttons_and_location_request_render_as_keyboards(served: Served) -> None:
    await served.telegram(tg_text(7, CHAT, "buttons"))
    await served.telegram(tg_text(8, CHAT, "where"))
    first, second = await served.fakes.telegram.wait_sent(2, CHAT)
    assert [row[0]["callback_data"] for row in first.params["reply_markup"]["inline_keyboard"]] == [
        "intent:sales",
        "intent:outage",
    ]
    assert second.params["reply_markup"]["keyboard"][0][0] == {
        "text": "📍 Enviar minha localização",
        "request_location": True,
    }


async def test_the_same_update_delivered_twice_gets_one_reply(served: Served) -> None:
    update = tg_text(9, CHAT, "oi")
    first, second = await asyncio.gather(served.telegram(update), served.telegram(update))
    assert first.status_code == second.status_code == 200
    await served.settle()
    assert served.fakes.telegram.texts(CHAT) == ["echo: oi"]


async def test_two_messages_arriving_together_are_answered_in_order(served: Served) -> None:
    gate = asyncio.Event()
    served.echo.gate = gate  # both are accepted before either is processed
    for update_id, text in ((10, "primeira"), (11, "segunda"), (12, "terceira")):
        assert (await served.telegram(tg_text(update_id, CHAT, text))).status_code == 200
    gate.set()
    await served.fakes.telegram.wait_sent(3, CHAT)
    assert served.fakes.telegram.texts(CHAT) == [
        "echo: primeira",
        "echo: segunda",
        "echo: terceira",
    ]


async def test_an_oversized_body_is_413(served: Served) -> None:
    big = tg_text(13, CHAT, "x" * 100_000)
    assert (await served.telegram(big)).status_code == 413


# --- Twilio ----------------------------------------------------------------------------------


async def test_twilio_text_gets_empty_twiml_and_a_reply_through_the_api(served: Served) -> None:
    response = await served.twilio(twilio_text(CUSTOMER, "oi"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    (message,) = await served.fakes.twilio.wait_sent(1, CUSTOMER)
    assert message.body == "echo: oi"
    assert message.fields["StatusCallback"] == PUBLIC + "/webhooks/twilio/status"


async def test_twilio_location_and_button(served: Served) -> None:
    await served.twilio(twilio_location(CUSTOMER, -23.561, -46.656, label="Casa"))
    await served.twilio(twilio_button(CUSTOMER, "intent:outage", "Falha"))
    messages = await served.fakes.twilio.wait_sent(2, CUSTOMER)
    assert [m.body for m in messages] == ["echo: -23.5610,-46.6560", "echo: intent:outage"]


async def test_twilio_numbered_options_and_location_hint(served: Served) -> None:
    await served.twilio(twilio_text(CUSTOMER, "buttons"))
    await served.twilio(twilio_text(CUSTOMER, "where"))
    first, second = await served.fakes.twilio.wait_sent(2, CUSTOMER)
    assert first.body is not None and first.body.endswith("\n1. Contratar\n2. Falha")
    assert second.body is not None and "📎" in second.body


@pytest.mark.parametrize("how", ["bad", "missing", "internal-url", "other-path"])
async def test_twilio_unsigned_or_missigned_is_refused_and_not_processed(
    served: Served, how: str
) -> None:
    form = twilio_text(CUSTOMER, "oi")
    if how == "bad":
        request = signed_post(PUBLIC + "/webhooks/twilio", form, "not-the-auth-token")
    elif how == "missing":
        request = signed_post(PUBLIC + "/webhooks/twilio", form, TW_TOKEN)
        del request["headers"]["X-Twilio-Signature"]
    elif how == "internal-url":  # signed for the URL the app sees, not the public one
        request = signed_post(str(served.client.base_url) + "/webhooks/twilio", form, TW_TOKEN)
    else:
        request = signed_post(PUBLIC + "/webhooks/twilio/status", form, TW_TOKEN)
    response = await served.client.post("/webhooks/twilio", **request)
    assert response.status_code == 403
    await served.settle()
    assert served.echo.seen == []
    assert served.fakes.twilio.messages == []


async def test_a_webhook_url_with_a_query_is_verified_with_it(served: Served) -> None:
    """Twilio signs the whole URL it was given, query included (a console may add one)."""
    form = twilio_text(CUSTOMER, "oi")
    path = "/webhooks/twilio?tenant=7&x=%C3%A9"
    without = signed_post(PUBLIC + "/webhooks/twilio", form, TW_TOKEN)
    assert (await served.client.post(path, **without)).status_code == 403
    response = await served.client.post(path, **signed_post(PUBLIC + path, form, TW_TOKEN))
    assert response.status_code == 200
    (message,) = await served.fakes.twilio.wait_sent(1, CUSTOMER)
    assert message.fields["Body"] == "echo: oi"


async def test_the_same_message_sid_twice_gets_one_reply(served: Served) -> None:
    form = twilio_text(CUSTOMER, "oi", message_sid="SM" + "d" * 32)
    for _ in range(2):
        assert (await served.twilio(form)).status_code == 200
    await served.settle()
    assert [m.body for m in served.fakes.twilio.messages] == ["echo: oi"]


async def test_twilio_malformed_is_400_and_wrong_type_415(served: Served) -> None:
    form = twilio_text(CUSTOMER, "oi")
    del form["MessageSid"], form["SmsMessageSid"]
    assert (await served.twilio(form)).status_code == 400
    response = await served.client.post("/webhooks/twilio", json={"Body": "oi"})
    assert response.status_code == 415


async def test_an_inbound_message_opens_the_24h_window(served: Served) -> None:
    assert served.state.whatsapp is not None
    assert await served.state.whatsapp.window_open(CUSTOMER) is False
    await served.twilio(twilio_text(CUSTOMER, "oi"))
    await served.settle()
    assert await served.state.whatsapp.window_open(CUSTOMER) is True


async def test_status_callbacks_are_verified_and_recorded(served: Served) -> None:
    path = "/webhooks/twilio/status"
    form = twilio_status("SM" + "e" * 32, "failed", CUSTOMER, error_code="63016")
    assert (await served.twilio(form, path=path)).status_code == 204
    forged = signed_post(PUBLIC + path, twilio_status("SM" + "f" * 32, "read", CUSTOMER), "wrong")
    assert (await served.client.post(path, **forged)).status_code == 403
    await served.settle()
    assert served.state.whatsapp is not None
    assert await served.state.whatsapp.last_status("SM" + "e" * 32) == "failed:63016"
    assert await served.state.whatsapp.last_status("SM" + "f" * 32) is None
    metrics = (await served.client.get("/metrics")).text
    assert 'ozbot_whatsapp_message_status_total{status="failed"} 1.0' in metrics


# --- logs ------------------------------------------------------------------------------------


async def test_logs_hold_no_numbers_chat_ids_or_tokens(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await served.telegram(tg_text(20, CHAT, "oi"))
    await served.telegram(
        tg_text(21, CHAT, "oi"), headers={"X-Telegram-Bot-Api-Secret-Token": "bad"}
    )
    await served.twilio(twilio_text(CUSTOMER, "oi"))
    await served.twilio(twilio_text(CUSTOMER, "oi"), signed_as="https://elsewhere/webhooks/twilio")
    await served.fakes.telegram.wait_sent(1, CHAT)
    await served.fakes.twilio.wait_sent(1, CUSTOMER)
    await served.settle()
    assert "conversation" in caplog.text  # the routes did log
    for secret in (CUSTOMER, str(CHAT), TG_TOKEN, TG_SECRET, TW_TOKEN):
        assert secret not in caplog.text


# --- operations ------------------------------------------------------------------------------


async def test_health_readiness_and_metrics(served: Served, sandbox: RunningSandbox) -> None:
    assert served.state.runtime.timers.running
    assert (await served.client.get("/healthz")).json() == {"status": "ok"}
    ready = await served.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"store": "ok", "ozmap": "ok"}
    with ozmap_down(sandbox):
        not_ready = await served.client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["ozmap"] == "OzmapUnavailable"
    await served.telegram(tg_text(30, CHAT, "oi"))
    await served.settle()
    metrics = await served.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'ozbot_webhook_requests_total{channel="telegram",outcome="accepted"} 1.0' in metrics.text
    assert 'ozbot_turns_total{channel="telegram",outcome="ok"} 1.0' in metrics.text


async def test_an_unconfigured_channel_answers_404(tmp_path: Path) -> None:
    settings = channel_settings(tmp_path, telegram_token="", twilio_account_sid="")
    app = app_for(settings, **Echo().options())
    async with running(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (
            await client.post("/webhooks/telegram", json=tg_text(1, CHAT, "oi"), headers=TG_HEADERS)
        ).status_code == 404
        form = twilio_text(CUSTOMER, "oi")
        assert (
            await client.post(
                "/webhooks/twilio", **signed_post(PUBLIC + "/webhooks/twilio", form, TW_TOKEN)
            )
        ).status_code == 404


async def test_shutdown_finishes_running_turns(tmp_path: Path) -> None:
    fakes, echo = make_fakes(), Echo()
    app = app_for(channel_settings(tmp_path), **echo.options(fakes))
    async with running(app) as url, httpx.AsyncClient(base_url=url) as client:
        runtime = app.state.ozbot.runtime
        echo.delay = 0.3
        response = await client.post(
            "/webhooks/telegram", json=tg_text(40, CHAT, "oi"), headers=TG_HEADERS
        )
        assert response.status_code == 200
        assert fakes.telegram.sent() == []  # still running when the server is told to stop
    assert fakes.telegram.texts(CHAT) == ["echo: oi"]
    assert runtime.timers.running is False  # started with the server, stopped with it
    assert runtime.http.is_closed
    with pytest.raises(StorageError):  # closed last, after the turn had finished
        await runtime.store.load(f"telegram:{CHAT}")


# --- web chat --------------------------------------------------------------------------------


async def _open_chat(served: Served) -> None:
    """Open the page as a visitor. The cookie is Secure (PUBLIC is https, as behind the TLS
    proxy), and these tests speak plain http to loopback: hand the cookie over by hand."""
    page = await served.client.get("/chat")
    served.client.cookies.set("ozbot_chat", page.cookies["ozbot_chat"], path="/chat")


async def _sse_replies(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    async with client.stream("GET", "/chat/api/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "reply":
                replies.append(json.loads(line[6:]))
                if len(replies) == count:
                    break
    return replies


async def test_webchat_page_sets_a_signed_httponly_session_cookie(served: Served) -> None:
    page = await served.client.get("/chat", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert page.status_code == 200
    assert "<title>Chat with us</title>" in page.text
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("ozbot_chat=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/chat" in cookie
    assert "Secure" in cookie  # PUBLIC is https
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert (await served.client.get("/chat/static/webchat.js")).status_code == 200


async def test_webchat_message_is_answered_over_sse(served: Served) -> None:
    await _open_chat(served)
    accepted = await served.client.post("/chat/api/messages", json={"id": "m1", "text": "buttons"})
    assert accepted.status_code == 202
    (reply,) = await _sse_replies(served.client, 1)
    assert reply["text"] == "echo: buttons"
    assert reply["buttons"] == [
        {"payload": "intent:sales", "label": "Contratar"},
        {"payload": "intent:outage", "label": "Falha"},
    ]
    await served.client.post("/chat/api/messages", json={"id": "m2", "button": "intent:sales"})
    await served.client.post(
        "/chat/api/messages", json={"id": "m3", "location": {"lat": -23.5, "lng": -46.6}}
    )
    replies = await _sse_replies(served.client, 2)
    assert [r["text"] for r in replies] == ["echo: intent:sales", "echo: -23.5000,-46.6000"]
    await served.client.post("/chat/api/messages", json={"id": "m3", "text": "retry of m3"})
    await served.settle()
    assert len(served.echo.seen) == 3  # the re-sent id was dropped


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ({"text": "   "}, "application/json", 400),
        ({"text": "x" * 2001}, "application/json", 400),
        ({"location": {"lat": 91, "lng": 0}}, "application/json", 400),
        ({"location": {"lat": True, "lng": 0}}, "application/json", 400),
        ({"id": "<script>", "text": "oi"}, "application/json", 400),
        ({"text": "oi"}, "application/x-www-form-urlencoded", 415),
    ],
)
async def test_webchat_rejects_bad_messages(
    served: Served, body: Any, content_type: str, status: int
) -> None:
    await _open_chat(served)
    response = await served.client.post(
        "/chat/api/messages", content=json.dumps(body), headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    await served.settle()
    assert served.echo.seen == []


async def test_webchat_needs_a_valid_session(served: Served) -> None:
    assert (await served.client.post("/chat/api/messages", json={"text": "oi"})).status_code == 401
    assert (await served.client.get("/chat/api/events")).status_code == 401
    served.client.cookies.set("ozbot_chat", "forged.value.here", path="/chat")
    assert (await served.client.post("/chat/api/messages", json={"text": "oi"})).status_code == 401
    await served.settle()
    assert served.echo.seen == []


async def test_an_open_chat_stream_ends_cleanly_when_the_server_stops(tmp_path: Path) -> None:
    app = app_for(channel_settings(tmp_path), sse_seconds=60, **Echo().options())
    received: list[str] = []
    opened = asyncio.Event()

    async def listen(client: httpx.AsyncClient, url: str) -> None:
        async with client.stream("GET", url + "/chat/api/events") as stream:
            async for line in stream.aiter_lines():  # raises if the stream is cut off
                received.append(line)
                opened.set()

    async with httpx.AsyncClient() as client:  # outlives the server: only the server ends it
        async with running(app) as url:
            page = await client.get(url + "/chat")
            client.cookies.set("ozbot_chat", page.cookies["ozbot_chat"], path="/chat")
            listener = asyncio.create_task(listen(client, url))
            await asyncio.wait_for(opened.wait(), 10)
        await asyncio.wait_for(listener, 10)
    assert received[0] == "retry: 1000"


async def test_polling_mode_removes_the_webhook_and_answers_polled_updates(tmp_path: Path) -> None:
    fakes = make_fakes()
    fakes.telegram.webhook = {"url": "https://old.example.com/hook", "pending_update_count": 0}
    app = app_for(channel_settings(tmp_path, telegram_mode="polling"), **Echo().options(fakes))
    async with running(app):
        fakes.telegram.updates.put_nowait(tg_text(50, CHAT, "via polling"))
        fakes.telegram.updates.put_nowait(tg_callback(51, CHAT, "intent:sales", query_id="cb-9"))
        await fakes.telegram.wait_sent(2, CHAT)
        assert fakes.telegram.webhook["url"] == ""
        assert fakes.telegram.texts(CHAT) == ["echo: via polling", "echo: intent:sales"]
        await app.state.ozbot.dispatcher.join()
        answered = [
            c.params["callback_query_id"]
            for c in fakes.telegram.calls
            if c.method == "answerCallbackQuery"
        ]
        assert answered == ["cb-9"]
