"""The messenger webhooks: verify, parse, hand the message to the dispatcher, answer at once.

Answers: 200 once a message is accepted, i.e. kept in the store's inbox (or deliberately
ignored, or a duplicate), with the ``answerCallbackQuery`` of a Telegram button tap as its JSON
body (Telegram makes the call: no request of ours); 403 when the secret or signature does not
verify (nothing is processed); 400 for a body we cannot read; 413 for an oversized one; 404 for
a channel that is not configured; 503 while shutting down or when the store cannot keep the
message (the messenger re-delivers). Never 500 for what a request contains. Logs name
conversations by digest only (:func:`bot.conversation.ref`)."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.telegram import SECRET_HEADER, parse_update, verify_secret
from bot.channels.whatsapp import (
    EMPTY_TWIML,
    SIGNATURE_HEADER,
    parse_form,
    parse_status,
    signed_url,
    verify_signature,
)
from bot.conversation import ref
from bot.engine.dispatch import Closing
from bot.errors import BadPayload, SignatureError, StorageError
from bot.messages import Inbound, clean_inbound
from bot.web.inputs import load_json
from bot.web.state import AppState, app_state

__all__ = ["MAX_BODY", "TooLarge", "read_body", "routes"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a Telegram update or Twilio form is a few KB


class TooLarge(Exception):
    """The request body exceeds :data:`MAX_BODY`."""


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, refusing (:class:`TooLarge`) to read more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _submit(state: AppState, channel: str, inbound: Inbound) -> bool | Response:
    """Whether the dispatcher accepted ``inbound`` (False: a duplicate), once it is in the
    inbox; or the 503 refusing it, so the messenger sends it again."""
    try:
        return await state.dispatcher.submit(clean_inbound(inbound))
    except Closing:
        return _answer(state, channel, "unavailable", 503)
    except StorageError as exc:
        log.error(
            "could not keep a %s message of conversation %s (answered 503, it will be re-sent): %s",
            channel,
            ref(inbound.key),
            exc,
        )
        return _answer(state, channel, "store_failed", 503)


def _log_accepted(what: str, inbound: Inbound, accepted: bool) -> None:
    """A duplicate (the messenger re-sent what we had) at INFO; each accepted message only at
    DEBUG: a line a message, its digest and its write cost about 30 us of CPU a turn, and the
    turns are counted in the metrics."""
    if accepted:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s accepted for conversation %s", what, ref(inbound.key))
    else:
        log.info("%s accepted for conversation %s (duplicate)", what, ref(inbound.key))


def _side_job(state: AppState, job: Coroutine[Any, Any, None], what: str) -> None:
    """Run a best-effort side job of an accepted message; skipped when shutting down (the
    message itself is kept for the next process)."""
    try:
        state.dispatcher.spawn(job, what)
    except Closing:
        log.info("shutting down: skipped %s", what)


def _answer(
    state: AppState, channel: str, outcome: str, status: int, response: Response | None = None
) -> Response:
    """Count the request's outcome and answer ``status`` with an empty body (or ``response``)."""
    state.metrics.webhooks.labels(channel, outcome).inc()
    return response if response is not None else Response(status_code=status)


async def telegram_webhook(request: Request) -> Response:
    state = app_state(request)
    telegram = state.telegram
    if telegram is None:
        log.warning("Telegram webhook called but TELEGRAM_TOKEN is not set")
        return _answer(state, "telegram", "not_configured", 404)
    try:
        verify_secret(request.headers.get(SECRET_HEADER), state.settings.telegram_secret)
    except SignatureError as exc:
        log.warning("refused a Telegram webhook: %s", exc)
        return _answer(state, "telegram", "forbidden", 403)
    try:
        body = await read_body(request)
        event = parse_update(load_json(body))
    except TooLarge:
        return _answer(state, "telegram", "too_large", 413)
    except (ValueError, BadPayload) as exc:  # json.JSONDecodeError is a ValueError
        log.warning("unreadable Telegram update: %s", type(exc).__name__)
        return _answer(state, "telegram", "bad_request", 400)
    if event is None:
        return _answer(state, "telegram", "ignored", 200)
    submitted = await _submit(state, "telegram", event.inbound)
    if isinstance(submitted, Response):
        return submitted
    accepted = submitted
    _log_accepted("telegram update", event.inbound, accepted)
    outcome = "accepted" if accepted else "duplicate"
    if event.callback_query_id is not None:
        # The tap's spinner stops with a call made in the answer itself, as the Bot API allows
        # (one outbound request fewer per tap). A re-delivered tap is answered again: Telegram
        # re-sends only when it did not get our first answer.
        call = {"method": "answerCallbackQuery", "callback_query_id": event.callback_query_id}
        return _answer(state, "telegram", outcome, 200, JSONResponse(call))
    return _answer(state, "telegram", outcome, 200)


