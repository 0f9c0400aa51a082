"""The shared httpx client keeps one connection pool per upstream (bot.web.app.upstream_pools)."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.web.app import upstream_pools
from tests.web.support import channel_settings


def test_each_upstream_gets_a_pool_of_its_own(tmp_path: Path) -> None:
    settings = channel_settings(
        tmp_path,
        ozmap_url="http://127.0.0.1:9994/api/v2",
        telegram_api_url="https://api.telegram.org",
        twilio_api_url="https://api.twilio.com",
    )
    pools = upstream_pools(settings)
    assert set(pools) == {
        "http://127.0.0.1:9994",
        "https://api.telegram.org",
        "https://api.twilio.com",
    }
    assert len({id(pool) for pool in pools.values()}) == 3
    assert all(isinstance(pool, httpx.AsyncHTTPTransport) for pool in pools.values())


def test_upstreams_on_one_origin_share_a_pool(tmp_path: Path) -> None:
    settings = channel_settings(
        tmp_path,
        ozmap_url="http://127.0.0.1:8080",
        telegram_api_url="http://127.0.0.1:8080",
        twilio_api_url="http://127.0.0.1:8081",
    )
    assert set(upstream_pools(settings)) == {"http://127.0.0.1:8080", "http://127.0.0.1:8081"}
