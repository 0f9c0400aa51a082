"""Outage: "estou sem internet". Is there a known mass outage where the customer is?

The customer picks one of the client codes this contact is known by (their reservations, which
become installations) or types one. OZmap is asked for that client's property and its outage
tags: on the client, the property, its box, its splitter port and any region around it
(:class:`bot.ozmap.outage.OutageReader`). The bot never repeats a name or an address from it.

For the contact's own codes:

* a known outage: the team is on it (and, when the provider wants it, a person is called);
* no outage, but the client's status is ERROR: a problem on their connection, a person offered;
* a reservation not installed yet: said so;
* none of these: short troubleshooting steps, then a person offered.

A typed code that is not this contact's could be anybody's, so the answer tells nothing about
it: a mass outage where it is (what anyone asking by address learns), or else one and the same
reply whether the code is unknown, a pending reservation, in error or fine (issue 10 item 8).
OZmap down: the engine's honest message.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Jump, Services, Turn, back_to_menu
from bot.errors import OzmapUnavailable
from bot.messages import Button


class State(StrEnum):
    START = "start"
    ASK_CODE = "ask_code"
    OUTAGE = "outage"
    PROBLEM = "problem"
    NOT_INSTALLED = "not_installed"
    TROUBLESHOOT = "troubleshoot"


S = State
#: states with the answer given; the next message goes back to the menu
ANSWERED = [S.OUTAGE, S.PROBLEM, S.NOT_INSTALLED, S.TROUBLESHOOT]

TRANSITIONS: list[list[Any]] = [
    # trigger          source       dest
    ["start",          S.START,     S.ASK_CODE],
    ["outage",         S.ASK_CODE,  S.OUTAGE],
    ["problem",        S.ASK_CODE,  S.PROBLEM],
    ["not_installed",  S.ASK_CODE,  S.NOT_INSTALLED],
    ["no_outage",      S.ASK_CODE,  S.TROUBLESHOOT],
    ["unknown",        S.ASK_CODE,  None],
    ["unclear",        S.ASK_CODE,  None],
]  # fmt: skip

CODE_PREFIX = "code:"


def looks_like_code(word: str) -> bool:
    """A code has a digit or a joining mark in it ("OZB-7KQ2MX", "cliente_42"); "internet" or
    "caiu" are words."""
    return any(ch.isdigit() or ch in "-_|" for ch in word)


#: a word as a code is spelled (codes are checked further with :func:`looks_like_code`)
WORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z_\-|./]{2,}")
#: how many known codes are offered as buttons (the latest)
SHOWN_CODES = 3


def own_codes(turn: Turn) -> list[str]:
    """The client codes of this contact: its reservations, latest first."""
    codes = [r["code"] for r in turn.context.get("reservations", [])]
    return list(dict.fromkeys(reversed(codes)))


def known_codes(turn: Turn) -> list[str]:
    """The codes offered as buttons: the latest of :func:`own_codes`."""
    return own_codes(turn)[:SHOWN_CODES]


def typed_code(turn: Turn) -> str | None:
    if turn.button is not None and turn.button.startswith(CODE_PREFIX):
        return turn.button.removeprefix(CODE_PREFIX)
    words = WORD.findall(turn.text)
    return next((w for w in words if looks_like_code(w)), None)


def human_or_menu(turn: Turn) -> tuple[Button, Button]:
    t = turn.t
    return Button("intent:handoff", t("menu.option.human")), Button(
        "intent:menu", t("menu.option.menu")
    )


def ask_code(turn: Turn) -> None:
    codes = known_codes(turn)
    if codes:
        turn.say(turn.t("outage.ask_code.known"), *(Button(CODE_PREFIX + c, c) for c in codes))
    else:
        turn.say(turn.t("outage.ask_code"))


async def check(turn: Turn) -> str | Jump:
    code = typed_code(turn)
    if code is None:
        turn.say(turn.t("outage.unclear"))
        return "unclear"
    svc: Services = turn.services
    if svc.outages is None:
        raise OzmapUnavailable("no outage reader was configured in Services")
    status = await svc.outages.status(code)
    own = code in own_codes(turn)
    if not own and (status is None or not status.outage):
        # somebody else's code, or none at all: the same words either way
        turn.say(turn.t("outage.code_checked", code=code), *human_or_menu(turn))
        return "no_outage"
    if status is None:
        turn.say(turn.t("outage.unknown_code", code=code), *human_or_menu(turn))
        return "unknown"
    if status.outage:
        if svc.outage_handoff:
            turn.say(turn.t("outage.known"))
            return Jump("handoff")
        turn.say(turn.t("outage.known"), Button("intent:menu", turn.t("menu.option.menu")))
        return "outage"
    if not status.implanted:
        turn.say(turn.t("outage.not_installed", code=code), *human_or_menu(turn))
        return "not_installed"
    if status.error:
        turn.say(turn.t("outage.problem"), *human_or_menu(turn))
        return "problem"
    turn.say(turn.t("outage.troubleshoot"), *human_or_menu(turn))
    return "no_outage"


FLOW = FlowSpec(
    name="outage",
    summary="known mass outage, a problem on the connection, or troubleshooting",
    states=State,
    initial=State.START,
    transitions=TRANSITIONS,
    steps={S.ASK_CODE: check, **dict.fromkeys(ANSWERED, back_to_menu)},
    prompts={S.ASK_CODE: ask_code},
    resting=frozenset(ANSWERED),
)
