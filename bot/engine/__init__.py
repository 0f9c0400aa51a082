"""The conversation engine: flows as ``transitions`` machines, pure routing, and the turn loop.

Flows import from here only the types they are written in (:class:`FlowSpec`, :class:`Turn`,
:class:`Jump`, :class:`Services`); the composition root builds the :class:`Engine`.
"""

from bot.engine.core import Engine
from bot.engine.flow import FlowSpec, Jump, Prompt, Step, Translate, Turn, back_to_menu
from bot.engine.routing import Intent, Route, normalize, route
from bot.engine.services import Services

__all__ = [
    "Engine",
    "FlowSpec",
    "Intent",
    "Jump",
    "Prompt",
    "Route",
    "Services",
    "Step",
    "Translate",
    "Turn",
    "back_to_menu",
    "normalize",
    "route",
]
