"""WhatsApp through Twilio: verify and parse webhooks, send replies, track the 24-hour window.

Sending goes through the ``twilio`` library's own Messages resource (``create_async``) with a
small async :class:`HttpxTwilioClient` on our shared ``httpx.AsyncClient``. Why the library
rather than a hand-written POST: it owns the wire format (field names such as ``From`` and
``ContentVariables``, list encoding, headers) and turns error bodies into
``TwilioRestException`` with Twilio's error code, which we translate; why our own HTTP client
rather than twilio's ``AsyncTwilioHttpClient``: that one opens its own aiohttp session and logs
request parameters (customer phone numbers) at INFO.

Contacts are WhatsApp ids (``WaId``: the number's digits, no ``+``); ``MessageSid`` becomes
``Inbound.provider_id``, so a re-delivered message is processed once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import Channel
from bot.channels.textsplit import merge_replies, numbered, split_text
from bot.errors import BadPayload, ChannelError, SignatureError
from bot.httpclient import Answer, SharedClient
from bot.messages import Inbound, Location, Reply
from bot.storage.base import Store
from bot.validation import normalize_phone, valid_coordinates

__all__ = [
    "EMPTY_TWIML",
    "SIGNATURE_HEADER",
    "TEXT_LIMIT",
    "HttpxTwilioClient",
    "MessageStatus",
    "WhatsappChannel",
    "make_twilio_client",
    "parse_form",
    "parse_status",
    "signed_url",
    "verify_signature",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
TEXT_LIMIT = 1600  # Twilio's Body limit (errors 21617, 21658)
QUICK_REPLY_BODY_LIMIT = 1024  # a twilio/quick-reply body
QUICK_REPLY_BUTTON_LIMIT = 20  # characters in a quick-reply button title
WINDOW = timedelta(hours=24)
#: how stale the recorded start of a contact's window may get (see ``note_inbound``)
WINDOW_STEP = timedelta(minutes=10)
_NOTED_MAX = 10_000  # contacts whose last write this process remembers
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
DEFAULT_API_URL = "https://api.twilio.com"
_WINDOW_NS = "whatsapp.window"
_STATUS_NS = "whatsapp.status"
_STATUS_TTL = 7 * 24 * 3600.0


def signed_url(public_base_url: str, path: str, query: str = "") -> str:
    """The URL Twilio signed: our public base URL (behind a proxy the request's own URL is the
    internal one) plus the request's path and query."""
    url = public_base_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


