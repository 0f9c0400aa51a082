"""The baseline bench/webhooks.py measures ozbot against: the same five-message sales conversation
written the way a developer's first python-telegram-bot bot is written.

    python bench/ptb_bot.py --port N --token T --api-url URL --ozmap-url URL --ozmap-token T
                            --secret S --data DIR

A ``ConversationHandler`` with ``PicklePersistence`` (flushed every 60 s, PTB's default: nothing
is durable in between), an ``Application`` without an updater, fed by a Starlette route as in
PTB's own ``customwebhookbot/starlettebot.py`` example, served by uvicorn as ``ozbot serve`` is
(uvloop, httptools, no access log). Its defaults stand: updates one at a time, PTB's own
``HTTPXRequest`` (256 connections) towards the Bot API. OZmap through one shared
``httpx.AsyncClient``, one radius-feasibility call (ozbot also asks for condominiums).

The conversation: any text opens the menu (inline keyboard); the "Contratar internet" tap asks
for the address with a location-request keyboard; a location pin is confirmed (yes/no
buttons); "yes" asks OZmap, answers that the fibre reaches, then asks the name; the name gets a
summary with a "Reservar" button. As many messages per step as ozbot sends on Telegram, so the
outbound HTTP is the same. No dedupe of re-delivered updates, no inbox, no transcript, no
timers, no per-customer ordering across processes: what ozbot pays for and this bot does not.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import warnings
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

MENU, ADDRESS, CONFIRM, NAME, SUMMARY = range(5)
RADIUS = 250  # metres, ozbot's default


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    """One button a row, from (label, callback data) pairs."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in buttons]
    )


def menu_keyboard() -> InlineKeyboardMarkup:
    return keyboard(
        ("Contratar internet", "intent:sales"),
        ("Cancelar reserva", "intent:cancel"),
        ("Estou sem internet", "intent:outage"),
        ("Falar com atendente", "intent:handoff"),
    )


async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None
    await update.message.reply_text(
        "Olá! 👋 Sou o assistente virtual da sua provedora de fibra. Posso verificar se a nossa "
        "fibra chega no seu endereço e já reservar a sua instalação. Como posso ajudar?",
        reply_markup=menu_keyboard(),
    )
    return MENU


async def sales(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    await query.message.reply_text(
        "Me envie o endereço da instalação: rua e número (por exemplo: Rua Delminda Silveira, "
        "900, Agronômica), ou o CEP, ou a sua localização pelo clipe 📎 > Localização."
    )
    await query.message.reply_text(
        "📍 Enviar minha localização",
        reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("Enviar minha localização", request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        ),
    )
    return ADDRESS


async def located(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and update.message.location is not None
    assert context.user_data is not None
    point = update.message.location
    context.user_data["point"] = (point.latitude, point.longitude)
    await update.message.reply_text(
        f"Encontrei: {point.latitude:.5f}, {point.longitude:.5f}. É esse o endereço?",
        reply_markup=keyboard(("Sim", "yes"), ("Não", "no")),
    )
    return CONFIRM


async def confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.message is not None and context.user_data is not None
    await query.answer()
    if query.data != "yes":
        await query.message.reply_text("Tudo bem: me envie o endereço de novo.")
        return ADDRESS
    lat, lng = context.user_data["point"]
    assert OZMAP is not None
    viable = await OZMAP.viable(lat, lng)
    context.user_data["viable"] = viable
    if not viable:
        await query.message.reply_text("Ainda não chegamos aí. 😕")
        return ConversationHandler.END
    await query.message.reply_text(
        "Boa notícia: a nossa fibra chega aí! 🎉", reply_markup=ReplyKeyboardRemove()
    )
    await query.message.reply_text("Para fazer a reserva, qual é o seu nome completo?")
    return NAME


async def named(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    context.user_data["name"] = update.message.text
    lat, lng = context.user_data["point"]
    await update.message.reply_text(
        f"Confira: {update.message.text}, instalação em {lat:.5f}, {lng:.5f}. Posso reservar?",
        reply_markup=keyboard(("Reservar", "reserve"), ("Voltar ao menu", "menu")),
    )
    return SUMMARY


class OzmapApi:
    """The OZmap calls this bot makes, on one shared client."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=url.rstrip("/") + "/api/v2", headers={"Authorization": token}, timeout=15
        )

    async def viable(self, lat: float, lng: float) -> bool:
        response = await self.client.get(
            "/ftth-viability/radius", params={"lat": lat, "lng": lng, "radius": RADIUS}
        )
        response.raise_for_status()
        return bool(response.json().get("viable"))


OZMAP: OzmapApi | None = None


def build(args: argparse.Namespace) -> Application[Any, Any, Any, Any, Any, Any]:
    persistence = PicklePersistence(filepath=Path(args.data) / "ptb-bot.pickle")
    application = (
        Application.builder()
        .token(args.token)
        .base_url(args.api_url.rstrip("/") + "/bot")
        .updater(None)
        .persistence(persistence)
        .build()
    )
    with warnings.catch_warnings():
        # per_message=False is what a first bot leaves: PTB warns that it tracks callback
        # queries per chat, which is what this conversation wants
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[MessageHandler(filters.TEXT, greet)],
            states={
                MENU: [CallbackQueryHandler(sales, pattern="^intent:sales$")],
                ADDRESS: [MessageHandler(filters.LOCATION, located)],
                CONFIRM: [CallbackQueryHandler(confirmed, pattern="^(yes|no)$")],
                NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, named)],
                SUMMARY: [MessageHandler(filters.TEXT, greet)],
            },
            fallbacks=[MessageHandler(filters.TEXT, greet)],
            name="sales",
            persistent=True,
        )
    application.add_handler(conversation)
    return application


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("port", "token", "api-url", "ozmap-url", "ozmap-token", "secret", "data"):
        parser.add_argument(f"--{name}", required=True, type=int if name == "port" else str)
    args = parser.parse_args()
    logging.basicConfig(
        format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # as PTB's examples do
    global OZMAP  # a first bot's module-level client
    OZMAP = OzmapApi(args.ozmap_url, args.ozmap_token)
    application = build(args)

    async def telegram(request: Request) -> Response:
        header = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(header.encode(), args.secret.encode()):
            return Response(status_code=403)
        await application.update_queue.put(
            Update.de_json(data=await request.json(), bot=application.bot)
        )
        return Response()

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/webhooks/telegram", telegram, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)
    )
    async with application:
        await application.start()
        await server.serve()
        await application.stop()
    await OZMAP.client.aclose()


if __name__ == "__main__":
    # uvicorn's own runner picks uvloop when it is installed; so does this one
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
