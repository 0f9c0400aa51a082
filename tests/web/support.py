"""Helpers for web tests: the app served by a real uvicorn on loopback (lifespan included), the
messenger fakes mounted at the shared client's transport, and an echo flow standing in for the
product's flows in the route tests that must not depend on them (the engine, the store, the
dispatcher and the channels are the real, composed ones)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from bot.compose import compose
from bot.engine import FlowSpec, Turn
from bot.messages import Button, Inbound
from bot.ozmap.sandbox import RunningSandbox
from bot.settings import Settings
from bot.web import create_app
from bot.web.app import request_stop
from flows import handoff
from tests.fakes.payloads import ACCOUNT_SID, BOT_NUMBER
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support.net import free_socket
from tests.support.settings import offline_settings

TG_TOKEN = "7000000001:AAF-test-token-for-the-fake-api"
TG_SECRET = "tg-webhook-secret_0123"
TW_TOKEN = "twilio-auth-token-0123456789abcdef"
PUBLIC = "https://bot.example.com.br"


def channel_settings(
    tmp_path: Path, sandbox: RunningSandbox | None = None, **overrides: Any
) -> Settings:
    """Every channel configured, on :func:`~tests.support.settings.offline_settings`."""
    values: dict[str, Any] = {
        "public_base_url": PUBLIC,
        "telegram_token": TG_TOKEN,
        "telegram_secret": TG_SECRET,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": TW_TOKEN,
        "twilio_from": BOT_NUMBER,
        "session_secret": "webchat-session-secret-for-tests",
        "webhook_concurrency": 8,
    }
    values.update(overrides)
    return offline_settings(tmp_path, sandbox, **values)


@dataclass
class Fakes:
    telegram: FakeTelegramAPI
    twilio: FakeTwilioAPI

    @property
    def mounts(self) -> dict[str, httpx.AsyncBaseTransport]:
        return {
            "https://api.telegram.org": httpx.ASGITransport(app=self.telegram.app),
            "https://api.twilio.com": httpx.ASGITransport(app=self.twilio.app),
        }


def make_fakes(content_sids: tuple[str, ...] = ()) -> Fakes:
    return Fakes(FakeTelegramAPI(TG_TOKEN), FakeTwilioAPI(ACCOUNT_SID, TW_TOKEN, content_sids))


def app_for(
    settings: Settings,
    *,
    sse_seconds: float = 20.0,
    ozmap_probe_ttl: float = 30.0,
    **options: Any,
) -> Starlette:
    """``ozbot serve``'s app, its bot composed with ``options`` (:func:`bot.compose.compose`'s
    keyword arguments: the fakes' ``http_mounts``, an :class:`Echo`'s flows, ...)."""
    return create_app(
        settings,
        composer=functools.partial(compose, **options),
        sse_seconds=sse_seconds,
        ozmap_probe_ttl=ozmap_probe_ttl,
    )


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop; yields its URL.
    Leaving the block shuts it down gracefully (lifespan shutdown included)."""
    sock, port = free_socket()
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises what made start-up fail
            raise RuntimeError("uvicorn stopped before starting (lifespan failed?)")
        await asyncio.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        request_stop(app)  # as `ozbot serve` does on SIGTERM
        server.should_exit = True
        await task
        sock.close()


class _Echoing(StrEnum):
    START = "start"


@dataclass
class Echo:
    """A flow that answers each message with what came: one reply, with two buttons when the
    message was ``"buttons"``, asking for a location when it was ``"where"``. It records every
    message it got (:attr:`seen`); ``gate`` (when set) holds turns until released; ``delay``
    makes each turn take that long. Its :meth:`flows` go to ``compose(flows=..., intents=())``:
    it is the default flow (named ``menu``), beside the real handoff flow."""

    seen: list[Inbound] = field(default_factory=list)
    gate: asyncio.Event | None = None
    delay: float = 0.0

    async def step(self, turn: Turn) -> str:
        inbound = turn.message
        self.seen.append(inbound)
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if inbound.location is not None:
            what = f"{inbound.location.lat:.4f},{inbound.location.lng:.4f}"
        elif inbound.button is not None:
            what = inbound.button
        elif inbound.text is not None:
            what = inbound.text
        else:
            what = f"phone {(inbound.phone or '')[-2:]}"
        buttons: tuple[Button, ...] = ()
        if inbound.text == "buttons":
            buttons = (Button("intent:sales", "Contratar"), Button("intent:outage", "Falha"))
        turn.say(f"echo: {what}", *buttons, ask_location=inbound.text == "where")
        return "echoed"

    def flows(self) -> list[FlowSpec]:
        echo = FlowSpec(
            name="menu",
            summary="echoes every message",
            states=_Echoing,
            initial=_Echoing.START,
            transitions=[["start", _Echoing.START, None], ["echoed", _Echoing.START, None]],
            steps={_Echoing.START: self.step},
        )
        return [echo, handoff.FLOW]

    def options(self, fakes: Fakes | None = None) -> dict[str, Any]:
        """:func:`bot.compose.compose`'s arguments for a bot running this flow (with the fakes
        mounted, when given)."""
        options: dict[str, Any] = {"flows": self.flows(), "intents": ()}
        if fakes is not None:
            options["http_mounts"] = fakes.mounts
        return options


__all__ = [
    "PUBLIC",
    "TG_SECRET",
    "TG_TOKEN",
    "TW_TOKEN",
    "Echo",
    "Fakes",
    "app_for",
    "channel_settings",
    "make_fakes",
    "running",
]
