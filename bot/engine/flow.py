"""What a flow module declares, and the per-turn object its steps work on.

A flow (``flows/<name>.py``) is a readable table: an ``Enum`` of states, one transitions list in
``transitions``' own ``[trigger, source, dest]`` form, and two maps:

* ``steps``: for a state that waits for the customer, an async function that reads the message,
  does any I/O through :class:`~bot.engine.services.Services`, queues replies and returns the
  *trigger* (the outcome) to fire; it may instead return :class:`Jump` to hand the conversation to
  another flow from its beginning;
* ``prompts``: for a state, a pure function queuing what the bot says on entering it;
* ``lookups`` (optional): what the flow asked the geocoder, read back from its context (a place
  it found, a query it built), so that erasing a conversation makes the geocoder forget those
  answers too; the engine adds what the customer typed and pinned itself.

A state without a step restarts its flow when a message arrives in it (the ``start`` state of
every flow is such a state). Every flow has a ``start`` trigger leading out of its initial state:
the engine fires it when the flow begins (a global intent, a button, a :class:`Jump`).

Because ``transitions`` has no rollback, fallible I/O belongs in the step, which runs before the
machine moves: a step that raises leaves the conversation exactly as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from bot.engine.services import Services
from bot.geo.base import Lookups
from bot.messages import Button, Inbound, Reply

__all__ = [
    "FlowSpec",
    "GeocodedBy",
    "Jump",
    "Prompt",
    "Step",
    "Translate",
    "Turn",
    "back_to_menu",
]


class Translate(Protocol):
    """The shape of :meth:`bot.i18n.Catalogs.translator`'s result: a key and its parameters."""

    def __call__(self, key: str, /, **params: Any) -> str: ...


@dataclass(frozen=True, slots=True)
class Jump:
    """A step's request to continue in another flow, from that flow's beginning."""

    flow: str


class Turn:
    """The model the flow machines run on: built per turn, never shared, thrown away after.

    ``state`` is the machine's model attribute (a member of the flow's state enum). ``context`` is
    a deep copy of the conversation's, so a failed turn cannot leak half-made changes into it.
    """

    __slots__ = (
        "_t",
        "context",
        "erase",
        "flow",
        "language",
        "message",
        "replies",
        "services",
        "state",
    )

    def __init__(
        self,
        *,
        flow: str,
        state: Enum,
        context: Mapping[str, Any],
        message: Inbound,
        services: Services,
        t: Translate,
        language: str,
    ) -> None:
        self.flow = flow
        self.state = state
        self.context: dict[str, Any] = copy.deepcopy(dict(context))
        self.message = message
        self.services = services
        self._t = t
        self.language = language
        self.replies: list[Reply] = []
        #: set by a step (after the customer confirmed) to have the engine delete everything
        #: stored about this conversation once the turn's replies are decided
        self.erase = False

    # -- reading the message ---------------------------------------------------------------
    @property
    def text(self) -> str:
        """The message's text, stripped; empty when the customer sent no text."""
        return (self.message.text or "").strip()

    @property
    def button(self) -> str | None:
        """The payload of the button the customer chose (typed numbers already resolved)."""
        return self.message.button

    # -- answering ---------------------------------------------------------------------------
    def t(self, key: str, /, **params: Any) -> str:
        """The customer's language's text for ``key`` (a catalog key in ``bot/locales/``)."""
        return self._t(key, **params)

    def say(self, text: str, /, *buttons: Button, ask_location: bool = False) -> None:
        """Queue a reply. ``text`` comes from :meth:`t`: flows never hold customer-facing
        literals."""
        self.replies.append(Reply(text=text, buttons=buttons, ask_location=ask_location))


async def back_to_menu(turn: Turn) -> Jump:
    """The step of a finished state: whatever the customer says next starts at the menu."""
    return Jump("menu")


#: reads the customer's message in one state; returns the trigger to fire (or a Jump)
Step = Callable[[Turn], Awaitable["str | Jump"]]
#: queues what the bot says on entering a state; pure (no I/O)
Prompt = Callable[[Turn], None]
#: what a flow asked the geocoder, read from a conversation's context; pure
GeocodedBy = Callable[[Mapping[str, Any]], Lookups]


@dataclass(frozen=True)
class FlowSpec:
    """One flow, as its module declares it. ``transitions`` rows are ``[trigger, source, dest]``
    (``source`` may be ``"*"``; ``dest`` None keeps the state without re-entering it)."""

    name: str
    summary: str
    states: type[Enum]
    initial: Enum
    transitions: Sequence[Sequence[Any]]
    steps: Mapping[Enum, Step] = field(default_factory=dict)
    prompts: Mapping[Enum, Prompt] = field(default_factory=dict)
    #: runs when the flow begins, before ``start``: clears what an earlier pass left in the
    #: context, and may say an opening line (pure, like a prompt)
    on_begin: Prompt | None = None
    #: states where the flow is finished and the customer owes no answer: no nudge there
    resting: frozenset[Enum] = frozenset()
    #: what this flow asked the geocoder, as its context remembers it (see the module doc)
    lookups: GeocodedBy | None = None

    def state_of(self, value: str) -> Enum | None:
        """The state saved as ``value``, or None when this flow has no such state (any more)."""
        try:
            return self.states(value)
        except ValueError:
            return None
