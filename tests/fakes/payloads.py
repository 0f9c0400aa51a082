"""Webhook payloads in the shapes the real platforms send, with the variable parts as arguments.

Telegram: updates for a text message (and ``/start`` with its bot_command entity), a location,
a shared contact and a callback query (an inline-keyboard tap, whose ``message`` is the bot's
message carrying the keyboard). Field sets follow the Bot API's Update/Message objects as
delivered to webhooks.

Twilio: the form fields of an incoming WhatsApp message (text, location pin, quick-reply
button tap) and of a status callback, with every field Twilio posts, not only the ones we read,
so signatures are computed over the realistic set.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

__all__ = [
    "ACCOUNT_SID",
    "BOT_NUMBER",
    "tg_callback",
    "tg_contact",
    "tg_location",
    "tg_text",
    "twilio_button",
    "twilio_location",
    "twilio_status",
    "twilio_text",
]

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
BOT_NUMBER = "whatsapp:+14155238886"
_sids = itertools.count(1)


def _user(user_id: int, first_name: str, language_code: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "last_name": "Souza",
        "language_code": language_code,
    }


def _message(
    update_id: int, chat_id: int, first_name: str, language_code: str, **content: Any
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100_000 + 1,
            "from": _user(chat_id, first_name, language_code),
            "chat": {
                "id": chat_id,
                "first_name": first_name,
                "last_name": "Souza",
                "type": "private",
            },
            "date": int(time.time()),
            **content,
        },
    }


def tg_text(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    first_name: str = "Ana",
    language_code: str = "pt-br",
) -> dict[str, Any]:
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        command = text.split()[0]
        content["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return _message(update_id, chat_id, first_name, language_code, **content)


def tg_location(
    update_id: int, chat_id: int, lat: float, lng: float, *, first_name: str = "Ana"
) -> dict[str, Any]:
    return _message(
        update_id,
        chat_id,
        first_name,
        "pt-br",
        location={"latitude": lat, "longitude": lng, "horizontal_accuracy": 12.5},
    )


def tg_contact(
    update_id: int, chat_id: int, phone: str, *, first_name: str = "Ana"
) -> dict[str, Any]:
    return _message(
        update_id,
        chat_id,
        first_name,
        "pt-br",
        contact={
            "phone_number": phone,
            "first_name": first_name,
            "last_name": "Souza",
            "user_id": chat_id,
        },
    )


def tg_callback(
    update_id: int, chat_id: int, data: str, *, query_id: str | None = None, first_name: str = "Ana"
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"{chat_id}{update_id}",
            "from": _user(chat_id, first_name, "pt-br"),
            "message": {
                "message_id": 1001,
                "from": {
                    "id": 7000000001,
                    "is_bot": True,
                    "first_name": "Fibra Bot",
                    "username": "fibra_test_bot",
                },
                "chat": {"id": chat_id, "first_name": first_name, "type": "private"},
                "date": int(time.time()) - 5,
                "text": "Como posso ajudar?",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "Contratar", "callback_data": data}]]
                },
            },
            "chat_instance": "-8712345678901234567",
            "data": data,
        },
    }


def _twilio(
    wa_id: str, profile_name: str, message_sid: str | None, **fields: str
) -> dict[str, str]:
    sid = message_sid or f"SM{next(_sids):032x}"
    return {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": profile_name,
        "SmsSid": sid,
        "WaId": wa_id,
        "SmsStatus": "received",
        "To": BOT_NUMBER,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:+{wa_id}",
        "ApiVersion": "2010-04-01",
        **fields,
    }


def twilio_text(
    wa_id: str, body: str, *, message_sid: str | None = None, profile_name: str = "Bruno"
) -> dict[str, str]:
    return _twilio(wa_id, profile_name, message_sid, MessageType="text", Body=body)


def twilio_location(
    wa_id: str,
    lat: float,
    lng: float,
    *,
    label: str | None = None,
    address: str | None = None,
    message_sid: str | None = None,
    profile_name: str = "Bruno",
) -> dict[str, str]:
    extra = {"Latitude": str(lat), "Longitude": str(lng)}
    if label:
        extra["Label"] = label
    if address:
        extra["Address"] = address
    return _twilio(wa_id, profile_name, message_sid, MessageType="location", Body="", **extra)


def twilio_button(
    wa_id: str,
    payload: str,
    text: str,
    *,
    message_sid: str | None = None,
    profile_name: str = "Bruno",
) -> dict[str, str]:
    return _twilio(
        wa_id,
        profile_name,
        message_sid,
        MessageType="button",
        Body=text,
        ButtonText=text,
        ButtonPayload=payload,
        OriginalRepliedMessageSender=BOT_NUMBER,
        OriginalRepliedMessageSid="SM" + "f" * 32,
    )


def twilio_status(
    message_sid: str, status: str, wa_id: str, *, error_code: str | None = None
) -> dict[str, str]:
    fields = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "ChannelToAddress": f"+{wa_id}",
        "To": f"whatsapp:+{wa_id}",
        "ChannelPrefix": "whatsapp",
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": BOT_NUMBER,
        "ApiVersion": "2010-04-01",
        "ChannelInstallSid": "XE" + "0" * 32,
    }
    if error_code:
        fields["ErrorCode"] = error_code
    return fields
