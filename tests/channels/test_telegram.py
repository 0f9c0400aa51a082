"""Telegram: parsing recorded update shapes, the secret token, and sending through PTB's Bot
against the local Bot API fake (plugged in at the httpx transport)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.channels.telegram import (
    TelegramChannel,
    TelegramEvent,
    make_bot,
    parse_update,
    poll_updates,
    verify_secret,
)
from bot.errors import BadPayload, ChannelError, SignatureError
from bot.messages import Button, Location, Reply
from tests.fakes.payloads import tg_callback, tg_contact, tg_location, tg_text
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:ABC-token"


@pytest.fixture
def fake() -> FakeTelegramAPI:
    return FakeTelegramAPI(TOKEN)


@pytest.fixture
async def channel(fake: FakeTelegramAPI) -> AsyncIterator[TelegramChannel]:
    mounts = {"https://api.telegram.org": httpx.ASGITransport(app=fake.app)}
    async with httpx.AsyncClient(mounts=mounts) as http:
        yield TelegramChannel(make_bot(TOKEN, http), location_label="📍 Enviar localização")


# --- parsing ---------------------------------------------------------------------------------


def test_text_message_becomes_an_inbound() -> None:
    event = parse_update(tg_text(5001, 4242, "quero contratar", first_name="Ana"))
    assert event is not None
    inbound = event.inbound
    assert (inbound.channel, inbound.contact, inbound.text) == (
        "telegram",
        "4242",
        "quero contratar",
    )
    assert inbound.provider_id == "tg:5001"
    assert inbound.name == "Ana Souza"
    assert inbound.language == "pt-br"
    assert event.callback_query_id is None


def test_start_command_drops_its_deep_link_payload() -> None:
    event = parse_update(tg_text(5002, 4242, "/start promo-123"))
    assert event is not None and event.inbound.text == "/start"


def test_location_message() -> None:
    event = parse_update(tg_location(5003, 4242, -23.5505, -46.6333))
    assert event is not None
    assert event.inbound.location == Location(-23.5505, -46.6333)
    assert event.inbound.text is None


def test_contact_message_gives_the_phone() -> None:
    event = parse_update(tg_contact(5004, 4242, "+5511999990000"))
    assert event is not None
    assert event.inbound.phone == "+5511999990000"
    assert event.inbound.text is None


def test_callback_query_is_a_button_tap_to_acknowledge() -> None:
    event = parse_update(tg_callback(5005, 4242, "intent:sales", query_id="q-77"))
    assert event is not None
    assert event.callback_query_id == "q-77"
    assert (event.inbound.contact, event.inbound.button) == ("4242", "intent:sales")
    assert event.inbound.provider_id == "tg:5005"


def test_updates_the_bot_does_not_serve_are_ignored() -> None:
    group = tg_text(5006, -100123, "oi")
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "Vizinhos"}
    edited = tg_text(5007, 4242, "oi")
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = edited["edited_message"]["date"]
    assert parse_update(group) is None
    assert parse_update(edited) is None


def test_a_sticker_becomes_an_empty_text_for_the_flow_to_answer() -> None:
    update = tg_text(5008, 4242, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {
        "file_id": "CAAC",
        "file_unique_id": "AgAD",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    event = parse_update(update)
    assert event is not None and event.inbound.text == ""


def test_a_venue_gives_its_point_name_and_address() -> None:
    update = tg_location(5009, 4242, -27.5954, -48.548)
    venue = {"latitude": -27.5954, "longitude": -48.548}
    del update["message"]["location"]
    update["message"]["venue"] = {
        "location": venue,
        "title": "Condominio Jardim das Flores",
        "address": "Rua das Acacias, 120",
    }
    event = parse_update(update)
    assert event is not None
    assert event.inbound.location == Location(
        -27.5954, -48.548, "Condominio Jardim das Flores", "Rua das Acacias, 120"
    )
    update["message"]["venue"]["title"] = 7
    with pytest.raises(BadPayload):
        parse_update(update)


def test_a_photo_caption_is_the_text_and_names_come_as_the_user_gives_them() -> None:
    update = tg_text(5010, 4242, "x", first_name="Zé")
    del update["message"]["text"]
    update["message"]["caption"] = "minha rua n aparece no mapa"
    del update["message"]["from"]["last_name"]
    event = parse_update(update)
    assert event is not None
    assert (event.inbound.text, event.inbound.name) == ("minha rua n aparece no mapa", "Zé")
    del update["message"]["from"]
    event = parse_update(update)
    assert event is not None and (event.inbound.name, event.inbound.language) == (None, None)


def test_taps_in_groups_are_ignored_and_inline_ones_come_from_the_user() -> None:
    group = tg_callback(5011, -100123, "intent:sales")
    group["callback_query"]["message"]["chat"] = {"id": -100123, "type": "group", "title": "x"}
    assert parse_update(group) is None
    inline = tg_callback(5012, 4242, "intent:sales")
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "AAEx"
    event = parse_update(inline)
    assert event is not None and event.inbound.contact == "4242"
    old = tg_callback(5013, 4242, "intent:menu")  # a message too old to read: date 0
    old["callback_query"]["message"] = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 4242, "type": "private"},
    }
    event = parse_update(old)
    assert event is not None and event.inbound.button == "intent:menu"


@pytest.mark.parametrize(
    "body",
    [[], "update", {}, {"update_id": "7"}, {"update_id": 7, "message": {"chat": "nope"}}],
)
def test_malformed_updates_raise_bad_payload(body: object) -> None:
    with pytest.raises(BadPayload):
        parse_update(body)


# --- secret token ----------------------------------------------------------------------------


def test_secret_token_must_match() -> None:
    verify_secret("s3cret-token", "s3cret-token")
    for header in (None, "", "wrong", "s3cret-token "):
        with pytest.raises(SignatureError):
            verify_secret(header, "s3cret-token")


def test_an_unset_secret_refuses_everything_and_names_the_fix() -> None:
    with pytest.raises(SignatureError, match="TELEGRAM_SECRET"):
        verify_secret("anything", "")


# --- sending ---------------------------------------------------------------------------------


async def test_buttons_become_an_inline_keyboard(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    reply = Reply(
        "Como posso ajudar?",
        buttons=(Button("intent:sales", "Contratar"), Button("intent:outage", "Falha")),
    )
    await channel.send("4242", [reply])
    (call,) = fake.sent(4242)
    assert call.params["text"] == "Como posso ajudar?"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Contratar", "callback_data": "intent:sales"}],
            [{"text": "Falha", "callback_data": "intent:outage"}],
        ]
    }


async def test_ask_location_shows_a_request_location_keyboard(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    await channel.send("4242", [Reply("Onde você mora?", ask_location=True)])
    markup = fake.sent(4242)[0].params["reply_markup"]
    assert markup["keyboard"] == [[{"text": "📍 Enviar localização", "request_location": True}]]
    assert markup["one_time_keyboard"] is True


async def test_buttons_and_location_request_go_in_two_messages(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    await channel.send(
        "4242",
        [
            Reply(
                "Busca fora do ar",
                buttons=(Button("intent:handoff", "Atendente"),),
                ask_location=True,
            )
        ],
    )
    first, second = fake.sent(4242)
    assert "inline_keyboard" in first.params["reply_markup"]
    assert second.params["reply_markup"]["keyboard"][0][0]["request_location"] is True


async def test_long_text_is_split_with_the_keyboard_on_the_last_piece(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    text = ("Endereço conferido. " * 400).strip()  # about 8,000 characters
    await channel.send("4242", [Reply(text, buttons=(Button("ok", "OK"),))])
    calls = fake.sent(4242)
    assert len(calls) == 2
    assert all(len(c.params["text"]) <= 4096 for c in calls)
    assert " ".join(c.params["text"] for c in calls).split() == text.split()
    assert "reply_markup" not in calls[0].params
    assert calls[1].params["reply_markup"]["inline_keyboard"] == [
        [{"text": "OK", "callback_data": "ok"}]
    ]


async def test_replies_are_sent_in_order_plain_ones_joined_to_the_next(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    options = (Button("yes", "Sim"), Button("no", "Não"))
    await channel.send("4242", [Reply("um"), Reply("dois", buttons=options), Reply("três")])
    assert fake.texts(4242) == ["um\n\ndois", "três"]
    keyboard = fake.sent(4242)[0].params["reply_markup"]["inline_keyboard"]
    assert keyboard == [
        [{"text": "Sim", "callback_data": "yes"}],
        [{"text": "Não", "callback_data": "no"}],
    ]


async def test_payloads_over_64_bytes_fall_back_to_numbered_options(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    await channel.send(
        "4242", [Reply("Escolha", buttons=(Button("x" * 65, "Longo"), Button("y", "Curto")))]
    )
    call = fake.sent(4242)[0]
    assert call.params["text"] == "Escolha\n1. Longo\n2. Curto"
    assert "reply_markup" not in call.params


async def test_flood_control_waits_retry_after_then_sends(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=1)
    await channel.send("4242", [Reply("depois da espera")])
    assert fake.texts(4242) == ["depois da espera"]


async def test_persistent_flood_control_becomes_a_channel_error(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=120)
    with pytest.raises(ChannelError, match="flood control"):
        await channel.send("4242", [Reply("x")])
    assert fake.sent() == []


async def test_a_blocked_bot_is_a_channel_error(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(ChannelError, match="blocked"):
        await channel.send("4242", [Reply("x")])


async def test_a_wrong_token_error_never_quotes_the_token(fake: FakeTelegramAPI) -> None:
    mounts = {"https://api.telegram.org": httpx.ASGITransport(app=fake.app)}
    async with httpx.AsyncClient(mounts=mounts) as http:
        wrong = TelegramChannel(make_bot("999:WRONG-secret-token", http), location_label="x")
        with pytest.raises(ChannelError) as info:
            await wrong.send("4242", [Reply("x")])
    assert "WRONG-secret-token" not in str(info.value)
    assert "TELEGRAM_TOKEN" in str(info.value)


async def test_unreachable_api_is_a_channel_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        channel = TelegramChannel(make_bot(TOKEN, http), location_label="x")
        with pytest.raises(ChannelError) as info:
            await channel.send("4242", [Reply("x")])
    assert TOKEN not in str(info.value)


async def test_answer_callback_and_set_webhook(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    await channel.answer_callback("q-1")
    await channel.set_webhook("https://bot.example.com/webhooks/telegram", "segredo_1")
    methods = [c.method for c in fake.calls]
    assert methods == ["answerCallbackQuery", "setWebhook"]
    assert fake.calls[0].params["callback_query_id"] == "q-1"
    assert fake.webhook["url"] == "https://bot.example.com/webhooks/telegram"
    assert fake.webhook["secret_token"] == "segredo_1"
    assert fake.webhook["allowed_updates"] == ["message", "callback_query"]


async def test_long_polling_hands_over_served_updates_in_order(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    for update in (
        tg_text(1, 4242, "um"),
        tg_callback(2, 4242, "intent:sales"),
        tg_location(3, 4242, -23.5, -46.6),
    ):
        fake.updates.put_nowait(update)
    got: list[TelegramEvent] = []
    stop = asyncio.Event()

    async def on_event(event: TelegramEvent) -> None:
        got.append(event)
        if len(got) == 3:
            stop.set()

    await asyncio.wait_for(poll_updates(channel.bot, on_event, stop=stop, poll_timeout=1), 10)
    assert [e.inbound.provider_id for e in got] == ["tg:1", "tg:2", "tg:3"]
    assert got[1].callback_query_id is not None


def _leaves(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _with(update: dict[str, object], path: tuple[object, ...], new: object) -> dict[str, object]:
    copy = json.loads(json.dumps(update))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "update",
    [
        tg_text(1, 4242, "oi"),
        tg_location(2, 4242, -23.5, -46.6),
        tg_contact(3, 4242, "+5511999990000"),
        tg_callback(4, 4242, "intent:sales"),
    ],
    ids=["text", "location", "contact", "callback"],
)
def test_any_field_of_the_wrong_type_is_a_bad_payload_never_a_crash(
    update: dict[str, object],
) -> None:
    checked = 0
    for path in _leaves(update):
        for wrong in (None, 7, -1.5, True, "x", [], {}, [1], {"a": 1}):
            try:
                event = parse_update(_with(update, path, wrong))
            except BadPayload:
                continue
            checked += 1
            if event is not None:  # whatever was accepted is well-typed for the engine
                inbound = event.inbound
                assert inbound.contact.lstrip("-").isdigit()
                assert inbound.text is None or isinstance(inbound.text, str)
                assert inbound.button is None or isinstance(inbound.button, str)
    assert checked > 0  # some changes are harmless (e.g. a name), and are accepted


async def test_an_answer_that_is_not_the_apis_is_a_channel_error() -> None:
    def proxy_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(proxy_error)) as http:
        channel = TelegramChannel(make_bot(TOKEN, http), location_label="x")
        with pytest.raises(ChannelError) as info:
            await channel.send("4242", [Reply("x")])
    assert TOKEN not in str(info.value)


async def test_webhook_info_gives_the_last_error_and_its_time(
    channel: TelegramChannel, fake: FakeTelegramAPI
) -> None:
    fake.webhook.update(last_error_message="Connection refused", last_error_date=1_700_000_000)
    info = await channel.bot.get_webhook_info()
    assert info.last_error_message == "Connection refused"
    assert info.last_error_date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (await channel.bot.get_me()).username == "fibra_test_bot"
