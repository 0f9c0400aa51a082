"""Shared fixtures.

``sandbox``: the real OZmap sandbox (:mod:`bot.ozmap.sandbox`) served by uvicorn on a loopback
port, in a background thread. One server runs for the whole session; every test that asks for
``sandbox`` gets it freshly reset to the seed network, so tests never see each other's writes.
Use it like a real OZmap::

    async def test_something(sandbox):
        async with httpx.AsyncClient(base_url=sandbox.url + "/api/v2",
                                     headers={"Authorization": sandbox.token}) as http:
            r = await http.get("/properties/client/reserva_123")
        assert sandbox.network.get("boxes", BOX_900)["implanted"]

Attributes: ``.url`` (``http://127.0.0.1:PORT``, what ``OZMAP_URL`` would be), ``.api_url``
(``.url + "/api/v2"``), ``.token`` (the API key it accepts), ``.network`` (the live
:class:`~bot.ozmap.sandbox.Network`: read it to assert, or edit it to set up a case, e.g. block a
port). The seed's notable elements are constants in :mod:`bot.ozmap.sandbox` (``BOX_900``,
``THREE_FREE_PORTS_BOX``) and sample addresses in ``sandbox.network.samples``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, async_playwright

from bot.ozmap.sandbox import Network, RunningSandbox, serve_in_thread
from tests.support.services import unavailable

SANDBOX_TOKEN = "sandbox-test-token"

# Debian's chromium, never a browser Playwright downloads; flags that keep it off the network
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A real headless Chromium. Missing: a failure in CI (``scripts/services-up`` installs it),
    a skip on a developer's machine."""
    if not shutil.which(CHROMIUM):
        unavailable(
            f"{CHROMIUM} is missing: scripts/services-up installs it (apt-get install chromium)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[RunningSandbox]:
    with serve_in_thread(Network.load(), SANDBOX_TOKEN) as running:
        yield running


@pytest.fixture
def sandbox(_sandbox_server: RunningSandbox) -> RunningSandbox:
    """The live OZmap sandbox, reset to the seed network for this test."""
    _sandbox_server.reset()
    return _sandbox_server
