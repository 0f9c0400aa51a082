"""``ozbot doctor``: is this installation ready to serve customers, and if not, what to fix.

It reads the configuration, then asks each part the bot depends on, the way the server will:

- **configuration**: the settings parse; the business hours and holidays parse; the plans and
  answers file (``OZBOT_PLANS_FILE``) reads; what is missing for a part that is switched on;
- **database**: reachable, and its schema at the version this ozbot knows (``ozbot migrate``);
- **OZmap**, with the real key: the endpoints the bot calls answer and their answers parse
  (authentication, radius feasibility, the tags the outage check and prospects use, the
  condominium directory, a client-code lookup);
- **Telegram**: the bot token works and the webhook Telegram holds is this server's
  (``getWebhookInfo``), with its pending updates and last delivery error;
- **WhatsApp (Twilio)**: the account's credentials work and it is active; when the sender is one
  of the account's phone numbers, its incoming-message webhook is this server's (a WhatsApp
  sender's webhook is set in Twilio's console, which the API does not show: it says so).

Every problem is one line naming the fix; the exit code is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from bot.errors import ConfigError, OzbotError
from bot.ops.migrate import schema_status
from bot.plans import load_plan_book
from bot.settings import Settings, load_settings

__all__ = ["Finding", "diagnose", "register", "report"]

Level = Literal["ok", "warn", "FAIL", "skip"]
CHECK_TIMEOUT = 20.0  # seconds one part may take before it is reported as not answering
# a point for the feasibility probe: its answer is read, whatever it says
PROBE_POINT = (-27.5782, -48.5274)
PROBE_CODE = "ozbot-doctor-probe"
TELEGRAM_PATH = "/webhooks/telegram"
TWILIO_PATH = "/webhooks/twilio"


@dataclass(frozen=True)
class Finding:
    part: str
    level: Level
    text: str


async def _configuration(settings: Settings) -> list[Finding]:
    from bot.engine.hours import BusinessHours

    found = [Finding("configuration", "ok", "settings read from the environment and .env")]
    try:
        BusinessHours.from_settings(settings)
    except ConfigError as exc:
        found.append(Finding("configuration", "FAIL", str(exc)))
    if settings.plans_file:
        try:
            book = load_plan_book(settings.plans_file)
        except ConfigError as exc:
            found.append(Finding("configuration", "FAIL", str(exc)))
        else:
            said = f"{len(book.plans)} plans and {len(book.faq)} answers"
            found.append(Finding("configuration", "ok", f"OZBOT_PLANS_FILE reads: {said}"))
    if not settings.ozmap_token:
        found.append(
            Finding(
                "configuration",
                "FAIL",
                "OZMAP_TOKEN is not set: create an API key in OZmap (user panel, API module)",
            )
        )
    if not settings.session_secret:
        found.append(
            Finding(
                "configuration",
                "warn",
                "OZBOT_SESSION_SECRET is not set: web-chat visitors lose their conversation "
                "when the server restarts; set a long random string",
            )
        )
    channels = settings.telegram_token or settings.twilio_account_sid
    if channels and not settings.public_base_url.startswith("https://"):
        found.append(
            Finding(
                "configuration",
                "FAIL",
                f"PUBLIC_BASE_URL={settings.public_base_url!r}: messengers only call https "
                "addresses; set it to the server's public https address",
            )
        )
    return found


async def _database(settings: Settings) -> list[Finding]:
    status = await schema_status(settings.effective_database_url)
    current = not status.pending and not status.newer
    return [Finding("database", "ok" if current else "FAIL", status.describe())]


async def _ozmap(settings: Settings, http: httpx.AsyncClient) -> list[Finding]:
    from bot.ozmap.client import OzmapClient

    login = settings.ozmap_auth == "login"
    if not (settings.ozmap_login and settings.ozmap_password if login else settings.ozmap_token):
        unset = "OZMAP_LOGIN/OZMAP_PASSWORD" if login else "OZMAP_TOKEN"
        return [Finding("OZmap", "skip", f"no {unset} (see configuration)")]
    client = OzmapClient.from_settings(settings, http, retries=0)
    where = f"OZmap at {settings.ozmap_url}"
    if not await client.authenticated():
        problem = (
            "refused the login: check OZMAP_LOGIN and OZMAP_PASSWORD (the user needs the API "
            "module)"
            if login
            else "refused OZMAP_TOKEN: create an API key in OZmap's user panel (API module) "
            "and set OZMAP_TOKEN"
        )
        return [Finding("OZmap", "FAIL", f"{where} {problem}")]
    found = [Finding("OZmap", "ok", f"{where} accepts the {'login' if login else 'key'}")]
    feasibility = await client.feasibility(*PROBE_POINT)
    found.append(
        Finding("OZmap", "ok", f"radius feasibility answers ({len(feasibility.boxes)} boxes)")
    )
    wanted = {*settings.outage_tags, *settings.prospect_tags}
    tags = await client.tags(sorted(wanted)) if wanted else []
    known = {tag.name for tag in tags} | {tag.id for tag in tags}
    missing = sorted(name for name in wanted if name not in known)
    if missing:
        found.append(
            Finding(
                "OZmap",
                "warn",
                f"tags {', '.join(missing)} do not exist in OZmap: create them there, or fix "
                "OZMAP_OUTAGE_TAGS / OZMAP_PROSPECT_TAGS",
            )
        )
    else:
        found.append(Finding("OZmap", "ok", f"tags answer ({len(tags)} of ours found)"))
    await client.condominiums_at(*PROBE_POINT)
    found.append(Finding("OZmap", "ok", "buildings and horizontal condominiums answer"))
    await client.properties_by_client_code(PROBE_CODE)
    found.append(Finding("OZmap", "ok", "client-code lookup answers"))
    return found


async def _telegram(settings: Settings, http: httpx.AsyncClient) -> list[Finding]:
    from telegram.error import InvalidToken, TelegramError

    from bot.channels.telegram import make_bot

    if not settings.telegram_token:
        return [Finding("Telegram", "skip", "not configured (TELEGRAM_TOKEN)")]
    bot = make_bot(settings.telegram_token, http, settings.telegram_api_url)
    try:
        me = await bot.get_me()
        info = await bot.get_webhook_info()
    except InvalidToken:
        return [
            Finding("Telegram", "FAIL", "Telegram refused TELEGRAM_TOKEN: copy it from @BotFather")
        ]
    except TelegramError as exc:
        return [Finding("Telegram", "FAIL", f"Telegram's API failed ({exc}): try again later")]
    found = [Finding("Telegram", "ok", f"the token is @{me.username}'s")]
    expected = settings.public_base_url.rstrip("/") + TELEGRAM_PATH
    if settings.telegram_mode == "polling":
        level: Level = "ok" if not info.url else "warn"
        text = "long polling (TELEGRAM_MODE=polling)" + (
            f"; a webhook is set ({info.url}): polling removes it" if info.url else ""
        )
        found.append(Finding("Telegram", level, text))
    elif info.url != expected:
        shown = info.url or "none"
        found.append(
            Finding(
                "Telegram",
                "FAIL",
                f"the webhook Telegram holds is {shown}, not {expected}: run "
                "`ozbot telegram set-webhook`",
            )
        )
    else:
        found.append(
            Finding(
                "Telegram",
                "ok",
                f"webhook {info.url}, {info.pending_update_count} updates pending",
            )
        )
    if info.last_error_message:
        found.append(
            Finding(
                "Telegram",
                "warn",
                f"Telegram's last delivery failed: {info.last_error_message} (at "
                f"{info.last_error_date}); check that {expected} is reachable from the internet",
            )
        )
    return found


async def _twilio(settings: Settings, http: httpx.AsyncClient) -> list[Finding]:
    from twilio.base.exceptions import TwilioException, TwilioRestException

    from bot.channels.whatsapp import make_twilio_client

    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return [Finding("WhatsApp", "skip", "not configured (TWILIO_ACCOUNT_SID, ...)")]
    client = make_twilio_client(
        settings.twilio_account_sid, settings.twilio_auth_token, http, settings.twilio_api_url
    )
    expected = settings.public_base_url.rstrip("/") + TWILIO_PATH
    try:
        account = await client.api.v2010.accounts(settings.twilio_account_sid).fetch_async()
        number = settings.twilio_from.removeprefix("whatsapp:")
        owned = await client.incoming_phone_numbers.list_async(phone_number=number, limit=1)
    except TwilioRestException as exc:
        if exc.status in (401, 403, 404):
            return [
                Finding(
                    "WhatsApp",
                    "FAIL",
                    "Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN: copy both from the "
                    "Twilio console",
                )
            ]
        return [Finding("WhatsApp", "FAIL", f"Twilio's API failed ({exc.status}): try later")]
    except TwilioException as exc:
        return [Finding("WhatsApp", "FAIL", f"Twilio is unreachable ({exc}): try again later")]
    if account.status != "active":
        return [Finding("WhatsApp", "FAIL", f"the Twilio account is {account.status}")]
    found = [Finding("WhatsApp", "ok", f"Twilio account {account.friendly_name!r} is active")]
    if not settings.twilio_from:
        found.append(Finding("WhatsApp", "FAIL", "TWILIO_FROM is not set: your WhatsApp sender"))
    elif not owned:
        found.append(
            Finding(
                "WhatsApp",
                "warn",
                f"{settings.twilio_from}'s webhook is set in Twilio's console (the API does "
                f'not show it): "When a message comes in" must be {expected}, POST',
            )
        )
    elif owned[0].sms_url != expected:
        found.append(
            Finding(
                "WhatsApp",
                "FAIL",
                f"incoming messages to {number} go to {owned[0].sms_url or 'nowhere'}, not "
                f"{expected}: set it in the Twilio console (the number's messaging webhook)",
            )
        )
    else:
        found.append(Finding("WhatsApp", "ok", f"incoming messages go to {expected}"))
    return found


async def _guarded(part: str, check: Callable[[], Awaitable[list[Finding]]]) -> list[Finding]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await check()
    except TimeoutError:
        return [Finding(part, "FAIL", f"no answer within {CHECK_TIMEOUT:g} s: is it running?")]
    except OzbotError as exc:  # each carries the fix in its message
        return [Finding(part, "FAIL", str(exc))]


async def diagnose(settings: Settings, http: httpx.AsyncClient) -> list[Finding]:
    """Every finding, part by part (the parts run at once)."""
    parts: list[tuple[str, Callable[[], Awaitable[list[Finding]]]]] = [
        ("configuration", lambda: _configuration(settings)),
        ("database", lambda: _database(settings)),
        ("OZmap", lambda: _ozmap(settings, http)),
        ("Telegram", lambda: _telegram(settings, http)),
        ("WhatsApp", lambda: _twilio(settings, http)),
    ]
    results = await asyncio.gather(*(_guarded(part, check) for part, check in parts))
    return [finding for found in results for finding in found]


def report(findings: list[Finding]) -> str:
    width = max(len(f.part) for f in findings)
    lines = [f"{f.level:<4}  {f.part:<{width}}  {f.text}" for f in findings]
    failed = sum(f.level == "FAIL" for f in findings)
    lines.append(
        "all is well" if not failed else f"{failed} problem(s) to fix: see the FAIL lines above"
    )
    return "\n".join(lines)


async def _run() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(report([Finding("configuration", "FAIL", str(exc))]))
        return 1
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
        findings = await diagnose(settings, http)
    print(report(findings))
    return 1 if any(f.level == "FAIL" for f in findings) else 0


def _handler(args: argparse.Namespace) -> int:
    return asyncio.run(_run())


def register(subparsers: Any) -> None:
    """``ozbot doctor``."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the configuration, database, OZmap and messengers; print what to fix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_handler)
