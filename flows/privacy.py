"""Privacy (LGPD): "apagar meus dados". After a confirmation the bot deletes what it stores
about this conversation: its transcript, its context, the address lookups it can attribute to
it, its pending timers and its place in the agents' queue. Records in OZmap (reservations,
clients, prospects) are the provider's and stay; the customer is told so, and warned first when
this contact has reservations the bot could no longer cancel afterwards.

The step only asks for the erasure (``turn.erase``); the engine performs it after the turn,
and says so honestly if the database refused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Jump, Turn, back_to_menu
from bot.messages import Button
from flows.sales import answer


class State(StrEnum):
    START = "start"
    CONFIRM = "confirm"
    ERASED = "erased"


TRANSITIONS: list[list[Any]] = [
    # trigger   source          dest
    ["start",   State.START,    State.CONFIRM],
    ["erased",  State.CONFIRM,  State.ERASED],
    ["unclear", State.CONFIRM,  None],
]  # fmt: skip


def ask(turn: Turn) -> None:
    t = turn.t
    lines = [t("privacy.confirm")]
    codes = [r["code"] for r in turn.context.get("reservations", [])]
    if codes:
        lines.append(t("privacy.confirm.reservations", codes=", ".join(codes)))
    turn.say(
        "\n\n".join(lines),
        Button("yes", t("privacy.button.erase")),
        Button("no", t("privacy.button.keep")),
    )


async def confirm(turn: Turn) -> str | Jump:
    said = answer(turn)
    if said == "no":
        turn.say(turn.t("privacy.kept"))
        return Jump("menu")
    if said != "yes":
        turn.say(turn.t("common.yes_or_no"))
        return "unclear"
    turn.erase = True
    turn.say(turn.t("privacy.erased"))
    return "erased"


FLOW = FlowSpec(
    name="privacy",
    summary="erase what the bot stores about this conversation, after a confirmation",
    states=State,
    initial=State.START,
    transitions=TRANSITIONS,
    steps={State.CONFIRM: confirm, State.ERASED: back_to_menu},
    prompts={State.CONFIRM: ask},
    resting=frozenset({State.ERASED}),
)
