"""Menu: greet the customer and offer what the bot does, as buttons (numbered where a channel has
none). The buttons carry ``intent:<name>`` payloads, so choosing one routes exactly like typing the
intent ("quero contratar", "atendente"); anything else gets the options again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Turn
from bot.messages import Button


class State(StrEnum):
    START = "start"
    CHOOSING = "choosing"


TRANSITIONS: list[list[Any]] = [
    # trigger    source          dest
    ["start",    State.START,    State.CHOOSING],
    ["unclear",  State.CHOOSING, None],
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
    name = (turn.message.name or "").strip()
    text = t("menu.greeting.named", name=name) if name else t("menu.greeting")
    turn.say(text, *options(turn))


async def choose(turn: Turn) -> str:
    # routing already sent every recognisable intent (typed or tapped) to its flow
    turn.say(turn.t("menu.unclear"), *options(turn))
    return "unclear"


FLOW = FlowSpec(
    name="menu",
    summary="greeting and the choices the bot offers",
    states=State,
    initial=State.START,
    transitions=TRANSITIONS,
    steps={State.CHOOSING: choose},
    prompts={State.CHOOSING: greet},
)
