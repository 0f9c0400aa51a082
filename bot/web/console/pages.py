"""The console's server-rendered pages: login, logout, the queue, one conversation.

Pages are shells (Jinja2, autoescaped) that ``console.js`` fills from the JSON API; the script
is a separate file, so the Content-Security-Policy allows no inline script at all.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.agents import verify_login
from bot.conversation import utcnow
from bot.resources import package_path
from bot.web.console.access import (
    LOGIN,
    Agent,
    console_store,
    current_agent,
    page,
    post_allowed,
    secured,
)
from bot.web.console.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    new_token,
    origin_allowed,
    token_digest,
    tokens_match,
)
from bot.web.console.state import console_state
from bot.web.state import app_state
from bot.web.webhooks import TooLarge, read_body

__all__ = ["login_form", "login_submit", "logout", "queue_page", "ticket_page"]

log = logging.getLogger(__name__)

_templates = Environment(
    loader=FileSystemLoader(package_path("bot.web.console", "templates")),
    autoescape=select_autoescape(["html"]),
)


def render(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(template).render(**values), status_code=status)


def _secure_cookies(request: Request) -> bool:
    return app_state(request).settings.public_base_url.startswith("https://")


def _login_page(request: Request, message: str | None, status: int, name: str = "") -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or new_token()
    response = secured(render("login.html", status, form_token=token, message=message, name=name))
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=LOGIN,
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(request),
    )
    return response


async def login_form(request: Request) -> Response:
    if await current_agent(request) is not None:
        return secured(RedirectResponse("/console", status_code=303))
    return _login_page(request, None, 200)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


async def login_submit(request: Request) -> Response:
    try:
        form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    except TooLarge:
        return _login_page(request, "Pedido grande demais.", 413)
    field = {k: v[0] for k, v in form.items() if v}
    # the login form's own CSRF defence: same origin, and the token it was given as a cookie
    if not origin_allowed(request, app_state(request).settings.public_base_url) or not (
        request.cookies.get(LOGIN_COOKIE)
        and tokens_match(field.get("csrf"), request.cookies.get(LOGIN_COOKIE, ""))
    ):
        return _login_page(request, "O formulário expirou: tente de novo.", 403)
    name = field.get("name", "").strip().lower()[:64]
    throttle = console_state(request).throttle
    address = _client_address(request)
    wait = await throttle.attempt(name, address)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        return _login_page(
            request, f"Muitas tentativas erradas: espere {minutes} min e tente de novo.", 429, name
        )
    agent = await verify_login(console_store(request), name, field.get("password", ""))
    if agent is None:
        log.info("console: failed login")
        return _login_page(request, "Nome ou senha incorretos.", 401, name)
    await throttle.succeeded(name, address)
    token = new_token()
    now = utcnow()
    hours = console_state(request).session_hours
    await console_store(request).create_agent_session(
        token_digest(token), agent, now, now + timedelta(hours=hours)
    )
    response = secured(RedirectResponse("/console", status_code=303))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(hours * 3600),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN)
    log.info("console: agent %s logged in", agent)
    return response


async def logout(request: Request) -> Response:
    agent = await current_agent(request)
    if agent is None:
        return secured(RedirectResponse(LOGIN, status_code=303))
    try:
        form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    except TooLarge:
        form = {}
    refused = post_allowed(request, agent, form["csrf"][0] if form.get("csrf") else None)
    if refused is not None:
        return secured(HTMLResponse(refused, status_code=403))
    await console_store(request).end_agent_session(token_digest(agent.token))
    response = secured(RedirectResponse(LOGIN, status_code=303))
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@page
async def queue_page(request: Request, agent: Agent) -> Response:
    return render("queue.html", agent=agent.name, csrf=agent.csrf)


@page
async def ticket_page(request: Request, agent: Agent) -> Response:
    ticket_id = request.path_params["ticket"]
    return render("ticket.html", agent=agent.name, csrf=agent.csrf, ticket=ticket_id)
