"""Flow fixtures: the whole engine over the real sandbox on loopback, the offline gazetteer and
CEP table, a real SQLite store, the real catalogs (strict), and a recording channel.

``chat`` is one customer; ``make_chat`` builds more (other contacts, CPF required, feasibility
by poles, ...).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.compose import compose
from bot.engine import Engine
from bot.engine.events import HandoffEvent
from bot.geo.gazetteer import (
    Gazetteer,
    GazetteerGeocoder,
    OfflineCepLookup,
    default_street_file,
)
from bot.i18n import Catalogs
from bot.ozmap.client import OzmapClient
from bot.ozmap.sandbox import RunningSandbox
from bot.storage.sqlite import SqliteStore
from tests.engine.support import Chat, RecordingChannel
from tests.support.settings import offline_settings

MakeChat = Callable[..., Awaitable[Chat]]
FIXED_NOW = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)  # a Monday, 11:30 in São Paulo
OUTAGE_TAGS = ("MASSIVA", "ROMPIMENTO", "MANUTENCAO")


@pytest.fixture
def handoff_events() -> list[HandoffEvent]:
    """Every queue event the flows' engines publish, in order."""
    return []


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs.load(strict=True)


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_file()


@pytest.fixture(scope="session")
def twin_streets(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    """The sandbox's streets plus a second "Rua Lauro Linhares" in another neighbourhood (as
    real cities have), far from the network: a typed "Rua Lauro Linhares, 100" is ambiguous."""
    data = json.loads(default_street_file().read_text(encoding="utf-8"))
    original = next(s for s in data["streets"] if s["name"] == "Rua Lauro Linhares")
    twin = {
        **original,
        "neighbourhood": "Ingleses",
        "ceps": [{"cep": "88058-100", "from": 1, "to": 2200}],
        "anchors": [[1, -48.3970, -27.4350], [2200, -48.3900, -27.4400]],
    }
    data["streets"].append(twin)
    path = tmp_path_factory.mktemp("streets") / "addresses.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return Gazetteer.from_file(path)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def ozmap(sandbox: RunningSandbox, http: httpx.AsyncClient) -> OzmapClient:
    # retries as in production, with a short backoff so outage tests stay quick
    return OzmapClient(http, sandbox.url, sandbox.token, backoff=0.01)


@pytest.fixture
async def make_chat(
    tmp_path: Path,
    catalogs: Catalogs,
    gazetteer: Gazetteer,
    sandbox: RunningSandbox,
    handoff_events: list[HandoffEvent],
) -> AsyncIterator[MakeChat]:
    """Chats with the composed bot (no timers: tests/engine/test_timers.py has those), one
    engine per combination of settings, all on one store and one recording channel."""
    store = SqliteStore(tmp_path / "ozbot.db")
    await store.open()
    channel = RecordingChannel()
    engines: dict[tuple[Any, ...], Engine] = {}

    async with AsyncExitStack() as stack:

        async def make(
            contact: str = "5548999990001",
            *,
            require_cpf: bool = False,
            prospect_tags: tuple[str, ...] = (),
            streets: Gazetteer | None = None,
            outage_handoff: bool = False,
            business_hours: str = "",
            holidays: tuple[str, ...] = (),
            feasibility_mode: str = "radius",
            code_template: str = "OZB-{random}",
            cpf_in_observation: bool = False,
            **chat_options: Any,
        ) -> Chat:
            streets = streets or gazetteer
            key = (
                require_cpf,
                prospect_tags,
                id(streets),
                outage_handoff,
                business_hours,
                holidays,
                feasibility_mode,
                code_template,
                cpf_in_observation,
            )
            if key not in engines:
                settings = offline_settings(
                    tmp_path,
                    sandbox,
                    require_cpf=require_cpf,
                    prospect_tags=prospect_tags,
                    outage_tags=OUTAGE_TAGS,
                    outage_handoff=outage_handoff,
                    business_hours=business_hours,  # empty: always open
                    holidays=holidays,
                    ozmap_feasibility_mode=feasibility_mode,
                    ozmap_code_template=code_template,
                    ozmap_cpf_in_observation=cpf_in_observation,
                    nudge_minutes=0,
                    expire_minutes=0,
                    handoff_timeout_minutes=0,
                )
                runtime = await stack.enter_async_context(
                    compose(
                        settings,
                        channels={channel.name: channel},
                        store=store,
                        catalogs=catalogs,
                        geocoder=GazetteerGeocoder(streets),
                        ceps=OfflineCepLookup(streets),
                        # retries as in production, with a short backoff: outage tests stay quick
                        ozmap_options={"backoff": 0.01},
                        clock=lambda: FIXED_NOW,
                        background=False,
                    )
                )
                engines[key] = runtime.engine
                engines[key].events.subscribe(handoff_events.append)
            return Chat(engines[key], channel, contact, store=store, **chat_options)

        yield make
    await store.close()


@pytest.fixture
async def chat(make_chat: MakeChat) -> Chat:
    return await make_chat()
