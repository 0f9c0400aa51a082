"""A flow's ``transitions`` machine, built once at start-up and shared by every conversation.

The machine is created with ``model=None``: no conversation is ever added to it. Each turn builds
a :class:`~bot.engine.flow.Turn` and fires the trigger on it directly
(``machine.events[trigger].trigger(turn)``), which reads and writes ``turn.state`` only. This costs
about a third of ``add_model``/``remove_model`` per turn (measured: ~30 µs against ~100 µs).

It is ``transitions``' plain (synchronous) ``Machine``, not its ``AsyncMachine``: a flow's
prompts are pure functions (no I/O; a step's I/O runs before the machine moves), so nothing in a
transition awaits, and ``AsyncMachine``'s per-trigger tasks, context variables and callback
gathering cost 50 µs a trigger against 10 µs (bench: /work/coord/notes/perf-turn.md). A
transition then runs from its first callback to its last without yielding to the event loop,
so concurrent turns of different customers share one machine safely, with no per-model data
kept at all. A coroutine function as a prompt is refused when the flow is compiled.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from typing import Any

from transitions import Machine, MachineError

from bot.engine.flow import FlowSpec, Prompt, Turn

__all__ = ["CompiledFlow", "FlowDefinitionError", "trigger_name"]

START = "start"


def trigger_name(outcome: Enum | str) -> str:
    """An outcome as ``transitions`` knows it: the enum member's value, or the string itself."""
    return str(outcome.value) if isinstance(outcome, Enum) else outcome


class FlowDefinitionError(ValueError):
    """A flow's table names a state it does not declare, or misses its ``start`` trigger."""


def _enter(prompt: Prompt) -> Callable[[Any], None]:
    # send_event=True hands callbacks an EventData; the flow's prompt wants the Turn
    def callback(event_data: Any) -> None:
        prompt(event_data.model)

    return callback


class CompiledFlow:
    """A :class:`FlowSpec` with its machine. Raises :class:`FlowDefinitionError` when the table is
    inconsistent, so a broken flow fails at start-up rather than in a customer's chat."""

    def __init__(self, spec: FlowSpec) -> None:
        self.spec = spec
        self._check(spec)
        self.machine = Machine(
            model=None,
            states=list(spec.states),
            transitions=[[trigger_name(row[0]), *row[1:]] for row in spec.transitions],
            initial=spec.initial,
            send_event=True,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            name=spec.name,
        )
        for state, prompt in spec.prompts.items():
            self.machine.get_state(state).on_enter.append(_enter(prompt))

    @staticmethod
    def _check(spec: FlowSpec) -> None:
        members = set(spec.states)
        triggers = set()
        outcomes = None if spec.outcomes is None else {trigger_name(o) for o in spec.outcomes}
        for row in spec.transitions:
            trigger, source, dest = trigger_name(row[0]), row[1], row[2]
            if outcomes is not None and trigger not in outcomes:
                raise FlowDefinitionError(
                    f"flow {spec.name!r}: {trigger!r} is not one of its outcomes"
                )
            triggers.add(trigger)
            sources = [] if source == "*" else source if isinstance(source, list) else [source]
            for state in [*sources, *([dest] if dest is not None else [])]:
                if state not in members:
                    raise FlowDefinitionError(
                        f"flow {spec.name!r}: {state!r} is not one of its states"
                    )
        for state, prompt in spec.prompts.items():
            if inspect.iscoroutinefunction(prompt):
                raise FlowDefinitionError(
                    f"flow {spec.name!r}: the prompt of {state!r} is a coroutine function; a "
                    "prompt is pure (I/O belongs in the step, before the machine moves)"
                )
        if START not in triggers:
            raise FlowDefinitionError(f"flow {spec.name!r} has no {START!r} transition")
        for state in [*spec.steps, *spec.prompts, *spec.resting]:
            if state not in members:
                raise FlowDefinitionError(f"flow {spec.name!r}: {state!r} is not one of its states")

    async def fire(self, turn: Turn, outcome: Enum | str) -> None:
        """Move ``turn`` by ``outcome``, running the prompts of the state entered.

        Raises :class:`transitions.MachineError` (a bug in the flow: a step returned an outcome
        its table does not allow from the current state) or whatever a prompt raises.
        """
        trigger = trigger_name(outcome)
        event = self.machine.events.get(trigger)
        if event is None:
            raise MachineError(f"flow {self.spec.name!r} has no trigger {trigger!r}")
        event.trigger(turn)

    async def begin(self, turn: Turn) -> None:
        """Start the flow from its initial state."""
        turn.state = self.spec.initial
        if self.spec.on_begin is not None:
            self.spec.on_begin(turn)
        await self.fire(turn, START)

    def has_step(self, state: Enum) -> bool:
        return state in self.spec.steps
