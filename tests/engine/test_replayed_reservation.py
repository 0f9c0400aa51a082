"""A reservation turn whose commit is refused because its lock was lost runs again, and OZmap
holds one reservation (issue 14 gap (c), docs/reliability.md "OZmap calls replayed after a lost
lease"): process A reserves, is stopped past its lease before its commit; process B takes the
conversation over and runs the same message (its inbox lease ran out too): B finds A's
reservation by its client code instead of making another; A's commit is refused, and its run
again finds the message answered. On both stores, against the OZmap sandbox.

"Process B" is a second engine on a second store on the same database, as in
tests/engine/test_lost_lease.py; A's lease is made to run out behind its back, as a stopped
process's does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.compose import Runtime, compose
from bot.i18n import Catalogs
from bot.ozmap.sandbox import RunningSandbox
from bot.storage.base import Store
from tests.engine.support import Chat, RecordingChannel
from tests.engine.test_lost_lease import other_process, run_out
from tests.support.settings import offline_settings


@asynccontextmanager
async def process(
    tmp_path: Path,
    store: Store,
    catalogs: Catalogs,
    sandbox: RunningSandbox,
    channel: RecordingChannel,
) -> AsyncIterator[Runtime]:
    settings = offline_settings(
        tmp_path, sandbox, nudge_minutes=0, expire_minutes=0, handoff_timeout_minutes=0
    )
    async with compose(
        settings,
        channels={channel.name: channel},
        store=store,
        catalogs=catalogs,
        ozmap_options={"backoff": 0.01},
        background=False,
    ) as runtime:
        yield runtime


def clients_with(sandbox: RunningSandbox, code: str) -> int:
    return sum(1 for c in sandbox.network.docs("ftth-clients") if c.get("code") == code)


async def test_a_reservation_run_again_after_a_lost_lease_reserves_once(
    tmp_path: Path,
    store: Store,
    catalogs: Catalogs,
    sandbox: RunningSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel_a, channel_b = RecordingChannel(), RecordingChannel()
    other = other_process(store)
    await other.open()
    try:
        await _run(tmp_path, store, other, catalogs, sandbox, channel_a, channel_b)
    finally:
        await other.close()
    # A's commit was refused, and its message ran again (found answered)
    assert "taken over mid-turn: running it again" in caplog.text


async def _run(
    tmp_path: Path,
    store: Store,
    other: Store,
    catalogs: Catalogs,
    sandbox: RunningSandbox,
    channel_a: RecordingChannel,
    channel_b: RecordingChannel,
) -> None:
    async with (
        process(tmp_path, store, catalogs, sandbox, channel_a) as a,
        process(tmp_path / "b", other, catalogs, sandbox, channel_b) as b,
    ):
        chat = Chat(a.engine, channel_a, store=store)
        await chat.says("oi")
        await chat.says("1")
        await chat.says("R. Delminda Silveira, 900")
        await chat.says("sim")
        await chat.says("Gabriel Marioto")
        assert "yes" in [o.payload for o in chat.options], chat.text
        final = chat.inbound(text=str(chat.option("yes")))
        code = (await store.load(chat.key)).context["sales"]["code"]  # type: ignore[union-attr]
        assert clients_with(sandbox, code) == 0

        before = len(channel_a.replies_to(chat.contact))
        commit = store.commit_turn
        seen_by_b: list[int] = []

        async def stopped_before_commit(*args: Any, **kwargs: Any) -> bool:
            if args[2] == final.provider_id and not seen_by_b:
                # A reserved, and is stopped here past its lease: B runs the same message
                seen_by_b.append(clients_with(sandbox, code))
                run_out(store, chat.key)
                await b.engine.handle(final)
            return await commit(*args, **kwargs)

        store.commit_turn = stopped_before_commit  # type: ignore[method-assign]
        try:
            await a.engine.handle(final)
        finally:
            store.commit_turn = commit  # type: ignore[method-assign]
        saved = await store.load(chat.key)
        a_said = channel_a.replies_to(chat.contact)[before:]
        b_said = channel_b.replies_to(chat.contact)
    print(
        f"\nreview[reservation replayed]: clients with the code when B ran: {seen_by_b}, "
        f"after: {clients_with(sandbox, code)}; replies to the last message: "
        f"A {len(a_said)}, B {len(b_said)}"
    )
    assert seen_by_b == [1]  # A's reservation was made before it was stopped
    assert clients_with(sandbox, code) == 1  # B found it by its code: one reservation
    assert saved is not None and saved.context["reservations"][-1]["code"] == code
    assert b_said and code in "\n".join(r.text for r in b_said)  # B told the customer
    assert a_said == []  # and A, its commit refused, found the message answered
