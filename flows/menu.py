"""Menu: greet the customer and offer what the bot does, as buttons (numbered where a channel has
none). The buttons carry ``intent:<name>`` payloads, so choosing one routes exactly like typing the
intent ("quero contratar", "atendente"); anything else gets the options again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Row, Turn
from bot.engine.flow import AFTER_FLOW_KEY
from bot.messages import Button
from bot.nlu.base import Expect
from flows.plan_choice import list_plans


class State(StrEnum):
    START = "start"
    CHOOSING = "choosing"


class Outcome(StrEnum):
    START = "start"
    UNCLEAR = "unclear"


TRANSITIONS: list[list[Any]] = [
    # outcome          source          dest
    [Outcome.START,    State.START,    State.CHOOSING],
    [Outcome.UNCLEAR,  State.CHOOSING, None],
]  # fmt: skip


def options(turn: Turn) -> list[Button]:
    t = turn.t
    return [
        Button("intent:sales", t("menu.option.sales")),
        Button("intent:outage", t("menu.option.outage")),
        Button("intent:cancel", t("menu.option.cancel")),
        Button("intent:handoff", t("menu.option.human")),
    ]


def greet(turn: Turn) -> None:
    t = turn.t
    after = turn.context.pop(AFTER_FLOW_KEY, None)
    if turn.replies or after:
        # the bot has just answered something ("tem fidelidade?"), or a flow just finished ("poxa,
        # me avisa quando chegar entao" after the prospect): not the whole introduction again,
        # only the offer of more
        turn.say(t("menu.more"), *options(turn))
        return
    if turn.intent == "affirm":
        # "sim" to "Posso ajudar em mais alguma coisa?": the options, no introduction again
        turn.say(t("menu.go_on"), *options(turn))
        return
    name = (turn.message.name or "").strip()
    text = t("menu.greeting.named", name=name) if name else t("menu.greeting")
    turn.say(text, *options(turn))


async def choose(turn: Turn) -> Outcome:
    # routing already sent every recognisable intent (typed or tapped) to its flow
    turn.say(turn.t("menu.unclear"), *options(turn))
    return Outcome.UNCLEAR


ROWS = [
    #   state           says    expects          step
    Row(State.CHOOSING, greet,  Expect.NOTHING,  choose),
]  # fmt: skip


FLOW = FlowSpec(
    name="menu",
    summary="greeting and the choices the bot offers",
    states=State,
    initial=State.START,
    outcomes=Outcome,
    transitions=TRANSITIONS,
    rows=ROWS,
    options=list_plans,  # "quais as opcoes?": the plans, then the menu's own options
)
