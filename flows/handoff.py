"""Handoff: tell the customer a person will answer, and go quiet.

While the conversation is here the bot answers nothing (routing keeps every message in this
flow, except the way back to the menu); the agent console shows the customer's lines to a person.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Turn


class State(StrEnum):
    START = "start"
    WAITING = "waiting"


TRANSITIONS: list[list[Any]] = [
    # trigger  source         dest
    ["start",  State.START,   State.WAITING],
    ["heard",  State.WAITING, None],
]  # fmt: skip


def announce(turn: Turn) -> None:
    turn.say(turn.t("handoff.waiting"))


async def listen(turn: Turn) -> str:
    # the message is in the transcript for the agent; the bot itself stays silent
    return "heard"


FLOW = FlowSpec(
    name="handoff",
    summary="a person takes over; the bot stays quiet until the customer asks for the menu",
    states=State,
    initial=State.START,
    transitions=TRANSITIONS,
    steps={State.WAITING: listen},
    prompts={State.WAITING: announce},
)
