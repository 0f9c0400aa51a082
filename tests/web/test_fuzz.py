"""A fuzz corpus of malformed requests on every public route: none may get a 5xx.

The server is ``ozbot serve``'s real app (product flows, OZmap sandbox, messenger fakes) on
loopback, on SQLite and on PostgreSQL. The requests are mutations of valid ones, drawn from a
seeded generator, so a run is the same every time (and in CI): each route's valid request with
one part broken (a value replaced by a huge number, a NUL, a lone surrogate, a deep nest, a
wrong type; a field dropped; the body truncated, garbled or not UTF-8; a wrong content type,
method or path parameter). Webhooks are fuzzed behind a valid secret or signature (computed
over the mutated form), and the console's API behind a real login, so the mutations reach the
parsers and the handlers, not just the gatekeeping. ``FUZZ_SEED`` and ``FUZZ_ROUNDS`` change
the corpus for a longer local run; the counts are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from bot.agents import create_agent
from bot.ozmap.sandbox import RunningSandbox
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
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
from tests.fakes.twilio_api import sign
from tests.storage.conftest import postgres_schema, postgres_url
from tests.web.support import TG_SECRET, TW_TOKEN, app_for, channel_settings, make_fakes, running

__all__ = ["postgres_schema", "postgres_url"]  # fixtures, reached through `served`

SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
ROUNDS = int(os.environ.get("FUZZ_ROUNDS", "1"))
PASSWORD = "correct horse battery"
PUBLIC = "http://127.0.0.1"

# strings that broke, or could break, something on the way to a database, a log or an answer
NASTY = [
    "",
    " ",
    "\u0000",
    "oi\u0000tudo",
    "\ud800",
    "a\udfffb",
    "\ufeff",
    "\u202eabc",
    "💥" * 50,
    "x" * 5000,
    "%s%n{0}{ticket}",
    "<script>alert(1)</script>",
    "'; DROP TABLE conversations; --",
    "../../etc/passwd",
    "whatsapp:+5511987654321",
    "\r\nSet-Cookie: x=1",
    "NaN",
]
NUMBERS: list[Any] = [0, -1, 1, 2**31, 2**63, 2**64 + 1, -(2**70), 10**400, 1.5, -0.0, 1e308]


@dataclass
class Tally:
    tries: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def record(self, what: str, response: httpx.Response) -> None:
        self.tries += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {what}: {response.text[:200]!r}")


class Mutator:
    """Broken variants of valid values, from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def scalar(self) -> Any:
        pick = self.rng.randrange(6)
        if pick == 0:
            return self.rng.choice(NASTY)
        if pick == 1:
            return self.rng.choice(NUMBERS)
        if pick == 2:
            return self.rng.choice([None, True, False])
        if pick == 3:
            return self.rng.choice([[], {}, [1, "a"], {"a": None}])
        if pick == 4:
            return self.nest(self.rng.choice([40, 300]))  # deeper: raw, in body()
        return "".join(chr(self.rng.randrange(0, 0x10FFFF)) for _ in range(self.rng.randrange(8)))

    def nest(self, depth: int) -> Any:
        value: Any = "deep"
        for level in range(depth):
            value = [value] if level % 2 else {"a": value}
        return value

    def json_doc(self, doc: Any) -> Any:
        """``doc`` with one value somewhere in it replaced, removed or added to."""
        if not isinstance(doc, dict | list) or not doc or self.rng.random() < 0.3:
            return self.scalar()
        doc = json.loads(json.dumps(doc))  # a copy
        keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
        key = self.rng.choice(keys)
        action = self.rng.randrange(4)
        if action == 0 and isinstance(doc, dict):
            del doc[key]
        elif action == 1 and isinstance(doc, dict):
            doc[self.rng.choice(NASTY) or "k"] = self.scalar()
        else:
            doc[key] = self.json_doc(doc[key])
        return doc

    def form(self, form: dict[str, str]) -> dict[str, str]:
        form = dict(form)
        key = self.rng.choice(list(form))
        action = self.rng.randrange(3)
        if action == 0:
            del form[key]
        elif action == 1:
            form[key] = str(self.scalar())
        else:
            form[self.rng.choice(NASTY) or "k"] = str(self.rng.choice(NASTY))
        return form

    def body(self, body: bytes) -> bytes:
        """The bytes of a body, broken as a transport or an attacker might."""
        pick = self.rng.randrange(6)
        if pick == 0:
            return body[: self.rng.randrange(len(body) + 1)]
        if pick == 1:
            data = bytearray(body)
            for _ in range(self.rng.randrange(1, 6)):
                if data:
                    data[self.rng.randrange(len(data))] = self.rng.randrange(256)
            return bytes(data)
        if pick == 2:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 300)))
        if pick == 3:
            return b"\xff\xfe" + body
        if pick == 4:
            return b"[" * 20_000 + b"]" * 20_000
        return body.replace(b'"', b"'")


