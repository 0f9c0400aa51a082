"""A local fake of the Telegram Bot API, as an ASGI app speaking Telegram's wire format.

``POST /bot<token>/<method>`` with form, JSON or multipart parameters, answering
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"[, "parameters":
{"retry_after"}]}`` as Telegram does. Methods: getMe, sendMessage, editMessageText,
answerCallbackQuery, setWebhook, deleteWebhook, getWebhookInfo, getUpdates. It enforces what
the real API enforces and we rely on (the token, 4,096-character texts, 1-64-byte callback data,
a private chat id) and records every accepted call in :attr:`FakeTelegramAPI.calls`.

Plug it in at the transport (``httpx.ASGITransport(app=fake)`` mounted on
``https://api.telegram.org``) or serve it on loopback with uvicorn (``python -m
tests.fakes.serve telegram``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["BOT_USER", "Call", "FakeTelegramAPI"]

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Fibra Bot",
    "username": "fibra_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class Call:
    """One accepted Bot API call; ``params`` with JSON fields (reply_markup, ...) decoded."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)  # for other processes (benchmark)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeTelegramAPI:
    """The fake; ``app`` is the ASGI application. ``token`` is the only token it accepts."""

    def __init__(self, token: str, *, latency: float = 0.0) -> None:
        self.token = token
        # the way to Telegram: a call whose connection broke meanwhile (its sender was killed)
        # never arrives
        self.latency = latency
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] = {"url": "", "pending_update_count": 0}
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._failures: dict[str, list[tuple[int, str, int | None]]] = {}
        self._message_ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )

    # --- test controls -----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        description: str = "",
        retry_after: int | None = None,
    ) -> None:
        """Make the next call of ``method`` fail; 429 with ``retry_after`` is flood control."""
        if status == 429 and not description:
            description = f"Too Many Requests: retry after {retry_after or 1}"
            retry_after = retry_after or 1
        self._failures.setdefault(method, []).append((status, description, retry_after))

    def sent(self, chat_id: int | str | None = None) -> list[Call]:
        """The sendMessage calls, to ``chat_id`` if given."""
        return [
            c
            for c in self.calls
            if c.method == "sendMessage"
            and (chat_id is None or str(c.params["chat_id"]) == str(chat_id))
        ]

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        return [c.params["text"] for c in self.sent(chat_id)]

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        """Wait until ``predicate(self)`` holds (checked after every call)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), within)

    async def wait_sent(
        self, count: int, chat_id: int | str | None = None, within: float = 10.0
    ) -> list[Call]:
        await self.wait_for(lambda fake: len(fake.sent(chat_id)) >= count, within)
        return self.sent(chat_id)

    # --- the API -----------------------------------------------------------------------------

    async def _params(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = await request.body()
            return dict(json.loads(body)) if body else {}
        form = await request.form()
        params = {key: _decode(value) for key, value in form.items() if isinstance(value, str)}
        params.update(request.query_params)
        return params

    @staticmethod
    def _error(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return JSONResponse(body, status_code=code)

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return self._error(401, "Unauthorized")
        params = await self._params(request)  # (read first: the disconnect check reads on)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
            if await request.is_disconnected():
                return self._error(499, "the sender went away")
        return await self._perform(request.path_params["method"], params)

    async def webhook_answer(self, response: Any) -> Any:
        """Do what Telegram does with the answer to a webhook (an ``httpx.Response``): a 200
        whose JSON body names a ``method`` is that Bot API call, made as if the bot had sent
        it (recorded in :attr:`calls`); the bot never learns its result. Returns the result,
        or None when the answer carries no call."""
        if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return None
        params = dict(response.json())
        answer = await self._perform(str(params.pop("method")), params)
        return json.loads(bytes(answer.body))

    async def _perform(self, method: str, params: dict[str, Any]) -> JSONResponse:
        queued = self._failures.get(method)
        if queued:
            status, description, retry_after = queued.pop(0)
            return self._error(status, description, retry_after)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, JSONResponse):
            return result
        async with self._changed:
            self.calls.append(Call(method, params))
            self._changed.notify_all()
        return JSONResponse({"ok": True, "result": result})

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, ValueError):
            return self._error(400, "Bad Request: chat not found")
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data", "")
                    if not 1 <= len(data.encode()) <= 64:
                        return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Cliente"},
            "from": BOT_USER,
            "text": text,
        }

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        if "message_id" not in params and "inline_message_id" not in params:
            return self._error(400, "Bad Request: message identifier is not specified")
        return {
            "message_id": int(params.get("message_id", 0)),
            "date": int(time.time()),
            "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
            "text": params.get("text", ""),
        }

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            return self._error(400, "Bad Request: query is too old or query ID is invalid")
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            return self._error(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook = {
            "url": url,
            "pending_update_count": 0,
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {"url": "", "pending_update_count": 0}
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        shown = {"url", "pending_update_count", "last_error_date", "last_error_message"}
        info = {k: v for k, v in self.webhook.items() if k in shown}
        return {**info, "has_custom_certificate": False}

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook.get("url"):
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        timeout = float(params.get("timeout", 0) or 0)
        batch: list[dict[str, Any]] = []
        try:
            batch.append(await asyncio.wait_for(self.updates.get(), timeout=max(timeout, 0.01)))
        except TimeoutError:
            return []
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        return batch
