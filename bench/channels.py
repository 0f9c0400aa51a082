"""Channel adapters alone: the CPU one webhook's parsing and one reply's sending cost, in process.

    .venv/bin/python bench/channels.py [--repeat 3000]

Each operation runs ``--repeat`` times on the shared client (:mod:`bot.httpclient`) with an
httpx transport mounted that answers at once what the Bot API or Twilio would (so no socket,
no server: what is left is ours and the libraries'), and prints this process's CPU time per
operation beside a bare ``httpx`` post of the same request, the part no adapter can save. Not
a test: numbers depend on the machine.

Recorded 2026-12-01 (2 shared cores, load average ~10):

    Telegram   parse_update (text)             74-81 us   (callback query: 101-108 us)
               TelegramChannel.send            398 us -> 171 us (PTB's do_api_request, JSON
                                               markup, no Message parsed from the answer)
               bare httpx post                 116 us
    Twilio     verify_signature                51 us      parse_form 20 us
               WhatsappChannel.send            224-235 us -> 206-218 us (our twilio HTTP
                                               client: no empty params, no auth flow)
               bare httpx post                 114 us

Recorded 2026-12-01 17:30 UTC, main at de5c6da and after perf-http's changes, the same load
(average 8.5), one after the other:

                                               de5c6da    now
    Telegram   parse_update (text)             71.9 us   70.3 us   (PTB's Update.de_json, kept:
               parse_update (callback query)   96.5 us   96.3 us    reading the JSON directly
                                                                    took 3.7-3.8 us; reverted)
               TelegramChannel.send           163.4 us   97.7 us   (one JSON body, no cookie
               bare httpx post                 99.2 us   62.4 us    jar, URLs parsed once;
                                                                    de5c6da's bare post: the
                                                                    form it sent then)
    Twilio     verify_signature                50.6 us   28.8 us   (a dict with getall)
               parse_form                      19.7 us    1.6 us   (E.164 numbers kept)
               WhatsappChannel.send           189.4 us  141.4 us
               bare httpx post                106.8 us   71.3 us
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bot.channels.telegram import TelegramChannel, make_bot, parse_update
from bot.channels.whatsapp import (
    WhatsappChannel,
    make_twilio_client,
    parse_form,
    parse_status,
    verify_signature,
)
from bot.httpclient import shared_client
from bot.messages import Button, Reply
from bot.storage.sqlite import SqliteStore
from tests.fakes.payloads import (
    ACCOUNT_SID,
    BOT_NUMBER,
    tg_callback,
    tg_text,
    twilio_status,
    twilio_text,
)
from tests.fakes.twilio_api import sign

TEXT = "Olá! Sou o assistente virtual da sua provedora de fibra. Como posso ajudar?"
REPLY = Reply(TEXT, buttons=(Button("intent:sales", "Contratar"), Button("intent:menu", "Menu")))
TG_ANSWER = {
    "ok": True,
    "result": {
        "message_id": 5,
        "date": 1_700_000_000,
        "chat": {"id": 4242, "type": "private", "first_name": "Ana"},
        "from": {"id": 1, "is_bot": True, "first_name": "Fibra Bot", "username": "fibra_bot"},
        "text": TEXT,
        "reply_markup": {"inline_keyboard": [[{"text": "Contratar", "callback_data": "x"}]]},
    },
}
TW_ANSWER = {
    "sid": "SM" + "a" * 32,
    "account_sid": ACCOUNT_SID,
    "to": "whatsapp:+5548991234567",
    "from": BOT_NUMBER,
    "body": TEXT,
    "status": "queued",
    "num_segments": "1",
    "num_media": "0",
    "direction": "outbound-api",
    "api_version": "2010-04-01",
    "price": None,
    "price_unit": "USD",
    "error_code": None,
    "error_message": None,
    "uri": "/2010-04-01/Accounts/AC/Messages/SM.json",
    "subresource_uris": {"media": "/2010-04-01/Accounts/AC/Messages/SM/Media.json"},
    "date_created": "Tue, 01 Dec 2026 12:00:00 +0000",
    "date_sent": None,
    "date_updated": "Tue, 01 Dec 2026 12:00:00 +0000",
    "messaging_service_sid": None,
}


class Answering(httpx.AsyncBaseTransport):
    """Answers every request with ``body`` at once."""

    def __init__(self, status: int, body: object) -> None:
        self._status = status
        self._content = json.dumps(body).encode()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        headers = {"content-type": "application/json"}
        return httpx.Response(self._status, content=self._content, headers=headers)


def report(name: str, seconds: float, repeat: int) -> None:
    print(f"  {name:<34} {seconds / repeat * 1e6:7.1f} us")


def timed(name: str, op: Callable[[], object], repeat: int) -> None:
    for _ in range(repeat // 10):
        op()
    start = time.process_time()
    for _ in range(repeat):
        op()
    report(name, time.process_time() - start, repeat)


async def timed_async(name: str, op: Callable[[], Awaitable[object]], repeat: int) -> None:
    for _ in range(repeat // 10):
        await op()
    start = time.process_time()
    for _ in range(repeat):
        await op()
    report(name, time.process_time() - start, repeat)


async def main(repeat: int) -> None:
    text, tap = tg_text(1, 4242, "quero internet"), tg_callback(2, 4242, "intent:sales")
    print("Telegram:")
    timed("parse_update (text)", lambda: parse_update(text), repeat)
    timed("parse_update (callback query)", lambda: parse_update(tap), repeat)
    async with shared_client({"https://api.telegram.org": Answering(200, TG_ANSWER)}) as http:
        telegram = TelegramChannel(make_bot("7000:bench", http), location_label="📍")
        await timed_async("TelegramChannel.send", lambda: telegram.send("4242", [REPLY]), repeat)
        url = "https://api.telegram.org/bot7000:bench/sendMessage"
        # the body SharedClientRequest sends: the parameters as one JSON document
        markup = {
            "inline_keyboard": [
                [{"text": b.label, "callback_data": b.payload}] for b in REPLY.buttons
            ]
        }
        body = json.dumps({"chat_id": 4242, "text": TEXT, "reply_markup": markup}).encode()
        headers = {"Content-Type": "application/json"}
        post = lambda: http.post(url, content=body, headers=headers)  # noqa: E731
        await timed_async("bare httpx post", post, repeat)

    print("Twilio:")
    fields = twilio_text("5548991234567", "quero internet")
    hook = "https://bot.example.com/webhooks/twilio"
    signature = sign(hook, fields, "token")
    timed("verify_signature", lambda: verify_signature(hook, fields, signature, "token"), repeat)
    timed("parse_form", lambda: parse_form(fields), repeat)
    async with shared_client({"https://api.twilio.com": Answering(201, TW_ANSWER)}) as http:
        whatsapp = WhatsappChannel(
            make_twilio_client(ACCOUNT_SID, "token", http),
            sender=BOT_NUMBER,
            location_hint="📎",
            status_callback="https://bot.example.com/webhooks/twilio/status",
        )
        send = lambda: whatsapp.send("5548991234567", [Reply(TEXT)])  # noqa: E731
        await timed_async("WhatsappChannel.send", send, repeat)
        url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        form = {"To": "whatsapp:+5548991234567", "From": BOT_NUMBER, "Body": TEXT}
        post = lambda: http.post(url, data=form, auth=(ACCOUNT_SID, "token"))  # noqa: E731
        await timed_async("bare httpx post", post, repeat)

        # a status callback (about three a message sent): what the channel does with one
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteStore(Path(tmp) / "bench.db")
            await store.open()
            whatsapp.use_store(store)
            hook = "https://bot.example.com/webhooks/twilio/status"
            delivered = twilio_status("SM" + "b" * 32, "delivered", "5548991234567")
            failed = twilio_status("SM" + "c" * 32, "failed", "5548991234567", error_code="63016")
            signature = sign(hook, delivered, "token")
            check = lambda: verify_signature(hook, delivered, signature, "token")  # noqa: E731
            timed("status: verify_signature", check, repeat)
            timed("status: parse_status", lambda: parse_status(delivered), repeat)
            record = lambda: whatsapp.record_status(parse_status(delivered))  # noqa: E731
            await timed_async("status: record (delivered)", record, repeat)
            record = lambda: whatsapp.record_status(parse_status(failed))  # noqa: E731
            await timed_async("status: record (failed)", record, repeat)
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3000)
    asyncio.run(main(parser.parse_args().repeat))