def _form_bytes(form: dict[str, str]) -> bytes:
    # surrogatepass: a lone surrogate travels as the (invalid) UTF-8 bytes it would encode to
    return urlencode(list(form.items()), errors="surrogatepass").encode()


def _json_bytes(doc: Any) -> bytes:
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, as a client would send them
    return json.dumps(doc).encode()


@dataclass
class Served:
    url: str
    state: AppState
    console_csrf: str
    console_cookie: str
    ticket: int


def _served_options(request: pytest.FixtureRequest) -> tuple[dict[str, Any], Store | None]:
    fakes = make_fakes()
    options: dict[str, Any] = {"http_mounts": fakes.mounts}
    store: Store | None = None
    if request.param == "postgres":
        store = PostgresStore(
            request.getfixturevalue("postgres_url"),
            schema=request.getfixturevalue("postgres_schema"),
            max_size=4,
        )
        options["store"] = store
    return options, store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def served(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox: RunningSandbox
) -> AsyncIterator[Served]:
    options, store = _served_options(request)
    if store is not None:
        await store.open()
    settings = channel_settings(tmp_path, sandbox, public_base_url=PUBLIC)
    app = app_for(settings, sse_seconds=0.3, **options)
    try:
        async with running(app) as url, httpx.AsyncClient(base_url=url) as http:
            state: AppState = app.state.ozbot
            await create_agent(state.runtime.store, "maria", PASSWORD)
            csrf = await _login(http, url)
            # a ticket to act on: a customer asks for a person
            update = tg_text(1, 4242, "quero falar com um atendente")
            await http.post(
                "/webhooks/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
            )
            await state.dispatcher.join()
            ticket = await state.runtime.store.open_handoff("telegram:4242")
            assert ticket is not None
            yield Served(url, state, csrf, http.cookies["ozbot_console"], ticket.id)
    finally:
        if store is not None:
            await store.close()


async def _login(http: httpx.AsyncClient, url: str) -> str:
    form = await http.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    done = await http.post(
        "/console/login",
        data={"csrf": token.group(1), "name": "maria", "password": PASSWORD},
        headers={"Origin": url},
    )
    assert done.status_code == 303
    page = await http.get("/console/")
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found
    return found.group(1)


Case = Callable[[Mutator], tuple[str, str, dict[str, Any]]]


def _telegram(m: Mutator) -> tuple[str, str, dict[str, Any]]:
    valid = m.rng.choice(
        [
            tg_text(m.rng.randrange(10**6), 5500, "quero contratar"),
            tg_callback(m.rng.randrange(10**6), 5500, "intent:sales"),
            tg_location(m.rng.randrange(10**6), 5500, -27.59, -48.54),
            tg_contact(m.rng.randrange(10**6), 5500, "5548999990001"),
        ]
    )
    body = _json_bytes(m.json_doc(valid)) if m.rng.random() < 0.7 else m.body(_json_bytes(valid))
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    return "POST", "/webhooks/telegram", {"content": body, "headers": headers}


def _twilio(path: str) -> Case:
    def case(m: Mutator) -> tuple[str, str, dict[str, Any]]:
        sid = f"SM{m.rng.randrange(16**32):032x}"
        valid = (
            twilio_status(sid, "delivered", "5548999990002")
            if path.endswith("status")
            else m.rng.choice(
                [
                    twilio_text("5548999990002", "oi", message_sid=sid),
                    twilio_location("5548999990002", -27.59, -48.54),
                    twilio_button("5548999990002", "intent:outage", "Falha"),
                ]
            )
        )
        body = _form_bytes(m.form(valid))
        # signed over what the server will parse out of the body, as Twilio signs what it sent
        signature = sign(PUBLIC + path, dict(parse_qsl(body.decode())), TW_TOKEN)
        if m.rng.random() < 0.25:
            body = m.body(body)  # the signature no longer matches, or nothing parses
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        return "POST", path, {"content": body, "headers": headers}

    return case


def _chat_message(m: Mutator) -> tuple[str, str, dict[str, Any]]:
    valid = m.rng.choice(
        [{"id": "m1", "text": "oi"}, {"button": "intent:sales"}, {"location": {"lat": 1, "lng": 2}}]
    )
    body = _json_bytes(m.json_doc(valid)) if m.rng.random() < 0.7 else m.body(_json_bytes(valid))
    content_type = m.rng.choice(["application/json"] * 4 + ["text/plain", ""])
    return (
        "POST",
        "/chat/api/messages",
        {"content": body, "headers": {"Content-Type": content_type}},
    )


