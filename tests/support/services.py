"""What a test does when a service or tool it needs is missing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["unavailable"]


def unavailable(reason: str) -> NoReturn:
    """Fail in CI (``CI=true``: the PostgreSQL, browser and SDK tests must run there), skip on a
    developer's machine without the service; ``reason`` names the fix."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
