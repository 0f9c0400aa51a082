"""Business hours as a table: when the team is open, and when it opens next (São Paulo time)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.engine.hours import BusinessHours
from bot.errors import ConfigError

SP = ZoneInfo("America/Sao_Paulo")
HOURS = BusinessHours.parse(
    "mon-fri 08:00-12:00,13:00-18:00; sat 08:00-12:00", holidays=["2025-03-04"]
)


def sp(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2025 in São Paulo: the 10th is a Monday, the 4th (Carnival) a holiday."""
    return datetime(2025, 3, day, hour, minute, tzinfo=SP)


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        (sp(10, 9), sp(10, 9)),  # Monday morning: open now
        (sp(10, 12, 30), sp(10, 13)),  # lunch break
        (sp(10, 18), sp(11, 8)),  # closing time is closed
        (sp(10, 7, 59), sp(10, 8)),
        (sp(14, 19), sp(15, 8)),  # Friday night → Saturday morning
        (sp(15, 12, 1), sp(17, 8)),  # Saturday afternoon → Monday
        (sp(16, 10), sp(17, 8)),  # Sunday
        (sp(3, 20), sp(5, 8)),  # Monday night, Tuesday is a holiday → Wednesday
    ],
)
def test_next_opening(moment: datetime, opens: datetime) -> None:
    found = HOURS.next_opening(moment)
    assert found == opens
    assert found is not None and found.utcoffset() is not None
    assert HOURS.is_open(moment) == (found == moment)


def test_utc_moments_are_read_in_the_zone() -> None:
    # 11:30 UTC is 08:30 in São Paulo (UTC-3): open
    assert HOURS.is_open(datetime(2025, 3, 10, 11, 30, tzinfo=UTC))
    assert not HOURS.is_open(datetime(2025, 3, 10, 10, 30, tzinfo=UTC))


def test_empty_means_always_open_and_portuguese_days_work() -> None:
    always = BusinessHours.parse("")
    assert always.is_open(sp(16, 3))
    weekend = BusinessHours.parse("sab-dom 09:00-13:00", timezone="America/Sao_Paulo")
    assert weekend.next_opening(sp(14, 10)) == sp(15, 9)
    wrapping = BusinessHours.parse("fri-mon 10:00-11:00")  # a range may wrap past Sunday
    assert wrapping.next_opening(sp(11, 12)) == sp(14, 10)


@pytest.mark.parametrize(
    ("spec", "holidays", "zone", "names"),
    [
        ("mon-fri", (), "America/Sao_Paulo", "OZBOT_BUSINESS_HOURS"),
        ("segunda 08:00-18:00", (), "America/Sao_Paulo", "OZBOT_BUSINESS_HOURS"),
        ("mon 8h-18h", (), "America/Sao_Paulo", "OZBOT_BUSINESS_HOURS"),
        ("mon 18:00-08:00", (), "America/Sao_Paulo", "OZBOT_BUSINESS_HOURS"),
        ("mon 08:00-25:00", (), "America/Sao_Paulo", "OZBOT_BUSINESS_HOURS"),
        ("mon 08:00-18:00", ("25/12/2026",), "America/Sao_Paulo", "OZBOT_HOLIDAYS"),
        ("mon 08:00-18:00", (), "Brasil/Floripa", "OZBOT_TIMEZONE"),
    ],
)
def test_bad_settings_name_the_variable(
    spec: str, holidays: tuple[str, ...], zone: str, names: str
) -> None:
    with pytest.raises(ConfigError, match=names):
        BusinessHours.parse(spec, holidays, zone)
