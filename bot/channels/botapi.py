"""The Telegram Bot API as what it is on the wire: JSON posted to ``<api>/bot<token>/<method>``,
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"[, "parameters":
{"retry_after"}]}`` back, on the shared ``httpx.AsyncClient`` (tests mount fakes on it).

Why not python-telegram-bot's ``Bot``: for each ``sendMessage`` it built request parameter
objects, serialised them, and parsed the answer into a ``Message`` object nobody reads, about
0.3 ms of CPU per message on top of the HTTP request itself, the largest part of a turn after
the HTTP client. The bot needs seven methods and reads two fields of their answers; their
parameters are plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = ["DEFAULT_API_URL", "BotApi", "BotApiError", "WebhookInfo"]

DEFAULT_API_URL = "https://api.telegram.org"


class BotApiError(Exception):
    """Telegram answered ``ok: false`` (``code`` is its ``error_code``, 0 when the answer was
    not the API's), or could not be reached (``code`` 0, ``unreachable``). Its text never
    holds the request URL, which carries the bot token."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.unreachable = unreachable

    @property
    def bad_token(self) -> bool:
        """Telegram does not know the token (401 Unauthorized, or 404 for a malformed one)."""
        return self.code in (401, 404)


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    """What ``getWebhookInfo`` says: the URL ("" for none: long polling), the updates waiting,
    and the last delivery error with its time."""

    url: str
    pending_update_count: int
    last_error_message: str | None = None
    last_error_date: datetime | None = None


class BotApi:
    """One bot's Bot API: :meth:`call` any method; the ones ozbot uses have their own method.

    Every method raises :class:`BotApiError`. ``read_timeout`` is the default wait for an
    answer; ``getUpdates`` waits longer than its long-poll timeout."""

    def __init__(
        self,
        token: str,
        client: httpx.AsyncClient,
        api_url: str = DEFAULT_API_URL,
        *,
        read_timeout: float = 10.0,
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}/"
        self._client = client
        self._timeout = httpx.Timeout(10.0, connect=5.0, read=read_timeout, pool=5.0)

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, read_timeout: float = 0
    ) -> Any:
        """The ``result`` of ``method`` called with ``params`` (None values left out)."""
        timeout = self._timeout
        if read_timeout:
            timeout = httpx.Timeout(10.0, connect=5.0, read=read_timeout, pool=5.0)
        body = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.post(
                self._base + method,
                content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise BotApiError(0, f"httpx.{type(exc).__name__}", unreachable=True) from exc
        try:
            answer = json.loads(response.content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise BotApiError(response.status_code, f"HTTP {response.status_code}, not the API")
        if answer.get("ok") is True:
            return answer.get("result")
        parameters = answer.get("parameters")
        retry = parameters.get("retry_after") if isinstance(parameters, dict) else None
        raise BotApiError(
            int(answer.get("error_code") or response.status_code),
            str(answer.get("description") or f"HTTP {response.status_code}"),
            retry_after=float(retry) if isinstance(retry, int | float) else None,
        )

    async def send_message(
        self, chat_id: int, text: str, reply_markup: Mapping[str, Any] | None = None
    ) -> None:
        await self.call(
            "sendMessage", {"chat_id": chat_id, "text": text, "reply_markup": reply_markup}
        )

    async def answer_callback_query(self, callback_query_id: str) -> None:
        await self.call("answerCallbackQuery", {"callback_query_id": callback_query_id})

    async def set_webhook(
        self, url: str, secret_token: str, allowed_updates: list[str], *, drop_pending: bool
    ) -> None:
        await self.call(
            "setWebhook",
            {
                "url": url,
                "secret_token": secret_token,
                "allowed_updates": allowed_updates,
                "drop_pending_updates": drop_pending,
            },
        )

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def get_webhook_info(self) -> WebhookInfo:
        info = await self.call("getWebhookInfo")
        if not isinstance(info, dict):
            raise BotApiError(0, "getWebhookInfo answered no object")
        when = info.get("last_error_date")
        return WebhookInfo(
            url=str(info.get("url") or ""),
            pending_update_count=int(info.get("pending_update_count") or 0),
            last_error_message=info.get("last_error_message"),
            last_error_date=datetime.fromtimestamp(when, UTC) if isinstance(when, int) else None,
        )

    async def get_me(self) -> dict[str, Any]:
        me = await self.call("getMe")
        if not isinstance(me, dict):
            raise BotApiError(0, "getMe answered no object")
        return me

    async def get_updates(
        self, offset: int | None, poll_seconds: int, allowed_updates: list[str]
    ) -> list[Any]:
        """The updates after ``offset``, waiting up to ``poll_seconds`` for one."""
        updates = await self.call(
            "getUpdates",
            {"offset": offset, "timeout": poll_seconds, "allowed_updates": allowed_updates},
            read_timeout=poll_seconds + 15.0,
        )
        if not isinstance(updates, list):
            raise BotApiError(0, "getUpdates answered no list")
        return updates
