"""The PruningStore contract, on SQLite and PostgreSQL alike: old rows go, live ones stay.

What is pruned: message ids older than the retention (they only guard against a messenger
re-delivering, which Telegram and Twilio stop within a day), expired cache entries, ended agent
sessions and login-throttle windows that are over. Inbox and outbox rows are deleted when done,
so they need no pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.compose import compose
from bot.conversation import Conversation, TranscriptEntry
from bot.storage.base import Store
from tests.storage.conftest import FakeClock
from tests.support.settings import offline_settings

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


async def _turn(store: Store, provider_id: str, at: datetime) -> None:
    convo = Conversation.new("whatsapp", "5548999990001")
    convo.updated_at = at
    assert await store.commit_turn(convo, [TranscriptEntry("customer", "oi", at)], provider_id)


async def test_old_message_ids_expired_cache_ended_sessions_and_windows_go(
    store: Store, clock: FakeClock
) -> None:
    clock.now = NOW.timestamp() - 40 * 86400
    await _turn(store, "SM-old", NOW - timedelta(days=40))
    clock.now = NOW.timestamp()
    await _turn(store, "SM-new", NOW)
    await store.cache_put("geocode", "gone", "v", ttl=-1)
    await store.cache_put("geocode", "kept", "v", ttl=3600)
    await store.add_agent("maria", "hash", NOW)
    # (a login drops the sessions that ended before it: the ended one comes last)
    await store.create_agent_session("live", "maria", NOW, NOW + timedelta(hours=8))
    await store.create_agent_session(
        "ended", "maria", NOW - timedelta(days=2), NOW - timedelta(days=1)
    )
    clock.now = NOW.timestamp() - 3600
    await store.count_attempt("a:old", 900)
    clock.now = NOW.timestamp()
    await store.count_attempt("a:live", 900)

    pruned = await store.prune(messages_before=NOW - timedelta(days=30), now=NOW)

    assert pruned == {"message_ids": 1, "cache": 1, "agent_sessions": 1, "login_attempts": 1}
    assert not await store.seen("SM-old")
    assert await store.seen("SM-new")
    assert await store.cache_get("geocode", "kept") == "v"
    assert await store.agent_session("live", NOW) is not None
    assert (await store.count_attempt("a:live", 900)).count == 2  # its window goes on
    assert (await store.count_attempt("a:old", 900)).count == 1
    assert await store.load("whatsapp:5548999990001") is not None  # conversations stay


async def test_pruning_in_batches_takes_everything_and_nothing_twice(
    store: Store, clock: FakeClock
) -> None:
    clock.now = NOW.timestamp() - 40 * 86400
    for n in range(25):
        await _turn(store, f"SM-{n}", NOW - timedelta(days=40))
    pruned = await store.prune(messages_before=NOW - timedelta(days=30), now=NOW, batch=10)
    assert pruned["message_ids"] == 25
    again = await store.prune(messages_before=NOW - timedelta(days=30), now=NOW, batch=10)
    assert set(again.values()) == {0}


async def test_the_composed_bot_runs_the_pruning_job(tmp_path: Path) -> None:
    settings = offline_settings(tmp_path, prune_every=3600)
    async with compose(settings) as runtime:
        assert runtime.pruner.running
        await runtime.store.cache_put("geocode", "old", "v", ttl=-1)
        assert (await runtime.pruner.run_once())["cache"] == 1
    async with compose(offline_settings(tmp_path, prune_every=0)) as runtime:
        assert not runtime.pruner.running  # 0: never
