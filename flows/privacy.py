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

from bot.engine import FlowSpec, Jump, Row, Turn, back_to_menu
from bot.messages import Button
from bot.nlu.base import Expect
from bot.ozmap.sales import reservations
from flows.common import answer


class State(StrEnum):
    START = "start"
    CONFIRM = "confirm"
    ERASED = "erased"


class Outcome(StrEnum):
    START = "start"
    ERASED = "erased"
    UNCLEAR = "unclear"


S, O = State, Outcome  # noqa: E741  # the table reads better with one-letter names

TRANSITIONS: list[list[Any]] = [
    # outcome     source      dest
    [O.START,     S.START,    S.CONFIRM],
    [O.ERASED,    S.CONFIRM,  S.ERASED],
    [O.UNCLEAR,   S.CONFIRM,  None],
]  # fmt: skip


def ask(turn: Turn) -> None:
    t = turn.t
    lines = [t("privacy.confirm")]
    codes = [r["code"] for r in reservations(turn.context)]
    if codes:
        lines.append(t("privacy.confirm.reservations", codes=", ".join(codes)))
    turn.say(
        "\n\n".join(lines),
        Button("yes", t("privacy.button.erase")),
        Button("no", t("privacy.button.keep")),
    )


async def confirm(turn: Turn) -> Outcome | Jump:
    said = answer(turn)
    if said == "no":
        turn.say(turn.t("privacy.kept"))
        return Jump("menu")
    if said != "yes":
        turn.say(turn.t("common.yes_or_no"))
        return O.UNCLEAR
    turn.erase = True
    turn.say(turn.t("privacy.erased"))
    return O.ERASED


ROWS = [
    #   state       says  expects         step
    Row(S.CONFIRM,  ask,  Expect.YES_NO,  confirm),
    Row(S.ERASED,   rests=True, step=back_to_menu),
]  # fmt: skip


FLOW = FlowSpec(
    name="privacy",
    summary="erase what the bot stores about this conversation, after a confirmation",
    states=State,
    initial=State.START,
    outcomes=Outcome,
    transitions=TRANSITIONS,
    rows=ROWS,
)
