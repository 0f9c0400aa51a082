"""Gatekeeping for every console route: the logged-in agent, or a redirect (pages) or 401
(API); CSRF and Origin checks on POSTs; the security headers on every answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bot.conversation import utcnow
from bot.storage.base import Store
from bot.web.console.auth import (
    SESSION_COOKIE,
    csrf_token,
    origin_allowed,
    token_digest,
    tokens_match,
)
from bot.web.state import app_state

__all__ = [
    "CSP",
    "Agent",
    "api",
    "console_store",
    "current_agent",
    "error",
    "page",
    "secured",
]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
LOGIN = "/console/login"


@dataclass(frozen=True)
class Agent:
    name: str
    csrf: str
    token: str


def console_store(request: Request) -> Store:
    """The runtime's store (every adapter keeps the agents' accounts and sessions too)."""
    return app_state(request).runtime.store


def secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def error(status: int, message: str) -> Response:
    return secured(JSONResponse({"error": message}, status_code=status))


async def current_agent(request: Request) -> Agent | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return None
    session = await console_store(request).agent_session(token_digest(token), utcnow())
    if session is None:
        return None
    return Agent(name=session.agent, csrf=csrf_token(token), token=token)


def post_allowed(request: Request, agent: Agent, form_token: str | None = None) -> str | None:
    """None when a POST passes the CSRF defences, else why not. The token comes in the
    ``X-CSRF-Token`` header (the script's requests) or as ``form_token`` (a form's field)."""
    if not origin_allowed(request, app_state(request).settings.public_base_url):
        return "cross-site request refused: post from the console's own pages"
    given = form_token if form_token is not None else request.headers.get("x-csrf-token")
    if not tokens_match(given, agent.csrf):
        return "missing or stale CSRF token: reload the page"
    return None


Handler = Callable[[Request, Agent], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page for logged-in agents; others are sent to the login."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        agent = await current_agent(request)
        if agent is None:
            return secured(RedirectResponse(LOGIN, status_code=303))
        return secured(await handler(request, agent))

    return endpoint


def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A JSON endpoint for logged-in agents (401 otherwise); a POST must also pass the CSRF
    defences (403 otherwise)."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        agent = await current_agent(request)
        if agent is None:
            return error(401, "not logged in: log in at " + LOGIN)
        if request.method == "POST":
            refused = post_allowed(request, agent)
            if refused is not None:
                return error(403, refused)
        return secured(await handler(request, agent))

    return endpoint
