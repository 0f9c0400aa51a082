"""Helpers for the sandbox's own tests: an authenticated httpx client on the live sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.ozmap.sandbox import RunningSandbox
from tests.support.fixtures import ozmap_fixture


def key_shape(value: Any) -> Any:
    """The recursive key structure of a JSON value (dict keys, list element shapes)."""
    if isinstance(value, dict):
        return {k: key_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [key_shape(v) for v in value]
    return None


@pytest.fixture
async def api(sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the sandbox's /api/v2, sending the raw key as OZmap's SDK does."""
    async with httpx.AsyncClient(
        base_url=sandbox.api_url, headers={"authorization": sandbox.token}, timeout=10
    ) as client:
        yield client


def reservation(code: str, box: str, **extra: Any) -> dict[str, Any]:
    """A tutorial-002-style reservation body for ``box`` and a new client ``code``."""
    body = ozmap_fixture("properties-create.request.json")
    body["box"] = box
    body["client"]["code"] = code
    body.update(extra)
    return dict(body)
