"""A flow's one table: rows fill the steps, prompts, resting states and expectations; outcomes
are an enum the table must keep to."""

from __future__ import annotations

from enum import StrEnum

import pytest

from bot.engine import FlowSpec, Row, Turn, back_to_menu
from bot.engine.diagrams import mermaid
from bot.engine.machine import CompiledFlow, FlowDefinitionError
from bot.nlu.base import Expect
from flows import sales


class State(StrEnum):
    START = "start"
    ASK = "ask"
    DONE = "done"


class Outcome(StrEnum):
    START = "start"
    ANSWERED = "answered"
    UNCLEAR = "unclear"


def ask(turn: Turn) -> None:
    turn.say("?")


async def read(turn: Turn) -> Outcome:
    return Outcome.ANSWERED


TABLE = [
    [Outcome.START, State.START, State.ASK],
    [Outcome.ANSWERED, State.ASK, State.DONE],
    [Outcome.UNCLEAR, State.ASK, None],
]


def spec(**changes: object) -> FlowSpec:
    fields: dict[str, object] = {
        "name": "tiny",
        "summary": "a question",
        "states": State,
        "initial": State.START,
        "outcomes": Outcome,
        "transitions": TABLE,
        "rows": [
            Row(State.ASK, ask, Expect.NAME, read),
            Row(State.DONE, rests=True, step=back_to_menu),
        ],
    }
    fields.update(changes)
    return FlowSpec(**fields)  # type: ignore[arg-type]


def test_rows_fill_the_maps_the_engine_reads() -> None:
    flow = spec()
    assert flow.steps == {State.ASK: read, State.DONE: back_to_menu}
    assert flow.prompts == {State.ASK: ask}
    assert flow.resting == frozenset({State.DONE})
    assert flow.expects_in(State.ASK) is Expect.NAME
    assert flow.expects_in(State.DONE) is Expect.NOTHING
    assert flow.expects_in(None) is Expect.NOTHING
    CompiledFlow(flow)  # outcomes as enum members are transitions' triggers


def test_a_state_has_one_row() -> None:
    with pytest.raises(ValueError, match="two rows"):
        spec(rows=[Row(State.ASK, ask), Row(State.ASK, step=read)])


def test_rows_and_maps_do_not_mix() -> None:
    with pytest.raises(ValueError, match="not both"):
        spec(steps={State.ASK: read})


def test_a_trigger_outside_the_outcomes_is_refused_at_start_up() -> None:
    with pytest.raises(FlowDefinitionError, match="'typo' is not one of its outcomes"):
        CompiledFlow(spec(transitions=[*TABLE, ["typo", State.ASK, State.DONE]]))


def test_the_diagram_says_what_each_state_expects() -> None:
    text = mermaid(sales.FLOW)
    assert "    ask_name : expects name" in text
    assert "    reserved : rests" in text
    assert "    confirm --> ports_gone : ports_gone" in text
