"""Clocks that move only when a test says so: nothing in a test sleeps to let time pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock", "ManualDateClock"]


class ManualClock:
    """Epoch seconds (what ``time.time`` gives): ``clock()`` is ``clock.now``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ManualDateClock:
    """Aware datetimes (what ``bot.conversation.utcnow`` gives): ``clock()`` is ``clock.now``;
    ``advance`` takes :class:`~datetime.timedelta`'s arguments (``minutes=10``)."""

    def __init__(self, start: datetime = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
