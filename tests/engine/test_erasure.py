"""What an erasure gathers for the geocoder to forget: the customer's own lines (texts and
pins, as the engine writes them) and what each flow declares its context holds. Pure; the
whole erasure, through the real cached geocoder, is in ``tests/flows/test_privacy.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.conversation import TranscriptEntry
from bot.engine.erasure import customer_lookups, declared_lookups
from bot.engine.shared import describe
from bot.geo.base import Lookups
from bot.messages import Inbound, Location
from flows import FLOWS, sales

AT = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)


def line(role: Any, text: str) -> TranscriptEntry:
    return TranscriptEntry(role, text, AT)


def test_every_customer_line_is_a_text_and_a_pin_is_a_point() -> None:
    pin = Inbound(channel="t", contact="1", location=Location(-27.5782336, -48.5274428))
    lines = [
        line("customer", "R. Delminda Silveira, 900"),
        line("bot", "Encontrei: Rua Delminda Silveira, 900"),  # the bot's words are not asked
        line("customer", "   "),
        line("customer", describe(pin, [])),
        line("agent", "-27.1, -48.1 is the office"),
    ]
    found = customer_lookups(lines)
    assert found.texts == ("R. Delminda Silveira, 900", describe(pin, []))
    assert found.points == ((-27.578234, -48.527443),)


def test_the_flows_declare_what_their_context_holds() -> None:
    context = {
        "sales": {
            "cep": {"cep": "88025500", "street": "Rua Delminda Silveira", "city": "Florianópolis"},
            "candidates": [
                {"address": "Rua Delminda Silveira, 900", "lat": -27.5782, "lng": -48.5274,
                 "street": "Rua Delminda Silveira", "number": "900"},
                {"address": "a pin without a street", "lat": -27.5, "lng": -48.5},
                "not a place",
            ],
            "place": {"address": "no point", "lat": "?", "lng": None},
        }
    }  # fmt: skip
    assert declared_lookups(FLOWS, context) == Lookups(
        texts=(
            "Rua Delminda Silveira, 900, Florianópolis",
            "Rua Delminda Silveira, Florianópolis",
        ),
        points=((-27.5782, -48.5274), (-27.5, -48.5)),
    )
    assert sales.FLOW.lookups is not None
    assert declared_lookups(FLOWS, {}) == Lookups()
    assert declared_lookups(FLOWS, {"sales": "garbage"}) == Lookups()