class _Fields(dict[str, list[str]]):
    """A form's values by field name, read the way twilio's ``RequestValidator`` reads a
    multi-dict (``getall``). Given a plain dict, the validator looks for ``getall``, then
    ``getlist``, and catches both AttributeErrors for each field, twice (with and without the
    port): 80 exceptions for a WhatsApp webhook's 20 fields, most of a 50 us check; Starlette's
    ``FormData.getall`` scans every field for each one."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def _fields(params: Any) -> _Fields:
    pairs: Iterable[tuple[str, Any]]
    if hasattr(params, "multi_items"):  # a multi-dict: every value of a repeated field
        pairs = params.multi_items()
    elif isinstance(params, Mapping):
        pairs = params.items()
    else:
        pairs = params
    fields = _Fields()
    for name, value in pairs:
        fields.setdefault(name, []).append(str(value))
    return fields


def verify_signature(url: str, params: Any, signature: str | None, auth_token: str) -> None:
    """Check ``X-Twilio-Signature`` for a form post to ``url`` with ``params`` (a mapping, a
    multi-dict such as Starlette's ``FormData``, or the form's ``(name, value)`` pairs; the
    signature covers every value of a repeated field).

    Raises :class:`SignatureError` when the signature is missing or wrong, or when no auth token
    is configured."""
    if not auth_token:
        raise SignatureError("TWILIO_AUTH_TOKEN is not set: copy it from the Twilio console")
    if not signature or not RequestValidator(auth_token).validate(url, _fields(params), signature):
        raise SignatureError(
            "the X-Twilio-Signature does not match: check TWILIO_AUTH_TOKEN and that "
            "PUBLIC_BASE_URL is the exact scheme and host configured in Twilio"
        )


def _location(params: Mapping[str, str]) -> Location:
    try:
        lat, lng = float(params["Latitude"]), float(params["Longitude"])
    except ValueError:
        raise BadPayload("Latitude/Longitude are not numbers") from None
    if not valid_coordinates(lat, lng):
        raise BadPayload("Latitude/Longitude are out of range")
    return Location(lat, lng, params.get("Label") or None, params.get("Address") or None)


@functools.lru_cache(maxsize=4096)
def _contact_phone(contact: str) -> str | None:
    """The E.164 number of a WhatsApp id: phonenumbers' parsing and validation is 15 us of
    CPU, for the same few ids message after message."""
    return normalize_phone(contact)


def parse_form(params: Mapping[str, str]) -> Inbound | None:
    """Read one incoming-message webhook (form fields as Twilio posts them). Returns None for
    messages that are not WhatsApp (an SMS to the same number). Raises :class:`BadPayload` when
    required fields are missing or malformed."""
    sender = params.get("From", "")
    sid = params.get("MessageSid") or params.get("SmsMessageSid")
    if not sender or not sid:
        raise BadPayload("not a Twilio message webhook: From and MessageSid are required")
    if not sender.startswith("whatsapp:"):
        return None
    contact = params.get("WaId") or sender.removeprefix("whatsapp:").lstrip("+")
    if not contact:
        raise BadPayload("the WhatsApp sender has no number")
    location = None
    if params.get("Latitude") and params.get("Longitude"):
        location = _location(params)
    button = params.get("ButtonPayload") or None
    body = params.get("Body", "")
    text: str | None = body
    if button is not None or (location is not None and not body):
        text = None  # the tap's payload (or the pin) is the message; Body just echoes it
    return Inbound(
        channel="whatsapp",
        contact=contact,
        text=text,
        location=location,
        button=button,
        # the conversation stays keyed by WhatsApp's own id (contact); the number OZmap records
        # is normalised, the ninth digit of a Brazilian mobile restored
        phone=_contact_phone(contact),
        name=params.get("ProfileName") or None,
        provider_id=sid,
    )


#: the statuses that say a sent message did not reach the customer
FAILED_STATUSES = frozenset({"failed", "undelivered"})


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """One status callback: a sent message's ``sid``, its ``status`` (queued, sent, delivered,
    read, failed, undelivered, ...) and Twilio's ``error_code`` when it failed."""

    sid: str
    status: str
    error_code: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the message did not reach the customer (failed, undelivered)."""
        return self.status in FAILED_STATUSES


def parse_status(params: Mapping[str, str]) -> MessageStatus:
    """Read a status callback. Raises :class:`BadPayload` without MessageSid/MessageStatus."""
    sid = params.get("MessageSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise BadPayload("not a Twilio status callback: MessageSid and MessageStatus required")
    return MessageStatus(sid, status, params.get("ErrorCode") or None)


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """twilio's async HTTP-client port on our shared ``httpx.AsyncClient``; requests to
    ``https://api.twilio.com`` go to ``api_url`` instead (a local fake in tests and benchmarks).
    Never logs parameters: they hold customers' numbers."""

    def __init__(
        self, client: httpx.AsyncClient, *, api_url: str = DEFAULT_API_URL, timeout: float = 15.0
    ) -> None:
        super().__init__(logger=log, is_async=True, timeout=timeout)
        self._client = client
        self._api_url = api_url.rstrip("/")
        self._login: tuple[tuple[str, str], str] | None = None  # (sid, token), its header

    def _basic(self, auth: tuple[str, str]) -> str:
        if self._login is None or self._login[0] != auth:
            login = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self._login = (auth, f"Basic {login}")
        return self._login[1]

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  # twilio's HttpClient signature
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        if uri.startswith(DEFAULT_API_URL):
            uri = self._api_url + uri[len(DEFAULT_API_URL) :]
        headers = dict(headers or {})
        if auth is not None:
            # the header httpx's BasicAuth would write, without its auth flow on every request
            headers["Authorization"] = self._basic(auth)
        try:
            response: httpx.Response | Answer
            if isinstance(self._client, SharedClient) and not allow_redirects:
                # the same request, no httpx objects built for it (SharedClient.fetch)
                response = await self._client.fetch(
                    method.upper(),
                    uri,
                    params=params or None,
                    data=data,
                    headers=headers,
                    timeout=timeout or self.timeout,
                )
            else:
                response = await self._client.request(
                    method.upper(),
                    uri,
                    # an empty mapping still makes httpx merge and re-parse the URL
                    params=params or None,  # type: ignore[arg-type]
                    data=data,
                    headers=headers,
                    timeout=timeout or self.timeout,
                    follow_redirects=allow_redirects,
                )
        except httpx.HTTPError as exc:
            raise ChannelError(f"Twilio is unreachable ({type(exc).__name__})") from exc
        # Twilio's API answers JSON, which is UTF-8: httpx's ``text`` would first look for a
        # charset in the Content-Type through the email package, 10 us a message
        text = response.content.decode("utf-8", errors="replace")
        return TwilioResponse(response.status_code, text, response.headers)


