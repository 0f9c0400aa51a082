"""The conversation engine, one module per concern:

* what flows are written in: :mod:`~bot.engine.flow` (:class:`FlowSpec`, :class:`Turn`,
  :class:`Jump`), :mod:`~bot.engine.services` (:class:`Services`, what steps may call),
  :mod:`~bot.engine.routing` (pure: which flow a message goes to);
* how flows run: :mod:`~bot.engine.machine` (a flow's ``transitions`` machine, built once),
  :mod:`~bot.engine.flowset` (the flows of one engine);
* the :class:`Engine` (:mod:`~bot.engine.engine`) and its parts: :mod:`~bot.engine.turns` (a
  customer's turn), :mod:`~bot.engine.queue` (the agents' queue),
  :mod:`~bot.engine.timers` and :mod:`~bot.engine.timer_turns` (timers),
  :mod:`~bot.engine.erasure` (erasing a conversation), :mod:`~bot.engine.console` (the agent
  console's actions), :mod:`~bot.engine.shared` (what they share), :mod:`~bot.engine.events`
  (queue news); :mod:`~bot.engine.hours` (business hours);
* in front of it, :mod:`~bot.engine.dispatch`: accepted messages (webhooks, Telegram polling,
  the web chat) kept in the store's inbox and run through the engine in the background.

Flows import from here only the types they are written in; the composition root
(:mod:`bot.compose`) builds the :class:`Engine`.
"""

from bot.engine.engine import Engine
from bot.engine.flow import (
    UNCLEAR,
    FlowSpec,
    Jump,
    Prompt,
    Row,
    Step,
    Translate,
    Turn,
    back_to_menu,
)
from bot.engine.routing import Intent, Route, normalize, route
from bot.engine.services import Services

__all__ = [
    "UNCLEAR",
    "Engine",
    "FlowSpec",
    "Intent",
    "Jump",
    "Prompt",
    "Route",
    "Row",
    "Services",
    "Step",
    "Translate",
    "Turn",
    "back_to_menu",
    "normalize",
    "route",
]
