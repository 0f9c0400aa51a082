"""Routing: which flow a message goes to, and whether that flow starts over. Pure functions.

Global intents ("quero contratar", "atendente", "menu", ...) jump to their flow from anywhere,
in any of the three languages, with or without accents. A number typed in answer to offered
options ("2"), or an option's label typed out, becomes that option's button payload, so channels
without buttons behave like those with them. Button payloads of the form ``intent:<name>`` are
intents too, which is how the menu's buttons reach their flows.

Adding an intent (e.g. cancellation, once its flow exists) is one :class:`Intent` row in the
table the composition root passes in (``flows.INTENTS``).

This keyword routing is what runs without an understander, and while a person handles the
conversation; with one, :mod:`bot.engine.repair` decides from what the message means.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation import Conversation
from bot.messages import Button, Inbound
from bot.nlu.base import EntityKind, Understanding

__all__ = [
    "BUTTONS_KEY",
    "INTENT_PREFIX",
    "PROFILE_NAME_KEY",
    "Intent",
    "Move",
    "Route",
    "match_intent",
    "normalize",
    "offered_buttons",
    "resolve_choice",
    "route",
]

#: where the engine keeps the options of the bot's last message, in ``Conversation.context``
BUTTONS_KEY = "_buttons"
#: the name the messenger shows for the customer (their profile), for the agents' console
PROFILE_NAME_KEY = "profile_name"
INTENT_PREFIX = "intent:"

_NOT_WORD = re.compile(r"[^\w/]+")


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces.

    ``"Olá, MENU!"`` → ``"ola menu"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", bare).split())


@dataclass(frozen=True)
class Intent:
    """One row of the intents table.

    ``phrases`` match as whole words anywhere in the message; ``exact`` only as the whole message
    (greetings: "oi" must not fire inside "oi, quero contratar"). ``heard_in_handoff``: still heard
    while a person handles the conversation (only the way back to the menu is).

    With an understander, ``understood`` names the understander's intents that mean this row
    (``buy`` for sales), and ``carries`` the facts that start its flow when a customer at rest
    just gives them ("rua delminda silveira 900" at the menu: sales). ``asks_first``: started
    from the middle of another flow, it asks before throwing that flow's work away.
    """

    name: str
    flow: str
    phrases: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    heard_in_handoff: bool = False
    understood: tuple[str, ...] = ()
    carries: tuple[EntityKind, ...] = ()
    asks_first: bool = True

    def matches(self, normalized: str) -> bool:
        if normalized in self.exact:
            return True
        padded = f" {normalized} "
        return any(f" {phrase} " in padded for phrase in self.phrases)


class Move(enum.StrEnum):
    """What the engine does with a message (see :mod:`bot.engine.repair`)."""

    STEP = "step"  # the state's step reads it
    BEGIN = "begin"  # ``Route.flow`` starts from its beginning, the message's facts kept
    ANSWER = "answer"  # a question: answered, then the pending question asked again
    SMALL_TALK = "small_talk"  # a greeting, "tudo bem?", thanks: a short reply, question again
    CLOSE = "close"  # "sair", "tchau": a polite ending, the conversation at rest
    ASK_SWITCH = "ask_switch"  # another request mid-flow: "do you want to stop ...?" first
    RESUME = "resume"  # they do not want to stop: the pending question again


@dataclass(frozen=True)
class Route:
    """Where a message goes: ``flow``, from its beginning when ``restart``; ``message`` is the
    inbound with a typed option resolved to its button payload. ``understanding`` is what the
    understander made of it (None without one); ``move`` what the engine does with it."""

    flow: str
    restart: bool
    message: Inbound
    intent: str | None = None
    understanding: Understanding | None = None
    move: Move = Move.STEP

    def __post_init__(self) -> None:
        if self.restart and self.move is Move.STEP:
            object.__setattr__(self, "move", Move.BEGIN)


def offered_buttons(context: dict[str, Any]) -> list[Button]:
    """The options of the bot's last message, as the engine saved them."""
    return [Button(payload=p, label=label) for p, label in context.get(BUTTONS_KEY, [])]


def resolve_choice(inbound: Inbound, offered: Sequence[Button]) -> Inbound:
    """A typed ``"2"`` (or an option's label) → the 2nd offered option's payload as the button."""
    if inbound.button is not None or not inbound.text or not offered:
        return inbound
    typed = normalize(inbound.text)
    if typed.isdigit():
        index = int(typed)
        if 1 <= index <= len(offered):
            return dataclasses.replace(inbound, button=offered[index - 1].payload)
        return inbound
    for option in offered:
        if typed == normalize(option.label):
            return dataclasses.replace(inbound, button=option.payload)
    return inbound


def match_intent(inbound: Inbound, intents: Sequence[Intent]) -> Intent | None:
    """The first intent the message names (by ``intent:`` button payload or by its text)."""
    if inbound.button is not None:
        if inbound.button.startswith(INTENT_PREFIX):
            name = inbound.button.removeprefix(INTENT_PREFIX)
            return next((i for i in intents if i.name == name), None)
        return None
    if not inbound.text:
        return None
    normalized = normalize(inbound.text)
    if not normalized:
        return None
    return next((i for i in intents if i.matches(normalized)), None)


def route(
    conversation: Conversation,
    inbound: Inbound,
    intents: Sequence[Intent],
    *,
    handoff_flow: str = "handoff",
) -> Route:
    """Pick the flow for ``inbound``. While ``conversation.flow`` is ``handoff_flow`` (a person
    handles it), only intents ``heard_in_handoff`` get through; everything else stays there."""
    message = resolve_choice(inbound, offered_buttons(conversation.context))
    intent = match_intent(message, intents)
    if conversation.flow == handoff_flow and (intent is None or not intent.heard_in_handoff):
        return Route(flow=handoff_flow, restart=False, message=message)
    if intent is not None:
        return Route(flow=intent.flow, restart=True, message=message, intent=intent.name)
    return Route(flow=conversation.flow, restart=False, message=message)
