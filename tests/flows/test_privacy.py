"""Erasing a customer's data (LGPD), as transcripts: what goes (transcript, context, the address
lookups the real cached geocoder kept for them, timers, queue entries) and what stays (OZmap's
records, other customers' data)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.compose import compose
from bot.engine import Engine
from bot.geo.cache import CachedGeocoder
from bot.geo.gazetteer import Gazetteer, GazetteerGeocoder, OfflineCepLookup
from bot.i18n import Catalogs
from bot.ozmap.sandbox import RunningSandbox
from bot.storage.sqlite import SqliteStore
from tests.engine.support import Chat, RecordingChannel
from tests.flows.conftest import FIXED_NOW
from tests.flows.test_sales import reserved_code
from tests.support.settings import offline_settings

PINNED = (-27.5782336721312, -48.527442812919624)


@pytest.fixture
async def cached(
    tmp_path: Path, catalogs: Catalogs, gazetteer: Gazetteer, sandbox: RunningSandbox
) -> AsyncIterator[tuple[Engine, SqliteStore, RecordingChannel]]:
    """The composed bot with a geocoder that caches in the store, and the timers the settings
    give by default, as in production."""
    store = SqliteStore(tmp_path / "ozbot.db")
    await store.open()
    channel = RecordingChannel()
    async with compose(
        offline_settings(tmp_path, sandbox),
        channels={channel.name: channel},
        store=store,
        catalogs=catalogs,
        geocoder=CachedGeocoder(GazetteerGeocoder(gazetteer), store),
        ceps=OfflineCepLookup(gazetteer),
        clock=lambda: FIXED_NOW,
        background=False,
    ) as runtime:
        yield runtime.engine, store, channel
    await store.close()


async def test_erasing_deletes_what_the_bot_kept_and_not_ozmaps_records(
    cached: tuple[Engine, SqliteStore, RecordingChannel], sandbox: RunningSandbox
) -> None:
    engine, store, channel = cached
    chat = Chat(engine, channel, store=store)
    other = Chat(engine, channel, contact="5548999990002", store=store)
    await other.says("oi")
    await other.says("1")
    await other.says("R. Rui Barbosa, 1200")  # another customer's lookup stays

    await chat.says("oi")
    await chat.says("1")
    await chat.says("R. Delminda Silveira, 900")
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    await chat.says(str(chat.option("yes")))
    code = reserved_code(chat)
    await chat.says("quero contratar")
    await chat.pins(*PINNED)  # a pin too: its reverse lookup is theirs as well
    assert await store.pending_timers(chat.key) != []  # mid-flow: nudge and expiry pending
    await store.enqueue_handoff(chat.key, "asked", FIXED_NOW)  # as if queued earlier
    geocoded = "GazetteerGeocoder|3|r. delminda silveira, 900"
    assert await store.cache_get("geocode", geocoded) is not None
    reverse = f"GazetteerGeocoder|{PINNED[0]:.5f},{PINNED[1]:.5f}"
    assert await store.cache_get("reverse", reverse) is not None

    await chat.says("quero apagar meus dados")
    assert "Posso apagar tudo o que guardei" in chat.last_reply.text
    assert f"não conseguirei cancelar por aqui as reservas {code}" in chat.last_reply.text
    await chat.says(str(chat.option("yes")))

    assert "apaguei as mensagens e os dados desta conversa" in chat.text
    assert "continuam lá" in chat.text  # OZmap's records stay, and the customer is told
    assert await store.load(chat.key) is None
    assert await store.transcript(chat.key) == []
    assert await store.pending_timers(chat.key) == []
    assert await store.open_handoff(chat.key) is None
    assert await store.cache_get("geocode", geocoded) is None
    assert await store.cache_get("reverse", reverse) is None
    assert sandbox.network.client_by_code(code) is not None
    # the other customer is untouched
    assert await store.load(other.key) is not None
    kept = "GazetteerGeocoder|3|r. rui barbosa, 1200"
    assert await store.cache_get("geocode", kept) is not None

    await chat.says("oi")  # a new conversation, nothing remembered
    saved = await chat.saved()
    assert "reservations" not in saved.context


async def test_declining_erases_nothing(chat: Chat) -> None:
    await chat.says("oi")
    await chat.says("delete my data")
    assert "Confirma?" in chat.last_reply.text
    await chat.says("talvez")
    assert "Responda “sim” ou “não”" in chat.text
    await chat.says("não")
    assert "não apaguei nada" in chat.text
    assert chat.store is not None
    lines = await chat.store.transcript(chat.key)
    assert [e.text for e in lines[:3]] == ["oi", lines[1].text, "delete my data"]
    assert (await chat.saved()).flow == "menu"


async def test_a_failed_erasure_is_said_honestly_and_keeps_everything(
    cached: tuple[Engine, SqliteStore, RecordingChannel],
) -> None:
    engine, store, channel = cached
    chat = Chat(engine, channel, store=store)
    await chat.says("apagar meus dados")
    with sqlite3.connect(store.path) as db:  # the erasure's transaction will fail mid-way
        db.execute("DROP TABLE handoffs")
    await chat.says("sim")
    assert "Não consegui apagar seus dados agora" in chat.text
    assert "apaguei as mensagens" not in chat.text
    assert await store.load(chat.key) is not None  # nothing half-erased
    assert len(await store.transcript(chat.key)) == 4


async def test_erasing_forgets_what_the_outage_question_asked_the_geocoder(
    cached: tuple[Engine, SqliteStore, RecordingChannel],
) -> None:
    """The customer typed a CEP and then a number: the street the bot searched is in no line of
    theirs, only in what the outage flow declares (flows/outage_place.py ``geocoded``)."""
    engine, store, channel = cached
    chat = Chat(engine, channel, store=store)
    await chat.says("sem internet")
    await chat.says("88036-001")
    await chat.says("500")
    assert "falha em massa" in chat.text
    searched = "GazetteerGeocoder|3|rua lauro linhares, 500, florianopolis"
    assert await store.cache_get("geocode", searched) is not None
    await chat.says("apagar meus dados")
    await chat.says("sim")
    assert "apaguei as mensagens" in chat.text
    assert await store.cache_get("geocode", searched) is None
