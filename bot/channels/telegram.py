"""Telegram: verify and parse webhook updates, send replies, long-poll for local development.

python-telegram-bot is used for its types, its parsing (``Update.de_json``) and its ``Bot``
methods, on our shared ``httpx.AsyncClient`` (:class:`SharedClientRequest`). It is deliberately
*not* used for conversation state: no ``Application``, ``ConversationHandler`` or persistence; the
engine owns the one state machine per conversation.

Contacts are chat ids (private chats only). Update ids become ``Inbound.provider_id`` as
``"tg:<update_id>"``, so a re-delivered update is processed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from telegram import (
    Bot,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.channels.base import Channel
from bot.channels.textsplit import merge_replies, numbered, split_text
from bot.errors import BadPayload, ChannelError, SignatureError
from bot.httpclient import Answer, SharedClient
from bot.messages import Inbound, Location, Reply
from bot.validation import normalize_phone, valid_coordinates

__all__ = [
    "ALLOWED_UPDATES",
    "SECRET_HEADER",
    "TEXT_LIMIT",
    "SharedClientRequest",
    "TelegramChannel",
    "TelegramEvent",
    "make_bot",
    "parse_update",
    "poll_updates",
    "verify_secret",
]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  # a header name, not a secret
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes
#: the update kinds we ask Telegram for (setWebhook / getUpdates ``allowed_updates``)
ALLOWED_UPDATES = ("message", "callback_query")
# Flood control: wait what Telegram asks, up to this long, this many times, then give up.
MAX_RETRY_WAIT = 30.0
MAX_ATTEMPTS = 3


def verify_secret(header: str | None, secret: str) -> None:
    """Check the ``X-Telegram-Bot-Api-Secret-Token`` header against the configured secret.

    Raises :class:`SignatureError` when the header is missing or wrong, and also when no secret
    is configured: an unauthenticated webhook would let anyone speak for any customer."""
    if not secret:
        raise SignatureError(
            "TELEGRAM_SECRET is not set: set it, then run `ozbot telegram set-webhook URL` so "
            "Telegram sends it with every update"
        )
    if header is None or not hmac.compare_digest(header.encode(), secret.encode()):
        raise SignatureError("the Telegram secret token header is missing or wrong")


@dataclass(frozen=True, slots=True)
class TelegramEvent:
    """What one update asks of us: a customer message (``inbound``), and for a button tap the
    callback query to acknowledge (``callback_query_id``)."""

    inbound: Inbound
    callback_query_id: str | None = None


def _location(message: Message) -> Location | None:
    if message.venue is not None:
        venue = message.venue
        return Location(
            venue.location.latitude, venue.location.longitude, venue.title, venue.address
        )
    if message.location is not None:
        return Location(message.location.latitude, message.location.longitude)
    return None


def _from_message(message: Message, provider_id: str) -> Inbound | None:
    if message.chat.type != "private":
        return None  # the bot serves customers one to one; groups are ignored
    if not isinstance(message.chat.id, int):
        raise TypeError("chat id")
    user = message.from_user
    text = message.text if message.text is not None else message.caption
    if text is not None and (text == "/start" or text.startswith("/start ")):
        text = "/start"  # a deep-link payload carries nothing the flows use
    phone = None
    if message.contact is not None:
        shared = message.contact.phone_number
        phone = normalize_phone(shared) or shared
    location = _location(message)
    if text is None and location is None and phone is None:
        text = ""  # a sticker, photo or voice note: the flow answers that it did not understand
    return Inbound(
        channel="telegram",
        contact=str(message.chat.id),
        text=text,
        location=location,
        phone=phone,
        name=user.full_name if user is not None else None,
        provider_id=provider_id,
        language=user.language_code if user is not None else None,
    )


def parse_update(data: Any) -> TelegramEvent | None:
    """Read one webhook/getUpdates update. Returns None for updates the bot does not serve
    (edits, group messages, channel posts, membership changes). Raises :class:`BadPayload` when
    ``data`` is not an update, including fields of the wrong type (PTB's parsing does not check
    types, so a forged ``"text": 5`` would otherwise surface as a crash further on)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("update_id"), int):
        raise BadPayload("not a Telegram update: expected a JSON object with an update_id")
    try:
        event = _read(Update.de_json(dict(data), bot=None))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadPayload(f"malformed Telegram update: {type(exc).__name__}") from exc
    if event is not None:
        _check(event.inbound)
    return event


def _read(update: Update) -> TelegramEvent | None:
    provider_id = f"tg:{update.update_id}"
    if update.message is not None:
        inbound = _from_message(update.message, provider_id)
        return TelegramEvent(inbound) if inbound is not None else None
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is not None and message.chat.type != "private":
            return None
        chat_id = message.chat.id if message is not None else query.from_user.id
        if not isinstance(chat_id, int) or not isinstance(query.id, str):
            raise TypeError("chat id or query id")
        inbound = Inbound(
            channel="telegram",
            contact=str(chat_id),
            button=query.data or "",
            name=query.from_user.full_name,
            provider_id=provider_id,
            language=query.from_user.language_code,
        )
        return TelegramEvent(inbound, callback_query_id=query.id)
    return None