async def _twilio_form(request: Request, state: AppState) -> dict[str, str] | Response:
    """The verified form of a Twilio request, or the response refusing it."""
    if state.whatsapp is None:
        log.warning("Twilio webhook called but TWILIO_ACCOUNT_SID/AUTH_TOKEN/FROM are not all set")
        return _answer(state, "whatsapp", "not_configured", 404)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return _answer(state, "whatsapp", "bad_request", 415)
    try:
        body = await read_body(request)
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except TooLarge:
        return _answer(state, "whatsapp", "too_large", 413)
    except UnicodeDecodeError:
        return _answer(state, "whatsapp", "bad_request", 400)
    # the path and query as they came (what request.url would give, without building a URL
    # object: the route matched the path exactly)
    query = request.scope.get("query_string", b"").decode("latin-1")
    url = signed_url(state.settings.public_base_url, request.scope["path"], query)
    try:
        verify_signature(
            # the pairs: the signature covers every value of a repeated field
            url,
            pairs,
            request.headers.get(SIGNATURE_HEADER),
            state.settings.twilio_auth_token,
        )
    except SignatureError as exc:
        log.warning("refused a Twilio webhook: %s", exc)
        return _answer(state, "whatsapp", "forbidden", 403)
    return dict(pairs)


def _twiml(state: AppState, outcome: str) -> Response:
    twiml = Response(EMPTY_TWIML, media_type="text/xml")
    return _answer(state, "whatsapp", outcome, 200, twiml)


async def twilio_webhook(request: Request) -> Response:
    state = app_state(request)
    form = await _twilio_form(request, state)
    if isinstance(form, Response):
        return form
    try:
        inbound = parse_form(form)
    except BadPayload as exc:
        log.warning("unreadable Twilio webhook: %s", exc)
        return _answer(state, "whatsapp", "bad_request", 400)
    if inbound is None:
        return _twiml(state, "ignored")
    assert state.whatsapp is not None  # checked by _twilio_form
    submitted = await _submit(state, "whatsapp", inbound)
    if isinstance(submitted, Response):
        return submitted
    accepted = submitted
    if accepted and not state.whatsapp.window_noted(inbound.contact):
        _side_job(state, state.whatsapp.note_inbound(inbound.contact), "24h window")
    _log_accepted("whatsapp message", inbound, accepted)
    # empty TwiML: the replies go through the Messages API once the turn has run
    return _twiml(state, "accepted" if accepted else "duplicate")


async def twilio_status(request: Request) -> Response:
    state = app_state(request)
    form = await _twilio_form(request, state)
    if isinstance(form, Response):
        return form
    try:
        status = parse_status(form)
    except BadPayload as exc:
        log.warning("unreadable Twilio status callback: %s", exc)
        return _answer(state, "whatsapp", "bad_request", 400)
    state.metrics.message_status.labels(status.status).inc()
    if status.error_code is not None:
        log.warning(
            "WhatsApp message %s: %s (error %s)", status.sid, status.status, status.error_code
        )
    assert state.whatsapp is not None
    try:
        state.dispatcher.spawn(state.whatsapp.record_status(status), "status callback")
    except Closing:
        return _answer(state, "whatsapp", "unavailable", 503)
    return _answer(state, "whatsapp", "status", 204)


routes = [
    Route("/webhooks/telegram", telegram_webhook, methods=["POST"], name="telegram_webhook"),
    Route("/webhooks/twilio", twilio_webhook, methods=["POST"], name="twilio_webhook"),
    Route("/webhooks/twilio/status", twilio_status, methods=["POST"], name="twilio_status"),
]
