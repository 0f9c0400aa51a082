"""The web-chat channel: replies reach the subscribed pages, and wait for them otherwise."""

from __future__ import annotations

import asyncio

from bot.channels.webchat import WebchatChannel, reply_to_json
from bot.messages import Button, Reply


async def test_a_subscribed_page_receives_replies_in_order() -> None:
    web = WebchatChannel()
    async with web.subscribe("s1") as queue:
        await web.send("s1", [Reply("um"), Reply("dois")])
        assert [queue.get_nowait().text, queue.get_nowait().text] == ["um", "dois"]


async def test_replies_sent_while_no_page_listens_wait_for_the_next_one() -> None:
    web = WebchatChannel()
    await web.send("s1", [Reply("enquanto você recarregava")])
    async with web.subscribe("s1") as queue:
        assert queue.get_nowait().text == "enquanto você recarregava"
    async with web.subscribe("s1") as queue:
        assert queue.empty()  # delivered once


async def test_replies_left_unread_in_a_closing_stream_are_kept() -> None:
    web = WebchatChannel()
    async with web.subscribe("s1"):
        await web.send("s1", [Reply("chegou no fim")])
    async with web.subscribe("s1") as queue:
        assert queue.get_nowait().text == "chegou no fim"


async def test_sessions_are_separate_and_tabs_all_receive() -> None:
    web = WebchatChannel()
    async with (
        web.subscribe("s1") as tab1,
        web.subscribe("s1") as tab2,
        web.subscribe("s2") as other,
    ):
        await web.send("s1", [Reply("para s1")])
        assert tab1.get_nowait().text == tab2.get_nowait().text == "para s1"
        assert other.empty()


async def test_backlog_is_bounded_and_idle_sessions_expire() -> None:
    web = WebchatChannel(backlog=2, idle_seconds=0.05)
    await web.send("s1", [Reply("1"), Reply("2"), Reply("3")])
    async with web.subscribe("s1") as queue:
        assert [queue.get_nowait().text, queue.get_nowait().text] == ["2", "3"]
    await asyncio.sleep(0.1)
    await web.send("s2", [Reply("x")])  # any activity sweeps idle sessions
    assert web.sessions == 1


def test_reply_json_carries_text_buttons_and_location_request() -> None:
    reply = Reply("<b>oi</b>", buttons=(Button("intent:sales", "Contratar"),), ask_location=True)
    assert reply_to_json(reply) == {
        "text": "<b>oi</b>",
        "buttons": [{"payload": "intent:sales", "label": "Contratar"}],
        "ask_location": True,
    }
