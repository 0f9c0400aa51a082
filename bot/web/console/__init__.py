"""The agent console, mounted by ``ozbot serve`` at ``/console``: support agents log in, watch
the queue of handed-off conversations live, claim one, read its transcript and what the bot
learned, answer on the customer's own channel, act on the customer's OZmap client (activate a
reservation, set its status), and hand the conversation back to the bot or close it.

Accounts come from ``ozbot agents add NAME`` (:mod:`bot.agents`). Security: :mod:`.auth`
(sessions, CSRF, login throttle) and :mod:`.access` (every route behind a login, security
headers with a strict Content-Security-Policy); what an agent may do to a conversation is
decided by the API (:mod:`.api`), not by what the page shows.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.resources import package_path
from bot.web.console import api, pages
from bot.web.console.state import ConsoleState, console_state

__all__ = ["ConsoleState", "console_state", "mount", "routes"]

routes: list[BaseRoute] = [
    Route("/", pages.queue_page, methods=["GET"], name="console_queue"),
    Route("/login", pages.login_form, methods=["GET"], name="console_login"),
    Route("/login", pages.login_submit, methods=["POST"]),
    Route("/logout", pages.logout, methods=["POST"], name="console_logout"),
    Route("/tickets/{ticket:int}", pages.ticket_page, methods=["GET"], name="console_ticket"),
    Route("/api/queue", api.queue, methods=["GET"]),
    Route("/api/events", api.events, methods=["GET"]),
    Route("/api/tickets/{ticket:int}", api.ticket, methods=["GET"]),
    Route("/api/tickets/{ticket:int}/claim", api.claim, methods=["POST"]),
    Route("/api/tickets/{ticket:int}/messages", api.message, methods=["POST"]),
    Route("/api/tickets/{ticket:int}/ozmap", api.ozmap_action, methods=["POST"]),
    Route("/api/tickets/{ticket:int}/release", api.release, methods=["POST"]),
    Mount(
        "/static",
        StaticFiles(directory=package_path("bot.web.console", "static")),
        name="console_static",
    ),
]


def mount() -> Mount:
    """The console as one route of the application, at ``/console``."""
    return Mount("/console", routes=routes)
