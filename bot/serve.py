"""``ozbot serve`` (the web process) and ``ozbot telegram ...`` (webhook set-up, long polling).

``ozbot serve --sandbox`` runs everything against the embedded OZmap sandbox (in this process,
on a free loopback port), the offline geocoder and CEP table, and SQLite in a temporary
directory: open ``/chat`` and check coverage with nothing configured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.channels.telegram import TelegramChannel, make_bot
from bot.compose import compose
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.web.app import Prepare, create_app, request_stop

__all__ = ["register", "sandbox_prepare"]

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"


@asynccontextmanager
async def sandbox_prepare(settings: Settings) -> AsyncIterator[Settings]:
    """Start the OZmap sandbox in this process and give the settings that use it (with the
    offline geocoder and CEP table, and a temporary SQLite file: the sandbox starts from its
    seed every time, so saved conversations would point at reservations it no longer has)."""
    from bot.ozmap.sandbox import Network, serve_in_thread
    from bot.plans import SAMPLE

    with (
        tempfile.TemporaryDirectory(prefix="ozbot-serve-") as tmp,
        serve_in_thread(Network.load()) as sandbox,
    ):
        log.info("OZmap sandbox at %s (seed network; data in a temporary directory)", sandbox.url)
        yield settings.replace(
            data_dir=Path(tmp),
            database_url=f"sqlite:///{Path(tmp) / 'ozbot.db'}",
            ozmap_url=sandbox.url,
            ozmap_token=sandbox.token,
            geocoder="gazetteer",
            cep_provider="offline",
            # the sample's plans and answers, unless you set yours
            plans_file=settings.plans_file or str(SAMPLE),
        )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    port = args.port if args.port is not None else int(os.environ.get("PORT", "8000"))
    prepare: Prepare | None = sandbox_prepare if args.sandbox else None
    if args.telegram_polling:
        settings = settings.replace(telegram_mode="polling")
    app = create_app(
        settings, composer=functools.partial(compose, shutdown_grace=args.grace), prepare=prepare
    )
    config = uvicorn.Config(
        app,
        host=args.host,
        port=port,
        lifespan="on",
        log_config=None,  # the root logger set up by `ozbot` formats everything
        access_log=args.access_log,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_graceful_shutdown=int(args.grace) + 5,
    )
    log.info("web chat at http://%s:%d/chat", args.host, port)
    server = uvicorn.Server(config)
    handle_exit = server.handle_exit

    def stop(sig: int, frame: Any) -> None:
        # uvicorn waits for open responses before the lifespan's shutdown: end the web-chat
        # streams first, or every open chat tab would hold the shutdown for its grace period
        request_stop(app)
        handle_exit(sig, frame)

    server.handle_exit = stop  # type: ignore[method-assign]  # uvicorn installs this on signals
    server.run()
    # uvicorn reports a failed start-up (its lifespan raised) by not having started
    return 0 if server.started else 1


def _telegram_settings() -> Settings:
    settings = load_settings()
    if not settings.telegram_token:
        raise ConfigError(
            "TELEGRAM_TOKEN is not set: create a bot with @BotFather, put its token in .env"
        )
    return settings


async def _with_channel(settings: Settings, action: Any) -> Any:
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
        bot = make_bot(settings.telegram_token, http, settings.telegram_api_url)
        return await action(TelegramChannel(bot, location_label=""))


def _set_webhook(args: argparse.Namespace) -> int:
    settings = _telegram_settings()
    if not settings.telegram_secret:
        raise ConfigError(
            "TELEGRAM_SECRET is not set: put a random string of letters, digits, _ and - "
            "(up to 256) in .env; Telegram will send it with every update"
        )
    url = args.url or settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    if not url.startswith("https://"):
        raise ConfigError(f"Telegram only calls https webhooks: {url} (set PUBLIC_BASE_URL)")

    async def action(channel: TelegramChannel) -> None:
        await channel.set_webhook(url, settings.telegram_secret, drop_pending=args.drop_pending)

    asyncio.run(_with_channel(settings, action))
    print(f"Telegram webhook set: {url} (with the secret token, updates: message, callback_query)")
    return 0


def _webhook_info(args: argparse.Namespace) -> int:
    settings = _telegram_settings()

    async def action(channel: TelegramChannel) -> Any:
        return await channel.bot.get_webhook_info()

    info = asyncio.run(_with_channel(settings, action))
    print(f"url: {info.url or '(none: long polling)'}")
    print(f"pending updates: {info.pending_update_count}")
    if info.last_error_message:
        print(f"last error: {info.last_error_message} at {info.last_error_date}")
    return 0


def _delete_webhook(args: argparse.Namespace) -> int:
    settings = _telegram_settings()

    async def action(channel: TelegramChannel) -> None:
        await channel.delete_webhook()

    asyncio.run(_with_channel(settings, action))
    print("Telegram webhook removed: use `ozbot telegram poll` or set it again")
    return 0


async def _poll(settings: Settings, sandbox: bool) -> None:
    """The bot without a web server: Telegram long polling into the composed dispatcher."""
    async with contextlib.AsyncExitStack() as stack:
        settings = settings.replace(telegram_mode="polling")
        if sandbox:
            settings = await stack.enter_async_context(sandbox_prepare(settings))
        await stack.enter_async_context(compose(settings))
        log.info("polling Telegram; Ctrl-C to stop")
        await asyncio.Event().wait()


def _poll_handler(args: argparse.Namespace) -> int:
    settings = _telegram_settings()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how polling ends
        asyncio.run(_poll(settings, args.sandbox))
    return 0


def register(subparsers: Any) -> None:
    """``ozbot serve`` and ``ozbot telegram set-webhook|webhook-info|delete-webhook|poll``."""
    serve = subparsers.add_parser(
        "serve",
        help="run the web server: Telegram/Twilio webhooks, web chat, health and metrics",
        description=(
            "Run the web server. Channels are enabled by their settings (TELEGRAM_TOKEN; "
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM); the web chat is at /chat."
        ),
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    serve.add_argument("--port", type=int, default=None, help="port (default $PORT or 8000)")
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="use the embedded OZmap sandbox, the offline geocoder and a temporary database",
    )
    serve.add_argument(
        "--telegram-polling",
        action="store_true",
        help="long-poll Telegram instead of waiting for its webhook (local development)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="proxies trusted for X-Forwarded-* (default $FORWARDED_ALLOW_IPS or 127.0.0.1)",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request line")
    serve.add_argument(
        "--grace",
        type=float,
        default=30.0,
        help="seconds running turns get to finish at shutdown (default %(default)s)",
    )
    serve.set_defaults(handler=_serve)

    telegram = subparsers.add_parser("telegram", help="connect the Telegram bot").add_subparsers(
        dest="telegram_command", metavar="ACTION", required=True
    )
    set_webhook = telegram.add_parser(
        "set-webhook", help="register the webhook with Telegram (with TELEGRAM_SECRET)"
    )
    set_webhook.add_argument(
        "url", nargs="?", default=None, help=f"default: PUBLIC_BASE_URL + {WEBHOOK_PATH}"
    )
    set_webhook.add_argument(
        "--drop-pending", action="store_true", help="discard updates Telegram is holding"
    )
    set_webhook.set_defaults(handler=_set_webhook)
    info = telegram.add_parser("webhook-info", help="show the webhook, pending updates, last error")
    info.set_defaults(handler=_webhook_info)
    delete = telegram.add_parser("delete-webhook", help="remove the webhook")
    delete.set_defaults(handler=_delete_webhook)
    poll = telegram.add_parser(
        "poll", help="answer Telegram by long polling, without a web server (local development)"
    )
    poll.add_argument("--sandbox", action="store_true", help="use the embedded OZmap sandbox")
    poll.set_defaults(handler=_poll_handler)
