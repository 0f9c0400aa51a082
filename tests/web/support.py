"""Helpers for web tests: the app served by a real uvicorn on loopback (lifespan included), the
messenger fakes mounted at the shared client's transport, and a recording engine stand-in for
the route tests that must not depend on the flows."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from bot.channels.base import Channel
from bot.messages import Button, Inbound, Reply
from bot.settings import Settings, load_settings
from bot.storage.sqlite import SqliteStore
from bot.web.app import request_stop
from tests.fakes.payloads import ACCOUNT_SID, BOT_NUMBER
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI

TG_TOKEN = "7000000001:AAF-test-token-for-the-fake-api"
TG_SECRET = "tg-webhook-secret_0123"
TW_TOKEN = "twilio-auth-token-0123456789abcdef"
PUBLIC = "https://bot.example.com.br"


def channel_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings with every channel configured, nothing read from the environment or .env."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
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
    return load_settings(environ={}, env_file=None, **values)


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


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop; yields its URL.
    Leaving the block shuts it down gracefully (lifespan shutdown included)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
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


class _Probe:
    """Answers the readiness probe as OZmap would (a stand-in: these tests have no OZmap)."""

    def __init__(self) -> None:
        self.up = True

    async def authenticated(self) -> bool:
        if not self.up:
            raise ConnectionError("down")
        return True


@dataclass
class EchoEngine:
    """Records every message and answers it through the channel, as the engine does: one reply
    echoing what came, with two buttons when the message was ``"buttons"``, asking for a
    location when it was ``"where"``. ``gate`` (when set) holds turns until released."""

    channels: Mapping[str, Channel]
    seen: list[Inbound] = field(default_factory=list)
    gate: asyncio.Event | None = None
    delay: float = 0.0

    async def handle(self, inbound: Inbound) -> None:
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
        reply = Reply(f"echo: {what}", buttons=buttons, ask_location=inbound.text == "where")
        await self.channels[inbound.channel].send(inbound.contact, [reply])


class _Timers:
    """The timer runner's start/stop (the echo engine sets no timers)."""

    def __init__(self) -> None:
        self.running = False

    def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False


@dataclass
class EchoRuntime:
    engine: EchoEngine
    store: SqliteStore
    ozmap: _Probe
    closed: bool = False
    timers: _Timers = field(default_factory=_Timers)

    def timer_runner(self) -> _Timers:
        return self.timers

    async def aclose(self) -> None:
        self.closed = True
        await self.store.close()


class EchoFactory:
    """A ``runtime_factory`` building :class:`EchoRuntime` on a real SQLite store; keeps the
    runtime it built in :attr:`runtime`."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.runtime: EchoRuntime | None = None

    async def __call__(
        self, settings: Settings, http: httpx.AsyncClient, channels: Mapping[str, Channel]
    ) -> EchoRuntime:
        store = SqliteStore(self.tmp_path / "echo.db")
        await store.open()
        self.runtime = EchoRuntime(EchoEngine(channels), store, _Probe())
        return self.runtime

    @property
    def engine(self) -> EchoEngine:
        assert self.runtime is not None
        return self.runtime.engine


__all__ = [
    "PUBLIC",
    "TG_SECRET",
    "TG_TOKEN",
    "TW_TOKEN",
    "EchoFactory",
    "Fakes",
    "channel_settings",
    "make_fakes",
    "running",
]
