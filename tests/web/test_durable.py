"""Accepted webhooks are never lost: the real routes over loopback keep each message in the
store's inbox before answering 200, refuse with 503 what the store cannot keep, and a server
that stops (or is killed) before a turn runs has it answered, once, by the next one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.ozmap.sandbox import RunningSandbox
from bot.storage.base import Store
from bot.storage.sqlite import SqliteStore
from bot.web.state import AppState
from tests.fakes.payloads import tg_text
from tests.fakes.serve import serve_in_thread
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support.net import free_port
from tests.web.support import (
    PUBLIC,
    TG_SECRET,
    TG_TOKEN,
    Echo,
    Fakes,
    app_for,
    channel_settings,
    make_fakes,
    running,
)

CHAT, OTHER = 55501, 55502
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def serve(
    tmp_path: Path, fakes: Fakes, echo: Echo, **options: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    app = app_for(channel_settings(tmp_path), **echo.options(fakes), **options)
    async with running(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client, app.state.ozbot


async def post(client: httpx.AsyncClient, update_id: int, chat: int, text: str) -> int:
    response = await client.post(
        "/webhooks/telegram", json=tg_text(update_id, chat, text), headers=HEADERS
    )
    return response.status_code


def inbox_of(state: AppState) -> Store:
    return state.runtime.store


async def test_a_message_is_kept_before_the_200_and_cleared_after_its_turn(
    tmp_path: Path,
) -> None:
    fakes, echo = make_fakes(), Echo()
    async with serve(tmp_path, fakes, echo) as (client, state):
        echo.gate = gate = asyncio.Event()
        assert await post(client, 1, CHAT, "oi") == 200
        assert await inbox_of(state).inbox_pending() == 1
        gate.set()
        await fakes.telegram.wait_sent(1, CHAT)
        await state.dispatcher.join()
        assert await inbox_of(state).inbox_pending() == 0


async def test_a_store_failure_is_503_and_the_update_sent_again_is_answered_once(
    tmp_path: Path,
) -> None:
    fakes, echo = make_fakes(), Echo()
    async with serve(tmp_path, fakes, echo) as (client, state):
        store = state.runtime.store
        await store.close()  # the database went away
        assert await post(client, 2, CHAT, "oi") == 503  # Telegram will send it again
        assert state.metrics.webhooks.labels("telegram", "store_failed")._value.get() == 1
        await store.open()
        assert await post(client, 2, CHAT, "oi") == 200
        await fakes.telegram.wait_sent(1, CHAT)
        await state.dispatcher.join()
        assert fakes.telegram.texts(CHAT) == ["echo: oi"]
        assert len(echo.seen) == 1


async def test_a_redelivered_update_is_kept_once_and_answered_once(tmp_path: Path) -> None:
    fakes, echo = make_fakes(), Echo()
    async with serve(tmp_path, fakes, echo) as (client, state):
        echo.gate = gate = asyncio.Event()
        for _ in range(3):  # Telegram retrying while the turn waits
            assert await post(client, 3, CHAT, "oi") == 200
        assert await inbox_of(state).inbox_pending() == 1
        gate.set()
        await fakes.telegram.wait_sent(1, CHAT)
        await state.dispatcher.join()
        assert await post(client, 3, CHAT, "oi") == 200  # and once more after it was answered
        await state.dispatcher.join()
        assert fakes.telegram.texts(CHAT) == ["echo: oi"]
        assert state.metrics.webhooks.labels("telegram", "duplicate")._value.get() == 3


async def test_turns_a_stopping_server_could_not_run_are_answered_by_the_next_in_order(
    tmp_path: Path,
) -> None:
    fakes = make_fakes()
    first = Echo()
    async with serve(tmp_path, fakes, first, shutdown_grace=0.05) as (client, _):
        first.gate = asyncio.Event()  # never set: every turn outlasts the grace
        for update_id, chat, text in (
            (10, CHAT, "primeira"),
            (11, OTHER, "outra"),
            (12, CHAT, "segunda"),
            (13, CHAT, "terceira"),
        ):
            assert await post(client, update_id, chat, text) == 200
    assert fakes.telegram.sent() == []  # nothing was answered before the stop

    second = Echo()  # the same database file
    async with serve(tmp_path, fakes, second) as (_, state):
        await fakes.telegram.wait_sent(3, CHAT)
        await fakes.telegram.wait_sent(1, OTHER)
        await state.dispatcher.join()
        assert fakes.telegram.texts(CHAT) == ["echo: primeira", "echo: segunda", "echo: terceira"]
        assert fakes.telegram.texts(OTHER) == ["echo: outra"]
        assert len(second.seen) == 4
        assert await inbox_of(state).inbox_pending() == 0


# --- a real process, killed ------------------------------------------------------------------


class Server:
    """``ozbot serve`` as its own process (group), on the test's database and sandbox."""

    def __init__(self, tmp_path: Path, env: dict[str, str], name: str) -> None:
        self.port = free_port()
        self.log = tmp_path / f"{name}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603  # our own interpreter, fixed arguments
                [sys.executable, "-m", "bot.cli", "serve", "--port", str(self.port)],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            for _ in range(600):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, self.log.read_text()
                await asyncio.sleep(0.05)
        raise AssertionError(f"not ready: {self.log.read_text()}")

    def signal(self, sig: signal.Signals) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(30)


