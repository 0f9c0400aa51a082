"""The messenger blocks: Telegram, and WhatsApp through Twilio."""

from __future__ import annotations

from typing import Literal

from bot.settings.fields import Block, Names, setting

__all__ = ["Telegram", "Twilio"]


class Telegram(Block):
    telegram_token: str = setting(
        "",
        "TELEGRAM_TOKEN",
        "from @BotFather; empty: no Telegram",
        example="123456789:dummy-telegram-bot-token",
        secret=True,
        section="Telegram",
    )
    telegram_secret: str = setting(
        "",
        "TELEGRAM_SECRET",
        "sent by Telegram with every update: letters, digits, _ and -, up to 256",
        example="dummy_webhook_secret",
        secret=True,
    )
    telegram_mode: Literal["webhook", "polling"] = setting(
        "webhook",
        "TELEGRAM_MODE",
        "webhook (production: `ozbot telegram set-webhook`) or polling (local development)",
    )
    telegram_api_url: str = setting(
        "https://api.telegram.org",
        "TELEGRAM_API_URL",
        "changed only to point at a local fake or a self-hosted Bot API server",
    )


class Twilio(Block):
    twilio_account_sid: str = setting(
        "",
        "TWILIO_ACCOUNT_SID",
        "from the Twilio console; empty: no WhatsApp",
        example="ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        section="WhatsApp through Twilio",
    )
    twilio_auth_token: str = setting(
        "",
        "TWILIO_AUTH_TOKEN",
        "from the Twilio console",
        example="dummy-twilio-auth-token",
        secret=True,
    )
    twilio_from: str = setting(
        "", "TWILIO_FROM", "your WhatsApp sender", example="whatsapp:+5511900000000"
    )
    twilio_quick_reply_sids: Names = setting(
        (),
        "TWILIO_QUICK_REPLY_SIDS",
        "Content SIDs of twilio/quick-reply templates with 1, 2 and 3 buttons (see the README); "
        "empty: options are sent as numbered text",
        example="HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,HXbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,"
        "HXcccccccccccccccccccccccccccccccc",
    )
    twilio_api_url: str = setting(
        "https://api.twilio.com",
        "TWILIO_API_URL",
        "changed only to point at a local fake",
    )
    twilio_timer_template_sid: str = setting(
        "",
        "TWILIO_TIMER_TEMPLATE_SID",
        "Content SID of an approved template for timer messages outside WhatsApp's 24-hour "
        "window; empty: such messages are not sent (the state change still happens)",
        example="HXdddddddddddddddddddddddddddddddd",
    )
