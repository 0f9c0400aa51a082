"""What a flow module declares, and the per-turn object its steps work on.

A flow (``flows/<name>.py``) is a readable table: an ``Enum`` of states, an ``Enum`` of
*outcomes* (the triggers), one transitions list in ``transitions``' own ``[outcome, source,
dest]`` form, and beside it one :class:`Row` per state::

    ROWS = [
        #   state            says           expects          step           rests
        Row(S.ASK_NAME,      ask_name,      Expect.NAME,     read_name),
        Row(S.RESERVED,      reserved,      rests=True,      step=back_to_menu),
    ]

* ``says``: a pure function queuing what the bot says on entering the state;
* ``expects``: what the state asks the customer for (:class:`bot.nlu.base.Expect`); the engine
  reads the message with it, and repairs around it (a question answered and asked again, a
  correction, another request confirmed first);
* ``step``: for a state that waits for the customer, an async function that reads the message
  (``turn.understanding`` is what the understander made of it), does any I/O through
  :class:`~bot.engine.services.Services`, queues replies and returns the *outcome* to fire; it
  may instead return :class:`Jump` to hand the conversation to another flow from its beginning;
* ``rests``: the flow is finished there and the customer owes no answer (no nudge);
* ``lookups`` (optional, on the spec): what the flow asked the geocoder, read back from its
  context (a place it found, a query it built), so that erasing a conversation makes the
  geocoder forget those answers too; the engine adds what the customer typed and pinned itself.

An outcome named ``unclear`` keeps the state: the step said what it needs, and the engine counts
it (after a few in a row it offers a person). The older form (``steps``/``prompts``/``resting``
maps, triggers as strings) is still accepted while flows move to rows.

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
from bot.nlu.base import EntityKind, Expect, Understanding

__all__ = [
    "AFTER_FLOW_KEY",
    "FACTS_KEY",
    "UNCLEAR",
    "FlowSpec",
    "GeocodedBy",
    "Jump",
    "Prompt",
    "Row",
    "Step",
    "Translate",
    "Turn",
    "back_to_menu",
]

#: the outcome that keeps the state: the step explained what it needs (the engine counts them)
UNCLEAR = "unclear"
#: where the facts the customer gave and no step used yet wait, in ``Conversation.context``:
#: ``{kind: value}`` (see :meth:`Turn.take`)
FACTS_KEY = "_facts"


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
        "understanding",
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
        understanding: Understanding | None = None,
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
        #: what the understander made of the message (None: no understander, or no text)
        self.understanding = understanding

    # -- reading the message ---------------------------------------------------------------
    @property
    def text(self) -> str:
        """The message's text, stripped; empty when the customer sent no text."""
        return (self.message.text or "").strip()

    @property
    def button(self) -> str | None:
        """The payload of the button the customer chose (typed numbers already resolved)."""
        return self.message.button

    @property
    def intent(self) -> str | None:
        """The understander's intent for the message (None without one, or when unsure)."""
        return self.understanding.intent if self.understanding is not None else None

    def fact(self, kind: EntityKind) -> str | None:
        """A fact the customer gave, in this message or an earlier one, that no step has used
        yet (a CPF sent with the name, the unit given with the number); None if there is none.
        The engine keeps them (``FACTS_KEY``): they are found in the message by the
        understander."""
        facts = self.context.get(FACTS_KEY) or {}
        value = facts.get(kind.value)
        return value if isinstance(value, str) else None

    def take(self, kind: EntityKind) -> str | None:
        """:meth:`fact`, used up: the next state does not find it again."""
        value = self.fact(kind)
        if value is not None:
            self.context[FACTS_KEY].pop(kind.value, None)
        return value

    def keep(self, kind: EntityKind, value: str) -> None:
        """Remember a fact for a later state (what :meth:`take` returns)."""
        self.context.setdefault(FACTS_KEY, {})[kind.value] = value

    # -- answering ---------------------------------------------------------------------------
    def t(self, key: str, /, **params: Any) -> str:
        """The customer's language's text for ``key`` (a catalog key in ``bot/locales/``)."""
        return self._t(key, **params)

    def say(self, text: str, /, *buttons: Button, ask_location: bool = False) -> None:
        """Queue a reply. ``text`` comes from :meth:`t`: flows never hold customer-facing
        literals."""
        self.replies.append(Reply(text=text, buttons=buttons, ask_location=ask_location))


