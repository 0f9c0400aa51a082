"""A compiled flow's machine: a trigger moves the turn and runs the entered state's prompt, in
one piece (no await inside a transition), and refuses what its table does not allow."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Any, cast

import pytest
from transitions import MachineError

from bot.engine import FlowSpec, Row, Turn
from bot.engine.machine import CompiledFlow, FlowDefinitionError


class State(StrEnum):
    START = "start"
    ASK = "ask"
    DONE = "done"


class Outcome(StrEnum):
    START = "start"
    ANSWERED = "answered"


TABLE = [
    [Outcome.START, State.START, State.ASK],
    [Outcome.ANSWERED, State.ASK, State.DONE],
]


class Model:
    """What the machine reads and writes: ``state``; the prompts here record what they see."""

    def __init__(self, state: State) -> None:
        self.state: Any = state  # whatever the machine set last
        self.seen: list[Any] = []

    def where(self) -> State:
        return cast(State, self.state)

    @property
    def turn(self) -> Turn:
        return cast(Turn, self)  # the machine reads and writes ``state`` alone


def spec(says: Any) -> FlowSpec:
    return FlowSpec(
        name="tiny",
        summary="a question",
        states=State,
        initial=State.START,
        outcomes=Outcome,
        transitions=TABLE,
        rows=[Row(State.ASK, says), Row(State.DONE, rests=True)],
    )


async def test_a_trigger_moves_the_turn_and_runs_the_prompt_entered() -> None:
    def ask(turn: Turn) -> None:
        turn.seen.append(turn.state)  # type: ignore[attr-defined]

    flow = CompiledFlow(spec(ask))
    model = Model(State.START)
    await flow.begin(model.turn)
    assert model.where() is State.ASK
    assert model.seen == [State.ASK]  # the prompt ran with the state already entered
    await flow.fire(model.turn, Outcome.ANSWERED)
    assert model.where() is State.DONE
    with pytest.raises(MachineError):
        await flow.fire(model.turn, Outcome.ANSWERED)  # not from DONE
    with pytest.raises(MachineError, match="no trigger"):
        await flow.fire(model.turn, "nonsense")


async def test_a_prompt_that_raises_stops_the_trigger_with_its_error() -> None:
    def ask(turn: Turn) -> None:
        raise RuntimeError("prompt failed")

    flow = CompiledFlow(spec(ask))
    with pytest.raises(RuntimeError, match="prompt failed"):
        await flow.begin(Model(State.START).turn)


async def test_a_transition_never_yields_to_other_turns() -> None:
    """Turns of many customers share one machine: no other task runs inside a transition."""
    ran: list[str] = []

    def ask(turn: Turn) -> None:
        turn.seen.append(list(ran))  # type: ignore[attr-defined]

    async def other() -> None:
        ran.append("other")

    flow = CompiledFlow(spec(ask))
    model = Model(State.START)
    task = asyncio.create_task(other())
    await flow.begin(model.turn)
    assert model.seen == [[]]  # the other task had not run when the prompt did
    assert not task.done()  # nor by the time the trigger returned: it never awaited
    await task
    assert ran == ["other"]


def test_a_coroutine_prompt_is_refused_at_start_up() -> None:
    async def ask(turn: Turn) -> None:
        return None

    with pytest.raises(FlowDefinitionError, match="coroutine"):
        CompiledFlow(spec(ask))
