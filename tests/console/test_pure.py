"""The console's pure parts, table-style: what it shows of a conversation, the Origin check and
the CSRF token. (The login throttle keeps its counts in the store: ``test_throttle.py``.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.requests import Request

from bot.conversation import Conversation, TranscriptEntry
from bot.storage.base import HandoffTicket
from bot.web.console.auth import csrf_token, origin_allowed, tokens_match
from bot.web.console.summary import context_lines, customer_label, reservation_codes, ticket_json

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
SALE: dict[str, Any] = {
    "sales": {
        "place": {"address": "Rua Delminda Silveira, 900", "lat": -27.578234, "lng": -48.527443},
        "feasibility": {"kind": "box", "boxes": ["b1"], "distance": 21.4},
        "name": "Bruno Lima",
        "cpf": "52998224725",
    },
    "reservations": [{"code": "OZB-ABC234", "address": "Rua Delminda Silveira, 900"}],
}


@pytest.mark.parametrize(
    ("context", "key", "label"),
    [
        (SALE, "whatsapp:5548991234567", "Bruno Lima"),
        ({}, "whatsapp:5548991234567", "***4567"),
        ({}, "telegram:552201", "…2201"),
        ({}, "webchat:Zx81_kq2", "visitante _kq2"),
        ({"sales": {"name": "  "}}, "telegram:123456789", "***6789"),
        ({"profile_name": "Ana P."}, "telegram:552201", "Ana P."),
        ({**SALE, "profile_name": "Ana P."}, "telegram:552201", "Bruno Lima"),
    ],
)
def test_the_customer_is_named_without_showing_their_number(
    context: dict[str, Any], key: str, label: str
) -> None:
    channel, _, contact = key.partition(":")
    conversation = Conversation(key=key, channel=channel, contact=contact, context=context)
    assert customer_label(conversation, key) == label


def test_context_lines_show_what_the_bot_learned_with_the_cpf_masked() -> None:
    assert context_lines(SALE) == [
        ("Endereço", "Rua Delminda Silveira, 900"),
        ("Coordenadas", "-27.578234, -48.527443"),
        ("Viabilidade", "viável (caixa), caixa a 21 m"),
        ("Nome", "Bruno Lima"),
        ("CPF", "***.***.*47-25"),
        ("Reserva", "OZB-ABC234 — Rua Delminda Silveira, 900"),
    ]
    condo = {
        "sales": {
            "feasibility": {
                "kind": "condominium",
                "condominium": {"name": "Residencial Ilha"},
                "boxes": ["c1"],
            },
            "unit": "apto 302",
        }
    }
    assert context_lines(condo) == [
        ("Viabilidade", "viável (condomínio): Residencial Ilha"),
        ("Unidade", "apto 302"),
    ]
    assert context_lines({}) == []
    assert context_lines({"sales": "garbage", "reservations": "garbage"}) == []


def test_only_well_formed_reservations_are_codes_to_act_on() -> None:
    context = {"reservations": [{"code": "OZB-1"}, {"address": "no code"}, "junk", {"code": 7}]}
    assert reservation_codes(context) == [{"code": "OZB-1", "address": ""}]


def test_a_ticket_shows_the_last_customer_line() -> None:
    ticket = HandoffTicket(id=3, key="telegram:42", status="claimed", reason="asked", since=T0,
                           agent="maria")  # fmt: skip
    lines = [
        TranscriptEntry("customer", "primeira", T0),
        TranscriptEntry("customer", "<b>segunda</b>", T0),
        TranscriptEntry("bot", "resposta", T0),
    ]
    shown = ticket_json(ticket, None, lines, "joao")
    assert shown["last_message"]["text"] == "<b>segunda</b>"  # data; the page renders text
    assert shown["channel"] == "telegram" and shown["reason"] == "pediu atendente"
    assert shown["mine"] is False and shown["agent"] == "maria"
    assert ticket_json(ticket, None, [], "maria")["last_message"] is None


def request(headers: dict[str, str], host: str = "127.0.0.1:8000") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": host, **headers}.items()]
    return Request({"type": "http", "method": "POST", "scheme": "http", "path": "/",
                    "headers": raw, "query_string": b""})  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": "https://bot.example.com.br"}, True),  # the public URL
        ({"Origin": "http://127.0.0.1:8000"}, True),  # the host reached directly
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Referer": "https://bot.example.com.br/console/"}, True),
        ({"Referer": "https://evil.example/console/"}, False),
        ({}, False),
    ],
)
def test_origin_check(headers: dict[str, str], allowed: bool) -> None:
    assert origin_allowed(request(headers), "https://bot.example.com.br") is allowed


def test_the_csrf_token_belongs_to_its_session() -> None:
    token = csrf_token("session-a")
    assert tokens_match(token, csrf_token("session-a"))
    assert not tokens_match(token, csrf_token("session-b"))
    assert not tokens_match(None, token)
    assert not tokens_match("", token)