def make_twilio_client(
    account_sid: str, auth_token: str, http: httpx.AsyncClient, api_url: str = DEFAULT_API_URL
) -> Any:
    """A twilio ``Client`` whose requests go through ``http`` to ``api_url``."""
    client = Client(account_sid, auth_token, http_client=HttpxTwilioClient(http, api_url=api_url))
    # the library imports its API modules on first use: at start-up, not in a customer's turn
    client.messages  # noqa: B018
    return client


def _ref(contact: str) -> str:
    """The cache key and log name for a contact: never the number itself."""
    return hashlib.sha256(contact.encode()).hexdigest()[:16]


class WhatsappChannel(Channel):
    """Sends replies through Twilio's Messages API from ``sender`` (``whatsapp:+E164``).

    Options become a ``twilio/quick-reply`` message when ``quick_reply_sids[n-1]`` holds a
    Content SID for ``n`` buttons (variables: 1 = text, then title and id of each button:
    2/3, 4/5, 6/7), numbered text otherwise, introduced by ``choose_intro``. A request for a
    location appends ``location_hint`` (WhatsApp has no button for it). Texts over 1,600
    characters go in several messages.

    Keeps, in the store's cache (given here or through :meth:`use_store`), the last inbound
    time per contact (:meth:`note_inbound`, :meth:`window_open`) and the failure of each sent
    message that failed (:meth:`record_status`). ``send`` raises :class:`ChannelError` when Twilio
    refuses (with its error code; 63016 means the 24-hour window is closed and only a template
    may be sent) or is unreachable.
    """

    name = "whatsapp"

    def __init__(
        self,
        twilio: Any,
        *,
        sender: str,
        location_hint: str,
        store: Store | None = None,
        choose_intro: str | None = None,
        quick_reply_sids: Sequence[str] = (),
        status_callback: str | None = None,
    ) -> None:
        self._twilio = twilio
        self._sender = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
        self._store_ = store
        self._location_hint = location_hint
        self._choose_intro = choose_intro
        self._quick_reply_sids = tuple(quick_reply_sids)
        self._status_callback = status_callback
        self._noted: OrderedDict[str, datetime] = OrderedDict()  # contact ref -> last written

    async def send(self, contact: str, replies: Sequence[Reply]) -> None:
        to = f"whatsapp:+{contact.lstrip('+')}"
        # the limit leaves room for the numbered options and the location hint added below
        for reply in merge_replies(replies, QUICK_REPLY_BODY_LIMIT):
            content = self._quick_reply(reply)
            if content is not None:
                await self._create(to, content_sid=content[0], content_variables=content[1])
                continue
            text = numbered(reply.text, [b.label for b in reply.buttons], self._choose_intro)
            if reply.ask_location:
                text = f"{text}\n\n{self._location_hint}"
            for piece in split_text(text, TEXT_LIMIT):
                await self._create(to, body=piece)

    def _quick_reply(self, reply: Reply) -> tuple[str, str] | None:
        count = len(reply.buttons)
        if not 0 < count <= len(self._quick_reply_sids) or reply.ask_location:
            return None
        if len(reply.text) > QUICK_REPLY_BODY_LIMIT or any(
            len(b.label) > QUICK_REPLY_BUTTON_LIMIT for b in reply.buttons
        ):
            return None
        variables = {"1": reply.text}
        for i, button in enumerate(reply.buttons):
            variables[str(2 + 2 * i)] = button.label
            variables[str(3 + 2 * i)] = button.payload
        return self._quick_reply_sids[count - 1], json.dumps(variables, ensure_ascii=False)

    async def _create(self, to: str, **fields: str) -> None:
        if self._status_callback:
            fields["status_callback"] = self._status_callback
        try:
            await self._twilio.messages.create_async(to=to, from_=self._sender, **fields)
        except TwilioRestException as exc:
            # exc.msg can quote the customer's number: only the code and status go further
            hint = ""
            if exc.code == 63016:
                hint = " (the 24-hour window is closed: only a template may be sent)"
            raise ChannelError(
                f"Twilio refused the message: HTTP {exc.status}, error {exc.code}{hint}"
            ) from exc

    def use_store(self, store: Store) -> None:
        """Keep the window and statuses in ``store`` (the composition root builds the store
        after the channels, so it is handed over here)."""
        self._store_ = store

    @property
    def _store(self) -> Store:
        if self._store_ is None:
            raise ChannelError("WhatsappChannel has no store: call use_store() at start-up")
        return self._store_

    async def can_send_freeform(self, contact: str, now: datetime) -> bool:
        """WhatsApp allows free text only within 24 hours of the customer's last message."""
        return await self.window_open(contact, now)

    async def send_template(
        self, contact: str, template: str, variables: Mapping[str, str]
    ) -> None:
        """Send the approved template whose Content SID is ``template`` with ``variables``
        (``{"1": ...}``); the way to reach a customer outside the 24-hour window."""
        to = f"whatsapp:+{contact.lstrip('+')}"
        content = json.dumps(dict(variables), ensure_ascii=False)
        await self._create(to, content_sid=template, content_variables=content)

    async def note_inbound(self, contact: str, at: datetime | None = None) -> None:
        """Record that ``contact`` just wrote, which (re)opens their 24-hour window.

        Written at most once every :data:`WINDOW_STEP` per contact by this channel: a customer
        in a conversation writes every few seconds, and one database write a message for a
        window measured in hours was the only store call of a WhatsApp webhook besides the
        inbox's. The window read back may close up to that much early (never late)."""
        moment = at or datetime.now(UTC)
        if self.window_noted(contact, moment):
            return
        key = _ref(contact)
        seconds = WINDOW.total_seconds()
        await self._store.cache_put(_WINDOW_NS, key, moment.isoformat(), seconds)
        self._noted[key] = moment
        self._noted.move_to_end(key)
        while len(self._noted) > _NOTED_MAX:
            self._noted.popitem(last=False)

    def window_noted(self, contact: str, at: datetime | None = None) -> bool:
        """Whether this channel wrote ``contact``'s window less than :data:`WINDOW_STEP` before
        ``at`` (now), so :meth:`note_inbound` would write nothing: the webhook then starts no
        side job for it."""
        noted = self._noted.get(_ref(contact))
        moment = at or datetime.now(UTC)
        return noted is not None and noted <= moment < noted + WINDOW_STEP

    async def window_open(self, contact: str, now: datetime | None = None) -> bool:
        """Whether a free-form message may be sent to ``contact``: they wrote within 24 hours.
        Outside the window only an approved template can reach them. May raise StorageError."""
        raw = await self._store.cache_get(_WINDOW_NS, _ref(contact))
        if raw is None:
            return False
        last = datetime.fromisoformat(raw)
        return (now or datetime.now(UTC)) - last < WINDOW

    async def record_status(self, status: MessageStatus) -> None:
        """Keep a sent message's failure (with Twilio's error code) for a week
        (``last_status``). Other statuses are not written: Twilio calls back about three times
        a message (sent, delivered, read), nothing reads those back, and the metrics count
        them already; a store write each was most of what a status callback cost."""
        if not status.failed:
            return
        value = status.status
        if status.error_code is not None:
            value = f"{value}:{status.error_code}"
        await self._store.cache_put(_STATUS_NS, status.sid, value, _STATUS_TTL)

    async def last_status(self, message_sid: str) -> str | None:
        """The failure recorded for ``message_sid`` (``"failed:63016"``, ``"undelivered"``),
        None when it has none (delivered, or nothing heard yet)."""
        return await self._store.cache_get(_STATUS_NS, message_sid)