#: set for the turn by :func:`back_to_menu`: the menu begins right after a finished flow, so it
#: offers more ("Posso ajudar em mais alguma coisa?") rather than introducing the bot again
AFTER_FLOW_KEY = "_after_flow"


async def back_to_menu(turn: Turn) -> Jump:
    """The step of a finished state: whatever the customer says next starts at the menu."""
    turn.context[AFTER_FLOW_KEY] = True
    return Jump("menu")


#: reads the customer's message in one state; returns the outcome to fire (or a Jump)
Step = Callable[[Turn], Awaitable["Enum | str | Jump"]]
#: queues what the bot says on entering a state; pure (no I/O)
Prompt = Callable[[Turn], None]
#: what a flow asked the geocoder, read from a conversation's context; pure
GeocodedBy = Callable[[Mapping[str, Any]], Lookups]


@dataclass(frozen=True, slots=True)
class Row:
    """One state of a flow: what the bot says on entering it, what it expects of the customer,
    the step that reads their answer, and whether the flow rests there (see the module doc)."""

    state: Enum
    says: Prompt | None = None
    expects: Expect = Expect.NOTHING
    step: Step | None = None
    rests: bool = False


@dataclass(frozen=True)
class FlowSpec:
    """One flow, as its module declares it. ``transitions`` rows are ``[outcome, source, dest]``
    (``source`` may be ``"*"``; ``dest`` None keeps the state without re-entering it).

    ``rows`` (one :class:`Row` per state that says, expects or reads anything) fill ``steps``,
    ``prompts``, ``resting`` and ``expects``; a flow gives either rows or those maps.
    ``outcomes``, when given, is the enum every trigger of the table and every step's result
    must belong to."""

    name: str
    summary: str
    states: type[Enum]
    initial: Enum
    transitions: Sequence[Sequence[Any]]
    rows: Sequence[Row] = ()
    outcomes: type[Enum] | None = None
    steps: Mapping[Enum, Step] = field(default_factory=dict)
    prompts: Mapping[Enum, Prompt] = field(default_factory=dict)
    #: runs when the flow begins, before ``start``: clears what an earlier pass left in the
    #: context, and may say an opening line (pure, like a prompt)
    on_begin: Prompt | None = None
    #: states where the flow is finished and the customer owes no answer: no nudge there
    resting: frozenset[Enum] = frozenset()
    #: what this flow asked the geocoder, as its context remembers it (see the module doc)
    lookups: GeocodedBy | None = None
    #: the question asked before another request throws this flow's work away ("Quer parar a
    #: contratação?"); None: a general one
    leaving: Callable[[Translate], str] | None = None
    #: what the flow offers, said when the customer asks "quais as opções?" mid-flow (the plans,
    #: in a sale); None: the pending question again is the answer (its buttons are the options)
    options: Prompt | None = None
    #: what each state asks the customer for (from ``rows``); a state not in it expects nothing
    expects: Mapping[Enum, Expect] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.rows:
            return
        if self.steps or self.prompts or self.resting or self.expects:
            raise ValueError(f"flow {self.name!r}: give rows or the steps/prompts maps, not both")
        seen = [row.state for row in self.rows]
        if len(set(seen)) != len(seen):
            raise ValueError(f"flow {self.name!r}: a state has two rows")
        # frozen: the maps are derived once, here, from the one table
        object.__setattr__(self, "steps", {r.state: r.step for r in self.rows if r.step})
        object.__setattr__(self, "prompts", {r.state: r.says for r in self.rows if r.says})
        object.__setattr__(self, "resting", frozenset(r.state for r in self.rows if r.rests))
        object.__setattr__(self, "expects", {r.state: r.expects for r in self.rows})

    def expects_in(self, state: Enum | None) -> Expect:
        """What ``state`` asks the customer for (nothing, for a state without a row)."""
        if state is None:
            return Expect.NOTHING
        return self.expects.get(state, Expect.NOTHING)

    def state_of(self, value: str) -> Enum | None:
        """The state saved as ``value``, or None when this flow has no such state (any more)."""
        try:
            return self.states(value)
        except ValueError:
            return None
