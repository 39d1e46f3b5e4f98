"""Working days: official holidays and adjusted working days (调休) are data, not code.

The dispute ledger's time limits (限时办结) are counted in working days.  A day is a
working day when the calendar names it one (a weekend made a working day by 调休),
or when it is a weekday the calendar does not name a holiday.  The lists live in
the campaign file (``[calendar]``), copied each year from the State Council's
notice on public holidays, so an office corrects a date without a release.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ONE_DAY = dt.timedelta(days=1)
LONGEST_SEARCH = 3660  # days: a limit past ten years means a broken calendar, not a deadline


class CalendarError(ValueError):
    """A holiday or working day that is not a date, or a day that is both."""


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)  # weekends worked (调休)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() < 5

    def covers(self, day: dt.date) -> bool:
        """Whether the calendar holds that day's year (the State Council publishes each year's
        holidays in November or December: until then, a later year counts weekends only)."""
        return any(d.year == day.year for d in self.holidays | self.workdays)

    def add(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself is not counted: a matter
        received on Friday with a limit of one working day is due on Monday)."""
        day, left = start, days
        for _ in range(LONGEST_SEARCH):
            if left <= 0:
                return day
            day += ONE_DAY
            left -= self.is_workday(day)
        raise CalendarError(f"{days} 个工作日超出了日历范围")

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when ``end`` is
        earlier (so "days left" of a due date is ``between(today, due)``, below zero when late)."""
        if end < start:
            return -self.between(end, start)
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_workday(day)
        return count


def parse_calendar(raw: Mapping[str, Any] | None, source: str = "campaign") -> WorkCalendar:
    raw = raw or {}
    holidays = _dates(raw.get("holidays", ()), source, "holidays")
    workdays = _dates(raw.get("workdays", ()), source, "workdays")
    both = holidays & workdays
    if both:
        raise CalendarError(f"{source}: {sorted(both)[0]} 既是假日又是调休上班日")
    return WorkCalendar(frozenset(holidays), frozenset(workdays))


def _dates(values: Iterable[Any], source: str, key: str) -> set[dt.date]:
    found = set()
    for value in values:
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise CalendarError(f"{source}: [calendar] {key} 中的 {value!r} 不是日期（应写作 2026-10-01）")
        found.add(value)
    return found