def _check(inbound: Inbound) -> None:
    """Raise BadPayload unless every field has the type the engine expects."""
    optional_text = (inbound.text, inbound.button, inbound.phone, inbound.name, inbound.language)
    if not all(value is None or isinstance(value, str) for value in optional_text):
        raise BadPayload("malformed Telegram update: a text field is not a string")
    if not inbound.contact.lstrip("-").isdigit():
        raise BadPayload("malformed Telegram update: the chat id is not a number")
    point = inbound.location
    if point is not None and not (
        all(isinstance(v, int | float) and not isinstance(v, bool) for v in (point.lat, point.lng))
        and valid_coordinates(point.lat, point.lng)
    ):
        raise BadPayload("malformed Telegram update: the location is not a valid point")
    if point is not None and not all(
        value is None or isinstance(value, str) for value in (point.name, point.address)
    ):
        raise BadPayload("malformed Telegram update: a venue's title or address is not a string")


class SharedClientRequest(BaseRequest):
    """PTB's networking port on the application's shared ``httpx.AsyncClient``.

    PTB's own ``HTTPXRequest`` builds and owns a client; this one borrows ours, so connection
    pooling, transports (tests mount fakes on it) and shutdown stay in one place, the lifespan.
    It never closes the client.

    Parameters go as one JSON body (``RequestData.parameters``), which the Bot API accepts for
    every method but file uploads (those stay multipart): PTB's own request sends a form whose
    values are JSON texts, and httpx's form encoding quotes each byte in Python, about 50 us
    of CPU a message."""

    def __init__(self, client: httpx.AsyncClient, *, read_timeout: float = 10.0) -> None:
        self._client = client
        self._read_timeout = read_timeout
        self._default_timeout = self._timeout(
            BaseRequest.DEFAULT_NONE,
            BaseRequest.DEFAULT_NONE,
            BaseRequest.DEFAULT_NONE,
            BaseRequest.DEFAULT_NONE,
        )
        self._headers = {"User-Agent": self.USER_AGENT}
        self._json_headers = {**self._headers, "Content-Type": "application/json"}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open: the client belongs to the caller."""

    async def shutdown(self) -> None:
        """Nothing to close: the client belongs to the caller."""

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any) -> httpx.Timeout:
        def pick(value: Any, default: float | None) -> float | None:
            return default if value is BaseRequest.DEFAULT_NONE else value

        return httpx.Timeout(
            connect=pick(connect, 5.0),
            read=pick(read, self._read_timeout),
            write=pick(write, 10.0),
            pool=pick(pool, 5.0),
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        if all(value is BaseRequest.DEFAULT_NONE for value in timeouts):
            timeout = self._default_timeout
        else:
            timeout = self._timeout(*timeouts)
        response: httpx.Response | Answer
        try:
            if request_data is not None and request_data.contains_files:
                response = await self._client.request(
                    method,
                    url,
                    headers=self._headers,
                    timeout=timeout,
                    files=request_data.multipart_data,
                    data=request_data.json_parameters,
                )
            else:
                body = json.dumps(request_data.parameters if request_data else {})
                # the shared client's fetch: the same request, no httpx objects built for it
                send = (
                    self._client.fetch
                    if isinstance(self._client, SharedClient)
                    else self._client.request
                )
                response = await send(
                    method,
                    url,
                    headers=self._json_headers,
                    timeout=timeout,
                    content=body.encode(),
                )
        except httpx.TimeoutException as exc:
            raise TimedOut from exc
        except httpx.HTTPError as exc:
            # the exception's text never holds the URL, which would carry the bot token
            raise NetworkError(f"httpx.{type(exc).__name__}") from exc
        return response.status_code, response.content


def make_bot(
    token: str, client: httpx.AsyncClient, api_url: str = "https://api.telegram.org"
) -> Bot:
    """A PTB ``Bot`` speaking to ``api_url`` (Telegram, or a fake) through ``client``."""
    # do_api_request("sendMessage") asks for send_message instead (TelegramChannel says why
    # not); the advice is meant for bots, not for this module's deliberate use of it
    warnings.filterwarnings(
        "ignore", "Please use 'Bot.", PTBUserWarning, module=r"bot\.channels\.telegram"
    )
    base = api_url.rstrip("/")
    request = SharedClientRequest(client)
    # getUpdates long-polls, so it gets a read timeout above the poll timeout
    polling = SharedClientRequest(client, read_timeout=40.0)
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=request,
        get_updates_request=polling,
    )


def _retry_after(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait. PTB 22 warns that the attribute will become a
    timedelta; either type is read here, so the warning says nothing we must act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel(Channel):
    """Sends replies with ``bot``: options as an inline keyboard (one button a row), a location
    request as a one-time reply keyboard whose button is labelled ``location_label``, texts over
    4,096 characters in several messages (the keyboard on the last).

    Raises :class:`ChannelError` when Telegram refuses (the customer blocked the bot, a bad
    token) or stays unreachable, and after flood control (429) outlasts three waits."""

    name = "telegram"

    def __init__(self, bot: Bot, *, location_label: str) -> None:
        self.bot = bot
        self._location_label = location_label
        self._location_keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(location_label, request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        ).to_dict()

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        try:
            chat_id = int(contact)
        except ValueError:
            raise ChannelError("a Telegram contact must be a numeric chat id") from None
        for reply in merge_replies(replies, TEXT_LIMIT):
            await self._send_reply(chat_id, reply)

    async def _send_reply(self, chat_id: int, reply: Reply) -> None:
        text = reply.text
        inline: dict[str, Any] | None = None
        if reply.buttons:
            if all(len(b.payload.encode()) <= CALLBACK_DATA_LIMIT for b in reply.buttons):
                rows = [[{"text": b.label, "callback_data": b.payload}] for b in reply.buttons]
                inline = {"inline_keyboard": rows}
            else:  # Telegram caps callback data at 64 bytes: offer the options by number
                text = numbered(text, [b.label for b in reply.buttons])
        pieces = split_text(text, TEXT_LIMIT)
        for piece in pieces[:-1]:
            await self._send_message(chat_id, piece)
        last_markup = inline
        if inline is None and reply.ask_location:
            last_markup = self._location_keyboard
        await self._send_message(chat_id, pieces[-1], last_markup)
        if inline is not None and reply.ask_location:
            # one message carries one keyboard: the location button follows on its own
            text = f"📍 {self._location_label}"
            await self._send_message(chat_id, text, self._location_keyboard)

    async def _send_message(
        self, chat_id: int, text: str, markup: dict[str, Any] | None = None
    ) -> None:
        """``sendMessage`` through PTB's ``do_api_request`` with the markup as the Bot API's
        JSON and no return type: PTB's ``send_message`` built markup objects and parsed every
        answer into a ``Message`` nobody reads, 0.31 ms of CPU a message against 0.17 ms
        this way (bench/channels.py)."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if markup is not None:
            params["reply_markup"] = markup
        await self._call(self.bot.do_api_request, endpoint="sendMessage", api_kwargs=params)

    async def answer_callback(self, query_id: str) -> None:
        """Stop the tapped button's progress indicator. Raises :class:`ChannelError`."""
        await self._call(self.bot.answer_callback_query, callback_query_id=query_id)

    async def set_webhook(self, url: str, secret: str, *, drop_pending: bool = False) -> None:
        """Register ``url`` as the webhook, with ``secret`` as its secret token."""
        await self._call(
            self.bot.set_webhook,
            url=url,
            secret_token=secret,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=drop_pending,
        )

    async def delete_webhook(self) -> None:
        """Remove the webhook (long polling does not work while one is set)."""
        await self._call(self.bot.delete_webhook)

    async def _call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await method(**kwargs)
            except RetryAfter as exc:
                wait = _retry_after(exc)
                if attempt == MAX_ATTEMPTS or wait > MAX_RETRY_WAIT:
                    raise ChannelError(
                        f"Telegram flood control: asked to wait {wait:.0f}s; message not sent"
                    ) from exc
                log.warning("Telegram flood control: waiting %.1fs before retrying", wait)
                await asyncio.sleep(wait)
            except InvalidToken as exc:
                # PTB's message for this error quotes the token: never pass it on
                raise ChannelError(
                    "Telegram rejected the bot token: check TELEGRAM_TOKEN (from @BotFather)"
                ) from exc
            except TelegramError as exc:
                raise ChannelError(f"Telegram refused the request: {exc.message}") from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def poll_updates(
    bot: Bot,
    on_event: Callable[[TelegramEvent], Awaitable[None]],
    *,
    stop: asyncio.Event,
    poll_timeout: int = 25,
    error_pause: float = 3.0,
) -> None:
    """Long-poll ``getUpdates`` until ``stop`` is set, handing each served update to
    ``on_event`` in order. For local development, where Telegram cannot reach a webhook; the
    caller deletes any webhook first. Network trouble is logged and retried, never raised."""
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=poll_timeout, allowed_updates=list(ALLOWED_UPDATES)
            )
        except (NetworkError, TimedOut) as exc:
            log.warning("Telegram long poll failed (%s); retrying", type(exc).__name__)
            await _pause(stop, error_pause)
            continue
        except RetryAfter as exc:
            await _pause(stop, _retry_after(exc))
            continue
        except TelegramError as exc:
            log.error("Telegram refused getUpdates: %s", exc.message)
            await _pause(stop, error_pause)
            continue
        for update in updates:
            offset = update.update_id + 1
            try:
                event = parse_update(update.to_dict())
            except BadPayload:
                log.warning("skipping an unreadable update from getUpdates")
                continue
            if event is not None:
                await on_event(event)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
