"""When the provider's people answer: weekly hours, holidays and a time zone. Pure.

``OZBOT_BUSINESS_HOURS="mon-fri 08:00-18:00; sat 08:00-12:00"`` (days in English or Portuguese,
ranges or comma lists, several spans a day allowed), ``OZBOT_HOLIDAYS="2026-12-25,2027-01-01"``,
``OZBOT_TIMEZONE=America/Sao_Paulo``. An empty ``OZBOT_BUSINESS_HOURS`` means always open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

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


@dataclass(frozen=True)
class BusinessHours:
    """Opening spans per weekday (0 = Monday), in ``zone``; ``always`` ignores them."""

    spans: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    always: bool = False

    @classmethod
    def parse(
        cls, spec: str, holidays: Iterable[str] = (), timezone: str = "America/Sao_Paulo"
    ) -> BusinessHours:
        """Read the three settings; raises :class:`ConfigError` naming the one that is wrong."""
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
        )

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
            if day in self.holidays:
                continue
            for opens, closes in self.spans.get(day.weekday(), ()):
                if offset == 0 and local.time() >= closes:
                    continue
                if offset == 0 and local.time() >= opens:
                    return moment
                return datetime.combine(day, opens, self.zone).astimezone(UTC)
        return None
