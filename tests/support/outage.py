"""An OZmap outage for the length of a ``with`` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.ozmap.sandbox import RunningSandbox

__all__ = ["answer_lost", "ozmap_down"]


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


@contextmanager
def answer_lost(
    sandbox: RunningSandbox, request: str, *, then_down: bool = False
) -> Iterator[None]:
    """The next ``request`` (``"POST /properties"``) inside the block is applied by the sandbox
    and its answer lost (a 504: its ``lose_answers`` knob); with ``then_down`` OZmap is down
    from then on, until the block ends. Back to normal after it, even when the block raises."""
    knobs = sandbox.sandbox
    knobs.lose_answers.append(request)
    knobs.error_rate_after_loss = 1.0 if then_down else None
    try:
        yield
    finally:
        knobs.lose_answers.clear()
        knobs.error_rate_after_loss = None
        knobs.error_rate = 0.0
