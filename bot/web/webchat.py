"""The web chat: a page a provider links to or frames on its site, and the page's API.

* ``GET /chat`` the page (labels from the catalogs, in the visitor's Accept-Language). It gives
  the visitor an anonymous session: a random id in a signed cookie (HttpOnly, SameSite=Lax,
  Secure behind https), valid for 30 days.
* ``POST /chat/api/messages`` one message, JSON ``{"id", "text" | "button" | "location":
  {"lat", "lng"}}``; 202 when accepted (kept in the store's inbox), 503 when the store cannot
  keep it. JSON only: a cross-site form cannot post it, which with
  the SameSite cookie keeps other sites from speaking for a visitor.
* ``GET /chat/api/events`` the replies, as Server-Sent Events (``event: reply``). A stream ends
  after a while, or as soon as the server starts shutting down (so streams never hold a
  shutdown up), and the browser reconnects by itself; replies sent in between are kept.

Everything a visitor or the bot wrote is rendered by the page as text, never as HTML.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.channels.webchat import reply_to_json
from bot.engine.dispatch import Closing
from bot.errors import StorageError
from bot.i18n import negotiate
from bot.messages import Inbound, Location, Reply, clean_inbound
from bot.resources import package_path
from bot.validation import valid_coordinates
from bot.web.inputs import load_json
from bot.web.state import AppState, app_state
from bot.web.webhooks import TooLarge, read_body

__all__ = ["COOKIE", "routes", "session_serializer"]

log = logging.getLogger(__name__)

COOKIE = "ozbot_chat"
COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_TEXT = 2000
KEEPALIVE = 15.0  # seconds between comments that keep proxies from closing an idle stream
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_templates = Environment(
    loader=FileSystemLoader(package_path("bot.web", "templates")),
    autoescape=select_autoescape(["html"]),
)


async def _next_reply(
    queue: asyncio.Queue[Reply], stopping: asyncio.Future[Any], wait: float
) -> Reply | None:
    """The next reply, or None after ``wait`` seconds or when the server starts stopping."""
    getter = asyncio.ensure_future(queue.get())
    await asyncio.wait({getter, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()  # a cancelled Queue.get leaves its item in the queue
    return None


def session_serializer(secret: str) -> URLSafeTimedSerializer:
    """Signs web-chat session ids with ``OZBOT_SESSION_SECRET``."""
    return URLSafeTimedSerializer(secret, salt="ozbot.webchat")


def _session(request: Request, state: AppState) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = state.sessions.loads(raw, max_age=COOKIE_MAX_AGE)
    except BadSignature:
        return None
    return value if isinstance(value, str) and _ID.match(value) else None


async def page(request: Request) -> Response:
    state = app_state(request)
    lang = negotiate(request.headers.get("accept-language"), default=state.settings.language)
    t = state.catalogs.translator(lang)
    html = _templates.get_template("webchat.html").render(
        lang=lang.replace("_", "-"),
        title=t("webchat.title"),
        placeholder=t("webchat.placeholder"),
        send=t("webchat.send"),
        share_location=t("channel.share_location"),
        location_denied=t("webchat.location_denied"),
        reconnecting=t("webchat.reconnecting"),
    )
    response = HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": (
                "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                "img-src 'self' data:; base-uri 'none'; form-action 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )
    if _session(request, state) is None:
        response.set_cookie(
            COOKIE,
            state.sessions.dumps(secrets.token_urlsafe(18)),
            max_age=COOKIE_MAX_AGE,
            path="/chat",
            httponly=True,
            samesite="lax",
            secure=state.settings.public_base_url.startswith("https://"),
        )
    return response


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _inbound(data: Any, session: str, language: str | None) -> Inbound:
    """The message a page posted; raises ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    message_id = data.get("id")
    if message_id is not None and (not isinstance(message_id, str) or not _ID.match(message_id)):
        raise ValueError("id must be 1-64 letters, digits, - or _")
    text, button, location = data.get("text"), data.get("button"), data.get("location")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        raise ValueError(f"text must be a string of at most {MAX_TEXT} characters")
    if button is not None and (not isinstance(button, str) or len(button) > 200):
        raise ValueError("button must be a short string")
    point = None
    if location is not None:
        if not isinstance(location, dict):
            raise ValueError("location must be {lat, lng}")
        lat, lng = location.get("lat"), location.get("lng")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lng)):
            raise ValueError("location must be {lat, lng} numbers")
        assert isinstance(lat, int | float) and isinstance(lng, int | float)
        if not valid_coordinates(float(lat), float(lng)):
            raise ValueError("location is out of range")
        point = Location(float(lat), float(lng))
    if not (text and text.strip()) and button is None and point is None:
        raise ValueError("send text, button or location")
    return clean_inbound(
        Inbound(
            channel="webchat",
            contact=session,
            text=text if button is None and point is None else None,
            button=button,
            location=point,
            # every message gets an id, so a re-run after a crash is recognised as answered
            provider_id=f"web:{session}:{message_id or uuid.uuid4().hex}",
            language=language,
        )
    )


async def post_message(request: Request) -> Response:
    state = app_state(request)
    session = _session(request, state)
    if session is None:
        return _error(401, "no chat session: open the chat page first")
    if not request.headers.get("content-type", "").startswith("application/json"):
        return _error(415, "send application/json")
    try:
        inbound = _inbound(
            load_json(await read_body(request, 8 * 1024), surrogates="refuse"),
            session,
            request.headers.get("accept-language"),
        )
    except TooLarge:
        return _error(413, "message too large")
    except ValueError as exc:  # includes json.JSONDecodeError
        return _error(400, str(exc) if not isinstance(exc, json.JSONDecodeError) else "bad JSON")
    try:
        await state.dispatcher.submit(inbound)
    except Closing:
        return _error(503, "the server is restarting: try again in a moment")
    except StorageError as exc:
        log.error("could not keep a web-chat message (answered 503): %s", exc)
        return _error(503, "the server could not take your message: send it again in a moment")
    state.metrics.webhooks.labels("webchat", "accepted").inc()
    return JSONResponse({"accepted": True}, status_code=202)


async def events(request: Request) -> Response:
    state = app_state(request)
    session = _session(request, state)
    if session is None:
        return _error(401, "no chat session: open the chat page first")

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + state.sse_seconds
        yield "retry: 1000\n\n"
        stopping = asyncio.ensure_future(state.stopping.wait())
        try:
            async with state.webchat.subscribe(session) as queue:
                while (left := deadline - loop.time()) > 0 and not state.stopping.is_set():
                    reply = await _next_reply(queue, stopping, min(left, KEEPALIVE))
                    if reply is not None:
                        payload = json.dumps(reply_to_json(reply), ensure_ascii=False)
                        yield f"event: reply\ndata: {payload}\n\n"
                    elif not state.stopping.is_set():
                        yield ": keep-alive\n\n"
        finally:
            stopping.cancel()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


routes: list[BaseRoute] = [
    Route("/chat", page, methods=["GET"], name="webchat_page"),
    Route("/chat/api/messages", post_message, methods=["POST"], name="webchat_messages"),
    Route("/chat/api/events", events, methods=["GET"], name="webchat_events"),
    Mount(
        "/chat/static",
        StaticFiles(directory=package_path("bot.web", "static")),
        name="webchat_static",
    ),
]
