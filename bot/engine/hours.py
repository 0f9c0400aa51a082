"""When the provider's people answer: weekly hours, holidays and a time zone. Pure.

``OZBOT_BUSINESS_HOURS="mon-fri 08:00-18:00; sat 08:00-12:00"`` (days in English or Portuguese,
ranges or comma lists, several spans a day allowed), ``OZBOT_TIMEZONE=America/Sao_Paulo``. An
empty ``OZBOT_BUSINESS_HOURS`` means always open.

Holidays: Brazil's national ones and, with ``OZBOT_HOLIDAY_STATE=SC``, that state's, from the
``holidays`` package (``OZBOT_PUBLIC_HOLIDAYS=false`` leaves them out); ``OZBOT_HOLIDAYS`` adds
the provider's own days ("2026-02-17" for Carnival, which is an optional day, not a holiday).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as public_holidays

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["BusinessHours"]

_DAYS = {
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(("seg", "ter", "qua", "qui", "sex", "sab", "dom"))},
}
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_EXAMPLE = 'e.g. "mon-fri 08:00-18:00; sat 08:00-12:00"'
_LOOKAHEAD_DAYS = 400  # a year of holidays cannot hide every opening


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().lower().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ConfigError(
                f"OZBOT_BUSINESS_HOURS: {part.strip()!r} is not a day or a range of days: use "
                f"mon..sun (or seg..dom), {_EXAMPLE}"
            )
        start, end = _DAYS[first], _DAYS[last or first]
        days.extend((start + i) % 7 for i in range((end - start) % 7 + 1))
    return days


def _span(text: str) -> tuple[time, time]:
    found = _SPAN.match(text.strip())
    if found is None:
        raise ConfigError(f"OZBOT_BUSINESS_HOURS: {text!r} is not HH:MM-HH:MM, {_EXAMPLE}")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    try:
        opens, closes = time(h1, m1), time(h2, m2) if (h2, m2) != (24, 0) else time.max
    except ValueError:
        raise ConfigError(f"OZBOT_BUSINESS_HOURS: {text!r} is not a time of day") from None
    if closes <= opens:
        raise ConfigError(f"OZBOT_BUSINESS_HOURS: {text!r} closes before it opens")
    return opens, closes


def _calendar(country: str | None, state: str | None) -> Any:
    if country is None:
        return None
    states = public_holidays.country_holidays(country).subdivisions
    if state is not None and state.upper() not in states:
        raise ConfigError(
            f"OZBOT_HOLIDAY_STATE={state!r} is not a state: use its two letters (UF), e.g. SC"
        )
    return public_holidays.country_holidays(country, subdiv=state.upper() if state else None)


@dataclass(frozen=True)
class BusinessHours:
    """Opening spans per weekday (0 = Monday), in ``zone``; ``always`` ignores them. Closed on
    ``holidays`` (the provider's days) and on ``calendar``'s (public holidays, computed per year
    as they are asked for)."""

    spans: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    always: bool = False
    calendar: Any = field(default=None, compare=False)  # a holidays.HolidayBase, or None

    @classmethod
    def from_settings(cls, settings: Settings) -> BusinessHours:
        """From OZBOT_BUSINESS_HOURS, OZBOT_HOLIDAYS, OZBOT_TIMEZONE, OZBOT_PUBLIC_HOLIDAYS and
        OZBOT_HOLIDAY_STATE; raises :class:`ConfigError` naming the one that is wrong."""
        return cls.parse(
            settings.business_hours,
            settings.holidays,
            settings.timezone,
            country="BR" if settings.public_holidays else None,
            state=settings.holiday_state or None,
        )

    @classmethod
    def parse(
        cls,
        spec: str,
        holidays: Iterable[str] = (),
        timezone: str = "America/Sao_Paulo",
        *,
        country: str | None = None,
        state: str | None = None,
    ) -> BusinessHours:
        """Read the settings; raises :class:`ConfigError` naming the one that is wrong.
        ``country`` (``"BR"``) adds its public holidays, and ``state``'s (a UF) with it."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"OZBOT_TIMEZONE={timezone!r} is not a time zone: use an IANA name such as "
                "America/Sao_Paulo"
            ) from None
        days_off = set()
        for raw in holidays:
            try:
                days_off.add(date.fromisoformat(raw.strip()))
            except ValueError:
                raise ConfigError(
                    f"OZBOT_HOLIDAYS: {raw!r} is not a date: use YYYY-MM-DD, comma separated"
                ) from None
        spans: dict[int, list[tuple[time, time]]] = {}
        for rule in filter(None, (r.strip() for r in spec.split(";"))):
            days, _, hours = rule.partition(" ")
            if not hours.strip():
                raise ConfigError(f"OZBOT_BUSINESS_HOURS: {rule!r} has no hours, {_EXAMPLE}")
            for day in _days(days):
                spans.setdefault(day, []).extend(_span(s) for s in hours.split(","))
        return cls(
            spans={day: tuple(sorted(found)) for day, found in spans.items()},
            holidays=frozenset(days_off),
            zone=zone,
            always=not spec.strip(),
            calendar=_calendar(country, state),
        )

    def closed_on(self, day: date) -> bool:
        """Whether ``day`` is a holiday: the provider's own or a public one."""
        return day in self.holidays or (self.calendar is not None and day in self.calendar)

    def is_open(self, moment: datetime) -> bool:
        return self.next_opening(moment) == moment

    def next_opening(self, moment: datetime) -> datetime | None:
        """``moment`` itself when open then, else the next time the team opens (UTC); None when
        the configuration never opens (no spans at all)."""
        if self.always:
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            if self.closed_on(day):
                continue
            for opens, closes in self.spans.get(day.weekday(), ()):
                if offset == 0 and local.time() >= closes:
                    continue
                if offset == 0 and local.time() >= opens:
                    return moment
                return datetime.combine(day, opens, self.zone).astimezone(UTC)
        return None
