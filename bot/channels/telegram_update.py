"""Reading a Telegram update (a webhook's body, or one of ``getUpdates``) into an ``Inbound``.

The Bot API's JSON is read directly, only the fields the bot uses, each checked for its type:
python-telegram-bot's ``Update.de_json`` built the whole object tree, about a hundred attributes
for each ``Message`` through a ``__setattr__`` override, 70-100 us of CPU an update (a
twentieth of a turn) to read ten fields, and it checks no types (a forged ``"text": 5`` went
through). Fields we read and the objects they sit in, as the Bot API documents them
(core.telegram.org/bots/api): ``Update`` (update_id, message, callback_query), ``Message``
(message_id, date, chat, from, text, caption, contact, location, venue), ``Chat`` (id, type),
``User`` (id, first_name, last_name, language_code), ``CallbackQuery`` (id, from, message,
data), ``Contact`` (phone_number), ``Location`` (latitude, longitude), ``Venue`` (location,
title, address). A required field that is missing or of the wrong type is a
:class:`BadPayload`, as it was from PTB's parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import BadPayload
from bot.messages import Inbound, Location
from bot.validation import normalize_phone, valid_coordinates

__all__ = ["TelegramEvent", "parse_update"]


@dataclass(frozen=True, slots=True)
class TelegramEvent:
    """What one update asks of us: a customer message (``inbound``), and for a button tap the
    callback query to acknowledge (``callback_query_id``)."""

    inbound: Inbound
    callback_query_id: str | None = None


def _bad(what: str) -> BadPayload:
    return BadPayload(f"malformed Telegram update: {what}")


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(f"{what} is not an object")
    return value


def _optional_object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = parent.get(key)
    return None if value is None else _object(value, key)


def _integer(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"{what} is not an integer")
    return value


def _text(parent: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _bad(f"{key} is not a string")
    return value


def _number(parent: Mapping[str, Any], key: str) -> float:
    value = parent.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _bad(f"{key} is not a number")
    return value


def _user(value: Any) -> tuple[str, str | None]:
    """A ``User``'s full name (first and last, as PTB's ``full_name``) and language code."""
    user = _object(value, "from")
    _integer(user.get("id"), "the user id")
    first = _text(user, "first_name", required=True)
    last = _text(user, "last_name")
    return (f"{first} {last}" if last else first or ""), _text(user, "language_code")


def _private_chat(message: Mapping[str, Any]) -> int | None:
    """The chat id of a message in a private chat; None for a group, supergroup or channel."""
    chat = _object(message.get("chat"), "chat")
    chat_id = _integer(chat.get("id"), "the chat id")
    kind = _text(chat, "type", required=True)
    return chat_id if kind == "private" else None


def _point(value: Any, what: str) -> Location:
    place = _object(value, what)
    lat, lng = _number(place, "latitude"), _number(place, "longitude")
    if not valid_coordinates(lat, lng):
        raise _bad("the location is not a valid point")
    return Location(lat, lng)


def _location(message: Mapping[str, Any]) -> Location | None:
    venue = _optional_object(message, "venue")
    if venue is not None:
        point = _point(venue.get("location"), "venue location")
        title = _text(venue, "title", required=True)
        address = _text(venue, "address", required=True)
        return Location(point.lat, point.lng, title, address)
    if message.get("location") is not None:
        return _point(message["location"], "location")
    return None


def _from_message(message: Mapping[str, Any], provider_id: str) -> Inbound | None:
    _integer(message.get("message_id"), "message_id")
    _integer(message.get("date"), "date")
    chat_id = _private_chat(message)
    if chat_id is None:
        return None  # the bot serves customers one to one; groups are ignored
    name, language = _user(message["from"]) if message.get("from") is not None else (None, None)
    text = _text(message, "text")
    if text is None:
        text = _text(message, "caption")
    if text is not None and (text == "/start" or text.startswith("/start ")):
        text = "/start"  # a deep-link payload carries nothing the flows use
    phone = None
    contact = _optional_object(message, "contact")
    if contact is not None:
        shared = _text(contact, "phone_number", required=True) or ""
        phone = normalize_phone(shared) or shared
    location = _location(message)
    if text is None and location is None and phone is None:
        text = ""  # a sticker, photo or voice note: the flow answers that it did not understand
    return Inbound(
        channel="telegram",
        contact=str(chat_id),
        text=text,
        location=location,
        phone=phone,
        name=name,
        provider_id=provider_id,
        language=language,
    )


def _from_callback(query: Mapping[str, Any], provider_id: str) -> TelegramEvent | None:
    query_id = _text(query, "id", required=True) or ""
    name, language = _user(query.get("from"))
    message = _optional_object(query, "message")
    if message is not None:
        chat_id = _private_chat(message)
        if chat_id is None:
            return None
    else:  # an inline-mode message: the tap comes from the user's own chat with the bot
        chat_id = _integer(_object(query.get("from"), "from").get("id"), "the user id")
    inbound = Inbound(
        channel="telegram",
        contact=str(chat_id),
        button=_text(query, "data") or "",
        name=name,
        provider_id=provider_id,
        language=language,
    )
    return TelegramEvent(inbound, callback_query_id=query_id)


def parse_update(data: Any) -> TelegramEvent | None:
    """Read one webhook/getUpdates update. Returns None for updates the bot does not serve
    (edits, group messages, channel posts, membership changes). Raises :class:`BadPayload` when
    ``data`` is not an update, including fields of the wrong type."""
    if not isinstance(data, Mapping) or not isinstance(data.get("update_id"), int):
        raise BadPayload("not a Telegram update: expected a JSON object with an update_id")
    provider_id = f"tg:{data['update_id']}"
    message = _optional_object(data, "message")
    if message is not None:
        inbound = _from_message(message, provider_id)
        return TelegramEvent(inbound) if inbound is not None else None
    query = _optional_object(data, "callback_query")
    if query is not None:
        return _from_callback(query, provider_id)
    return None
