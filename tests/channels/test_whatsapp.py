"""WhatsApp through Twilio: parsing recorded form posts, signatures as twilio computes them,
sending through the twilio library against the local Messages API fake, the 24-hour window and
status records on a real SQLite store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.datastructures import FormData, UploadFile
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import (
    WINDOW,
    WINDOW_STEP,
    MessageStatus,
    WhatsappChannel,
    _ref,
    make_twilio_client,
    parse_form,
    parse_status,
    signed_url,
    verify_signature,
)
from bot.errors import BadPayload, ChannelError, SignatureError
from bot.messages import Button, Location, Reply
from bot.storage.sqlite import SqliteStore
from tests.fakes.payloads import (
    ACCOUNT_SID,
    BOT_NUMBER,
    twilio_button,
    twilio_location,
    twilio_status,
    twilio_text,
)
from tests.fakes.twilio_api import FakeTwilioAPI, sign

TOKEN = "auth-token-abcdef0123456789"
CUSTOMER = "5511987654321"
QUICK = ("HX" + "1" * 32, "HX" + "2" * 32, "HX" + "3" * 32)


@pytest.fixture
def fake() -> FakeTwilioAPI:
    return FakeTwilioAPI(ACCOUNT_SID, TOKEN, content_sids=QUICK)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "wa.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def http(fake: FakeTwilioAPI) -> AsyncIterator[httpx.AsyncClient]:
    mounts = {"https://api.twilio.com": httpx.ASGITransport(app=fake.app)}
    async with httpx.AsyncClient(mounts=mounts) as client:
        yield client


def channel(
    http: httpx.AsyncClient, store: SqliteStore, quick: tuple[str, ...] = ()
) -> WhatsappChannel:
    return WhatsappChannel(
        make_twilio_client(ACCOUNT_SID, TOKEN, http),
        sender=BOT_NUMBER,
        store=store,
        location_hint="Envie pelo clipe 📎 › Localização.",
        choose_intro="Responda com o número da opção:",
        quick_reply_sids=quick,
        status_callback="https://bot.example.com/webhooks/twilio/status",
    )


# --- parsing ---------------------------------------------------------------------------------


def test_text_message() -> None:
    inbound = parse_form(
        twilio_text(CUSTOMER, "Quero contratar", message_sid="SM" + "a" * 32, profile_name="Bruno")
    )
    assert inbound is not None
    assert (inbound.channel, inbound.contact, inbound.text) == (
        "whatsapp",
        CUSTOMER,
        "Quero contratar",
    )
    assert inbound.provider_id == "SM" + "a" * 32
    assert inbound.name == "Bruno"
    assert inbound.phone == "+" + CUSTOMER


def test_location_pin_with_label_and_address() -> None:
    form = twilio_location(CUSTOMER, -23.561, -46.656, label="Casa", address="Av. Paulista, 1000")
    inbound = parse_form(form)
    assert inbound is not None
    assert inbound.location == Location(-23.561, -46.656, "Casa", "Av. Paulista, 1000")
    assert inbound.text is None


def test_quick_reply_tap_gives_its_payload() -> None:
    inbound = parse_form(twilio_button(CUSTOMER, "intent:sales", "Contratar"))
    assert inbound is not None
    assert (inbound.button, inbound.text) == ("intent:sales", None)


def test_contact_falls_back_to_from_without_waid() -> None:
    form = twilio_text(CUSTOMER, "oi")
    del form["WaId"]
    inbound = parse_form(form)
    assert inbound is not None and inbound.contact == CUSTOMER


def test_sms_to_the_same_number_is_ignored() -> None:
    form = twilio_text(CUSTOMER, "oi")
    form["From"] = "+" + CUSTOMER
    assert parse_form(form) is None


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": "", "SmsMessageSid": ""},
        {"From": ""},
        {"Latitude": "north", "Longitude": "-46.6"},
        {"Latitude": "-123.0", "Longitude": "-46.6"},
    ],
)
def test_malformed_forms_raise_bad_payload(change: dict[str, str]) -> None:
    form = twilio_text(CUSTOMER, "oi") | change
    with pytest.raises(BadPayload):
        parse_form(form)


def test_status_callback() -> None:
    status = parse_status(
        twilio_status("SM" + "b" * 32, "undelivered", CUSTOMER, error_code="63016")
    )
    assert status == MessageStatus("SM" + "b" * 32, "undelivered", "63016")
    with pytest.raises(BadPayload):
        parse_status({"MessageSid": "SMx"})


# --- signatures ------------------------------------------------------------------------------


def test_signature_over_the_public_url_verifies() -> None:
    form = twilio_text(CUSTOMER, "oi")
    url = signed_url("https://bot.example.com/", "/webhooks/twilio", "")
    assert url == "https://bot.example.com/webhooks/twilio"
    verify_signature(url, form, sign(url, form, TOKEN), TOKEN)


def test_query_string_is_part_of_the_signed_url() -> None:
    form = twilio_text(CUSTOMER, "oi")
    url = signed_url("https://bot.example.com", "/webhooks/twilio", "tenant=7")
    verify_signature(url, form, sign(url, form, TOKEN), TOKEN)
    with pytest.raises(SignatureError):
        verify_signature(
            "https://bot.example.com/webhooks/twilio", form, sign(url, form, TOKEN), TOKEN
        )


def test_every_value_of_a_repeated_field_is_signed() -> None:
    # Twilio signs each value of a repeated field (sorted); the webhook hands over the pairs
    pairs: list[tuple[str, str | UploadFile]] = [
        *twilio_text(CUSTOMER, "oi").items(),
        ("MediaUrl", "https://a"),
        ("MediaUrl", "b"),
    ]
    url = "https://bot.example.com/webhooks/twilio"
    signature = RequestValidator(TOKEN).compute_signature(url, FormData(pairs))
    verify_signature(url, pairs, signature, TOKEN)
    verify_signature(url, FormData(pairs), signature, TOKEN)
    with pytest.raises(SignatureError):
        verify_signature(url, [*pairs[:-1], ("MediaUrl", "c")], signature, TOKEN)
    with pytest.raises(SignatureError):
        verify_signature(url, dict(pairs), signature, TOKEN)  # the last value alone


@pytest.mark.parametrize("tamper", ["url", "param", "token", "missing"])
def test_any_change_breaks_the_signature(tamper: str) -> None:
    form = twilio_text(CUSTOMER, "oi")
    url = "https://bot.example.com/webhooks/twilio"
    signature: str | None = sign(url, form, TOKEN)
    if tamper == "url":
        url = "http://internal:8000/webhooks/twilio"  # what the app sees behind a proxy
    elif tamper == "param":
        form = form | {"Body": "oi!"}
    elif tamper == "token":
        signature = sign(url, form, "another-token")
    else:
        signature = None
    with pytest.raises(SignatureError, match=r"PUBLIC_BASE_URL|TWILIO_AUTH_TOKEN"):
        verify_signature(url, form, signature, TOKEN)


def test_an_unset_auth_token_refuses_and_names_the_fix() -> None:
    with pytest.raises(SignatureError, match="TWILIO_AUTH_TOKEN"):
        verify_signature("https://x/webhooks/twilio", {}, "sig", "")


# --- sending ---------------------------------------------------------------------------------


async def test_text_goes_through_the_messages_api(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    await channel(http, store).send(CUSTOMER, [Reply("Olá! Em que posso ajudar?")])
    (message,) = fake.messages
    assert message.fields["To"] == f"whatsapp:+{CUSTOMER}"
    assert message.fields["From"] == BOT_NUMBER
    assert message.fields["Body"] == "Olá! Em que posso ajudar?"
    assert message.fields["StatusCallback"] == "https://bot.example.com/webhooks/twilio/status"


async def test_a_statement_and_the_question_after_it_go_as_one_message(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    replies = [Reply("Boa notícia: a nossa fibra chega aí!"), Reply("Qual é o seu nome completo?")]
    await channel(http, store).send(CUSTOMER, replies)
    (message,) = fake.messages
    assert (
        message.fields["Body"]
        == "Boa notícia: a nossa fibra chega aí!\n\nQual é o seu nome completo?"
    )


async def test_options_without_content_sids_are_numbered(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    wa = channel(http, store)
    await wa.send(
        CUSTOMER,
        [
            Reply(
                "O que deseja?",
                buttons=(Button("intent:sales", "Contratar"), Button("intent:outage", "Falha")),
            )
        ],
    )
    assert (
        fake.messages[0].body
        == "O que deseja?\n\nResponda com o número da opção:\n1. Contratar\n2. Falha"
    )


async def test_options_become_a_quick_reply_with_a_content_sid(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    wa = channel(http, store, QUICK)
    await wa.send(
        CUSTOMER,
        [
            Reply(
                "O que deseja?",
                buttons=(Button("intent:sales", "Contratar"), Button("intent:outage", "Falha")),
            )
        ],
    )
    (message,) = fake.messages
    assert message.fields["ContentSid"] == QUICK[1]
    assert "Body" not in message.fields
    assert message.content_variables == {
        "1": "O que deseja?",
        "2": "Contratar",
        "3": "intent:sales",
        "4": "Falha",
        "5": "intent:outage",
    }


async def test_more_options_than_templates_fall_back_to_numbers(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    buttons = tuple(Button(f"p{i}", f"Opção {i}") for i in range(4))
    await channel(http, store, QUICK).send(CUSTOMER, [Reply("Escolha", buttons=buttons)])
    assert "ContentSid" not in fake.messages[0].fields
    assert fake.messages[0].body is not None and fake.messages[0].body.endswith("4. Opção 3")


async def test_location_request_appends_the_hint(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    await channel(http, store).send(CUSTOMER, [Reply("Qual o endereço?", ask_location=True)])
    assert fake.messages[0].body == "Qual o endereço?\n\nEnvie pelo clipe 📎 › Localização."


async def test_long_text_is_split_at_1600(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    text = ("Cobertura confirmada na sua rua. " * 120).strip()  # about 3,900 characters
    await channel(http, store).send(CUSTOMER, [Reply(text)])
    bodies = [m.body or "" for m in fake.messages]
    assert len(bodies) == 3
    assert all(len(b) <= 1600 for b in bodies)
    assert " ".join(bodies).split() == text.split()


async def test_a_refusal_is_a_channel_error_without_the_number(
    http: httpx.AsyncClient,
    store: SqliteStore,
    fake: FakeTwilioAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.fail_next(
        400, 63016, f"Failed to send freeform message to whatsapp:+{CUSTOMER} outside window"
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ChannelError, match=r"63016.*24-hour window") as info:
        await channel(http, store).send(CUSTOMER, [Reply("Oi de novo")])
    assert CUSTOMER not in str(info.value)
    assert CUSTOMER not in caplog.text


async def test_wrong_credentials_are_a_channel_error(
    http: httpx.AsyncClient, store: SqliteStore
) -> None:
    wrong = WhatsappChannel(
        make_twilio_client(ACCOUNT_SID, "not-the-token", http),
        sender=BOT_NUMBER,
        store=store,
        location_hint="x",
    )
    with pytest.raises(ChannelError, match="20003"):
        await wrong.send(CUSTOMER, [Reply("x")])


async def test_unreachable_twilio_is_a_channel_error(store: SqliteStore) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(ChannelError, match="unreachable"):
            await channel(http, store).send(CUSTOMER, [Reply("x")])


async def test_api_url_points_the_library_elsewhere(
    fake: FakeTwilioAPI, store: SqliteStore
) -> None:
    mounts = {"http://twilio.fake": httpx.ASGITransport(app=fake.app)}
    async with httpx.AsyncClient(mounts=mounts) as http:
        wa = WhatsappChannel(
            make_twilio_client(ACCOUNT_SID, TOKEN, http, api_url="http://twilio.fake"),
            sender="+14155238886",
            store=store,
            location_hint="x",
        )
        await wa.send(CUSTOMER, [Reply("via fake")])
    assert fake.messages[0].fields["From"] == "whatsapp:+14155238886"


# --- 24-hour window and statuses -------------------------------------------------------------


async def test_window_opens_with_an_inbound_message_and_closes_after_24h(
    http: httpx.AsyncClient, store: SqliteStore
) -> None:
    wa = channel(http, store)
    now = datetime.now(UTC)
    assert await wa.window_open(CUSTOMER, now=now) is False
    await wa.note_inbound(CUSTOMER, at=now)
    assert await wa.window_open(CUSTOMER, now=now + timedelta(hours=23, minutes=59)) is True
    assert await wa.window_open(CUSTOMER, now=now + timedelta(hours=24, seconds=1)) is False
    assert await wa.window_open("5521900000000", now=now) is False


async def test_window_survives_a_new_channel_on_the_same_store(
    http: httpx.AsyncClient, store: SqliteStore
) -> None:
    await channel(http, store).note_inbound(CUSTOMER)
    assert await channel(http, store).window_open(CUSTOMER) is True


async def test_the_window_is_not_keyed_by_the_phone_number(
    http: httpx.AsyncClient, store: SqliteStore, tmp_path: Path
) -> None:
    await channel(http, store).note_inbound(CUSTOMER)
    await store.close()
    assert CUSTOMER.encode() not in (tmp_path / "wa.db").read_bytes()
    await store.open()


async def test_failures_are_recorded(http: httpx.AsyncClient, store: SqliteStore) -> None:
    wa = channel(http, store)
    await wa.record_status(MessageStatus("SM2", "failed", "63016"))
    await wa.record_status(MessageStatus("SM4", "undelivered", "63024"))
    await wa.record_status(MessageStatus("SM5", "sent"))
    await wa.record_status(MessageStatus("SM5", "undelivered"))
    assert await wa.last_status("SM2") == "failed:63016"
    assert await wa.last_status("SM4") == "undelivered:63024"
    assert await wa.last_status("SM5") == "undelivered"
    assert await wa.last_status("SM3") is None


async def test_a_delivered_message_costs_no_store_write(
    http: httpx.AsyncClient, store: SqliteStore
) -> None:
    wa = channel(http, store)
    for status in ("queued", "sent", "delivered", "read"):
        await wa.record_status(MessageStatus("SM1", status))
    assert await wa.last_status("SM1") is None
    assert await store.cache_get("whatsapp.status", "SM1") is None


async def test_without_a_store_the_window_names_the_fix(http: httpx.AsyncClient) -> None:
    wa = WhatsappChannel(
        make_twilio_client(ACCOUNT_SID, TOKEN, http), sender=BOT_NUMBER, location_hint="x"
    )
    with pytest.raises(ChannelError, match="use_store"):
        await wa.window_open(CUSTOMER)


async def test_freeform_follows_the_window_and_templates_go_by_content_sid(
    http: httpx.AsyncClient, store: SqliteStore, fake: FakeTwilioAPI
) -> None:
    wa = channel(http, store)
    now = datetime.now(UTC)
    assert await wa.can_send_freeform(CUSTOMER, now) is False
    await wa.note_inbound(CUSTOMER, at=now - timedelta(hours=2))
    assert await wa.can_send_freeform(CUSTOMER, now) is True
    await wa.send_template(CUSTOMER, QUICK[0], {"1": "Ainda quer continuar?"})
    (message,) = fake.messages
    assert message.fields["ContentSid"] == QUICK[0]
    assert message.content_variables == {"1": "Ainda quer continuar?"}
    assert "Body" not in message.fields


async def test_an_answer_that_is_not_twilios_is_a_channel_error(store: SqliteStore) -> None:
    def proxy_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(proxy_error)) as http:
        with pytest.raises(ChannelError, match="HTTP 502"):
            await channel(http, store).send(CUSTOMER, [Reply("x")])


async def test_the_window_is_written_once_per_step_not_once_per_message(
    http: httpx.AsyncClient, store: SqliteStore
) -> None:
    wa = channel(http, store)
    start = datetime.now(UTC)
    for seconds in (0, 5, 30):
        await wa.note_inbound(CUSTOMER, at=start + timedelta(seconds=seconds))
    kept = await store.cache_get("whatsapp.window", _ref(CUSTOMER))
    assert kept == start.isoformat()  # the first message's time: no write per message
    later = start + WINDOW_STEP
    await wa.note_inbound(CUSTOMER, at=later)
    assert await store.cache_get("whatsapp.window", _ref(CUSTOMER)) == later.isoformat()
    # never closes late: open until 24 h after the recorded time, which is at most a step old
    assert await wa.window_open(CUSTOMER, now=later + WINDOW - timedelta(seconds=1)) is True
    earlier = start - timedelta(hours=1)  # a clock moved back is written, not trusted away
    await wa.note_inbound(CUSTOMER, at=earlier)
    assert await store.cache_get("whatsapp.window", _ref(CUSTOMER)) == earlier.isoformat()
