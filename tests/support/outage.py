"""An OZmap outage for the length of a ``with`` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.ozmap.sandbox import RunningSandbox

__all__ = ["ozmap_down"]


@contextmanager
def ozmap_down(sandbox: RunningSandbox) -> Iterator[None]:
    """Every request to the sandbox answered 503 inside the block (its ``error_rate`` knob),
    as an OZmap that is down would; back to normal after it, even when the block raises (the
    sandbox server is shared by the whole session)."""
    knobs = sandbox.sandbox
    knobs.error_rate = 1.0
    try:
        yield
    finally:
        knobs.error_rate = 0.0
