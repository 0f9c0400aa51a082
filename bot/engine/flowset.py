"""The flows one engine runs, compiled once, and what the engine asks of them as a whole: which
flow greets a new customer (the default), which one a person answers in (the handoff), whether
a conversation is at rest, and the way back to the start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from bot.conversation import Conversation
from bot.engine.flow import FlowSpec, Translate
from bot.engine.machine import CompiledFlow
from bot.engine.routing import BUTTONS_KEY, INTENT_PREFIX
from bot.messages import Button

__all__ = ["FlowSet"]


class FlowSet:
    """``specs`` compiled into machines (raises
    :class:`~bot.engine.machine.FlowDefinitionError` for an inconsistent table). ``default``
    receives new conversations and messages in unknown flows; ``handoff`` is the one where a
    person answers. Raises ValueError when ``default``, ``handoff`` or one of ``routed`` (the
    flows the intents name) is not among ``specs``."""

    def __init__(
        self,
        specs: Sequence[FlowSpec],
        *,
        default: str = "menu",
        handoff: str = "handoff",
        routed: Iterable[str] = (),
    ) -> None:
        self._flows = {spec.name: CompiledFlow(spec) for spec in specs}
        for name in (default, handoff, *routed):
            if name not in self._flows:
                raise ValueError(f"flow {name!r} is routed to but not given to the engine")
        self.default = default
        self.handoff = handoff

    def get(self, name: str) -> CompiledFlow | None:
        return self._flows.get(name)

    def __getitem__(self, name: str) -> CompiledFlow:
        return self._flows[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._flows)

    def __len__(self) -> int:
        return len(self._flows)

    def specs(self) -> list[FlowSpec]:
        return [flow.spec for flow in self._flows.values()]

    def resting(self, conversation: Conversation) -> bool:
        """Whether the customer owes no answer: menu, a person's care, or a finished flow."""
        if conversation.flow in (self.default, self.handoff):
            return True
        flow = self._flows.get(conversation.flow)
        if flow is None:
            return True
        state = flow.spec.state_of(conversation.state)
        return state is None or state in flow.spec.resting

    def to_default(self, conversation: Conversation, now: datetime) -> Conversation:
        """Back to the start of the default flow, the data learned so far kept."""
        context = dict(conversation.context)
        context.pop(BUTTONS_KEY, None)
        return dataclasses.replace(
            conversation,
            flow=self.default,
            state=str(self._flows[self.default].spec.initial.value),
            context=context,
            failures=0,
            updated_at=now,
        )

    def human_and_menu(self, t: Translate) -> tuple[Button, Button]:
        """The two ways out the engine offers: a person (the handoff flow) and the menu."""
        return (
            Button(INTENT_PREFIX + self.handoff, t("menu.option.human")),
            Button(INTENT_PREFIX + self.default, t("menu.option.menu")),
        )