async def _until(check: Any, what: str) -> None:
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_killed_servers_accepted_message_is_answered_once_after_restart(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    fake = FakeTelegramAPI(TG_TOKEN)
    db = tmp_path / "ozbot.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    with serve_in_thread(fake.app) as api:
        env |= {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_API_URL": api,
            "TELEGRAM_TOKEN": TG_TOKEN,
            "TELEGRAM_SECRET": TG_SECRET,
            "PUBLIC_BASE_URL": PUBLIC,
            "DATABASE_URL": f"sqlite:///{db}",
            "OZMAP_URL": sandbox.url,
            "OZMAP_TOKEN": sandbox.token,
            "GEOCODER": "gazetteer",
            "CEP_PROVIDER": "offline",
        }
        # this test holds the customer's conversation, so the turn cannot run before the kill
        blocker = SqliteStore(db)
        await blocker.open()
        servers: list[Server] = []
        try:
            async with blocker.lock(f"telegram:{CHAT}"):
                servers.append(first := Server(tmp_path, env, "first"))
                await first.ready()
                async with httpx.AsyncClient(base_url=first.url, timeout=5) as client:
                    assert await post(client, 77, CHAT, "oi") == 200
                first.signal(signal.SIGKILL)  # no shutdown, no release: the lease stays
            assert fake.sent(CHAT) == []
            assert await blocker.inbox_pending() == 1

            servers.append(second := Server(tmp_path, env, "second"))
            await second.ready()
            await _until(lambda: _answered(fake, blocker), "the answer")
            second.signal(signal.SIGTERM)
        finally:
            for server in servers:
                server.signal(signal.SIGKILL)
            await blocker.close()
        assert len(fake.sent(CHAT)) == 1, second.log.read_text()
        assert "re-dispatching 1 accepted messages" in second.log.read_text()


async def _answered(fake: FakeTelegramAPI, store: SqliteStore) -> bool:
    return bool(fake.sent(CHAT)) and await store.inbox_pending() == 0


async def test_web_chat_messages_are_kept_too_each_with_an_id_of_its_own(tmp_path: Path) -> None:
    fakes, echo = make_fakes(), Echo()
    async with serve(tmp_path, fakes, echo) as (client, state):
        page = await client.get("/chat")
        client.cookies.set("ozbot_chat", page.cookies["ozbot_chat"], path="/chat")
        echo.gate = gate = asyncio.Event()
        for _ in range(2):  # the same words twice, without ids: two messages
            response = await client.post("/chat/api/messages", json={"text": "oi"})
            assert response.status_code == 202
        assert await inbox_of(state).inbox_pending() == 2
        await state.runtime.store.close()
        response = await client.post("/chat/api/messages", json={"text": "oi"})
        assert response.status_code == 503
        assert "send it again" in response.json()["error"]
        await state.runtime.store.open()
        gate.set()
        await state.dispatcher.join()
        ids = [inbound.provider_id or "" for inbound in echo.seen]
        assert len(ids) == len(set(ids)) == 2
        assert all(pid.startswith("web:") for pid in ids)
