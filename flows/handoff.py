"""Handoff: tell the customer a person will answer (and when, outside business hours), and go
quiet.

While the conversation is here the bot answers nothing (routing keeps every message in this
flow, except the way back to the menu). The engine puts the conversation in the agents' queue
on entering, keeps the customer's lines in the transcript for the agent, and announces them to
the console (:mod:`bot.engine.events`); an agent, or the timer for a request nobody took, gives
the conversation back to the bot.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Row, Turn
from bot.nlu.base import Expect


class State(StrEnum):
    START = "start"
    WAITING = "waiting"


class Outcome(StrEnum):
    START = "start"
    HEARD = "heard"  # kept for the agent; the bot says nothing


S, O = State, Outcome  # noqa: E741  # the table reads better with one-letter names

TRANSITIONS: list[list[Any]] = [
    # outcome   source     dest
    [O.START,   S.START,   S.WAITING],
    [O.HEARD,   S.WAITING, None],
]  # fmt: skip


def weekday(turn: Turn, day: int) -> str:
    t = turn.t
    names = (
        t("common.weekday.mon"),
        t("common.weekday.tue"),
        t("common.weekday.wed"),
        t("common.weekday.thu"),
        t("common.weekday.fri"),
        t("common.weekday.sat"),
        t("common.weekday.sun"),
    )
    return names[day]


def next_opening(turn: Turn) -> datetime | None:
    """When the team opens next, in the team's time zone; None when it is open now (or no
    hours are configured)."""
    services = turn.services
    hours = getattr(services, "business_hours", None)
    if hours is None:
        return None
    now: datetime = services.clock()
    opens: datetime | None = hours.next_opening(now)
    if opens is None or opens == now:
        return None
    local: datetime = opens.astimezone(hours.zone)
    return local


def announce(turn: Turn) -> None:
    opens = next_opening(turn)
    if opens is None:
        turn.say(turn.t("handoff.waiting"))
        return
    turn.say(
        turn.t(
            "handoff.waiting.closed",
            weekday=weekday(turn, opens.weekday()),
            date=opens.strftime("%d/%m"),
            time=opens.strftime("%H:%M"),
        )
    )


async def listen(turn: Turn) -> Outcome:
    # the message is in the transcript for the agent; the bot itself stays silent
    return O.HEARD


ROWS = [
    #   state       says      expects       step
    # whatever the customer writes is for the person who takes over
    Row(S.WAITING,  announce, Expect.TEXT,  listen),
]  # fmt: skip


FLOW = FlowSpec(
    name="handoff",
    summary="a person takes over; the bot stays quiet until the customer asks for the menu",
    states=State,
    initial=State.START,
    outcomes=Outcome,
    transitions=TRANSITIONS,
    rows=ROWS,
)
