from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.ozmap.fake_ozmap import FakeOzmap


@pytest.fixture
def fake() -> FakeOzmap:
    return FakeOzmap()


@pytest.fixture
async def http(fake: FakeOzmap) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as client:
        yield client