def _console_api(served: Served) -> Case:
    def case(m: Mutator) -> tuple[str, str, dict[str, Any]]:
        ticket = m.rng.choice([str(served.ticket)] * 3 + ["0", "9" * 30, "-1", "1e9", "%00"])
        action = m.rng.choice(["claim", "messages", "ozmap", "release"])
        valid: Any = {
            "claim": {},
            "messages": {"text": "olá"},
            "ozmap": {"action": "activate", "code": "OZB-AAAAAA"},
            "release": {"outcome": "released"},
        }[action]
        body = (
            _json_bytes(m.json_doc(valid)) if m.rng.random() < 0.7 else m.body(_json_bytes(valid))
        )
        headers = {
            "Origin": served.url,
            "X-CSRF-Token": served.console_csrf,
            "Content-Type": m.rng.choice(["application/json"] * 4 + ["text/plain"]),
        }
        if m.rng.random() < 0.3:
            return "GET", f"/console/api/tickets/{ticket}", {}
        return (
            "POST",
            f"/console/api/tickets/{ticket}/{action}",
            {"content": body, "headers": headers},
        )

    return case


def _console_forms(served: Served) -> Case:
    def case(m: Mutator) -> tuple[str, str, dict[str, Any]]:
        path = m.rng.choice(["/console/login", "/console/logout"])
        valid = {"csrf": "x" * 43, "name": "maria", "password": "wrong password!"}
        body = _form_bytes(m.form(valid))
        if m.rng.random() < 0.3:
            body = m.body(body)
        headers = {"Origin": served.url, "Content-Type": "application/x-www-form-urlencoded"}
        return "POST", path, {"content": body, "headers": headers}

    return case


def _gets(m: Mutator) -> tuple[str, str, dict[str, Any]]:
    path = m.rng.choice(
        [
            "/healthz",
            "/readyz",
            "/metrics",
            "/chat",
            "/chat/api/events",
            "/chat/static/webchat.js",
            "/chat/static/..%2f..%2fsettings.py",
            "/console/",
            "/console/login",
            "/console/queue",
            "/console/api/queue",
            "/console/api/events",
            "/console/tickets/" + m.rng.choice(["1", "9" * 40, "x"]),
            "/console/static/console.js",
            "/webhooks/telegram",
            "/nowhere",
        ]
    )
    nasty = m.rng.choice(NASTY).encode("utf-8", "surrogatepass")
    headers = {
        m.rng.choice(["Accept-Language", "Cookie", "Referer", "Origin", "Accept"]): nasty,
    }
    method = m.rng.choice(["GET"] * 5 + ["POST", "PUT", "DELETE", "OPTIONS", "HEAD"])
    query = urlencode({"q": m.rng.choice(NASTY)}, errors="surrogatepass")
    return method, f"{path}?{query}", {"headers": headers}


async def _fuzz(served: Served, rounds: int) -> Tally:
    tally = Tally()
    m = Mutator(SEED)
    cases: list[tuple[Case, int]] = [
        (_telegram, 120),
        (_twilio("/webhooks/twilio"), 80),
        (_twilio("/webhooks/twilio/status"), 40),
        (_chat_message, 100),
        (_console_api(served), 120),
        (_console_forms(served), 40),
        (_gets, 80),
    ]
    chat_page = await _visitor_cookie(served.url)
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as anonymous:
        for _ in range(rounds):
            for case, count in cases:
                for _ in range(count):
                    method, path, options = case(m)
                    cookies = {"ozbot_chat": chat_page} if path.startswith("/chat") else {}
                    if path.startswith("/console"):
                        # logged in (the fuzzed logouts never carry the session's token)
                        cookies = {"ozbot_console": served.console_cookie}
                    anonymous.cookies.clear()
                    for name, value in cookies.items():
                        anonymous.cookies.set(name, value)
                    try:
                        response = await anonymous.request(method, path, **options)
                    except httpx.LocalProtocolError:
                        continue  # a header no client can send (a CR LF in it)
                    except httpx.RemoteProtocolError as exc:  # the server dropped us
                        tally.tries += 1
                        tally.failures.append(f"dropped {method} {path}: {exc}")
                        continue
                    tally.record(f"{method} {path} {str(options)[:160]}", response)
        await served.state.dispatcher.join()
    return tally


async def _visitor_cookie(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as visitor:
        page = await visitor.get("/chat")
        return page.cookies["ozbot_chat"]


async def test_no_malformed_request_gets_a_5xx(served: Served) -> None:
    tally = await _fuzz(served, ROUNDS)
    print(f"\nfuzz seed {SEED}: {tally.tries} requests, {len(tally.failures)} >= 500")
    print("statuses:", dict(sorted(tally.statuses.items())))
    assert tally.failures == [], "\n".join(tally.failures[:20])
    assert tally.tries >= 540 * ROUNDS
    # the server still serves: a healthy customer is answered
    assert (await httpx.AsyncClient(base_url=served.url).get("/readyz")).status_code == 200
